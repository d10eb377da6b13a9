"""The receiver against what real radios and drivers do: sample-clock offset, DC, spurs, foreign
bursts, stream faults and long echoes. Each test fails on a receiver without the stage it names
(checked against the receiver before it had them)."""

import functools

import numpy as np
import pytest

from semcom_phy.channel import apply_channel, awgn, multipath, noise_variance
from semcom_phy.channel import faults
from semcom_phy.config import ChannelConfig, ModemConfig
from semcom_phy.phy import StreamReceiver, receive, transmit
from semcom_phy.phy.conditioning import InputConditioner

from .conftest import random_payloads


def _lead(iq, n=137):
    return np.concatenate([np.zeros(n, np.complex64), iq, np.zeros(400, np.complex64)])


def _error(frames, z):
    return np.mean([np.mean(np.abs(f.symbols - z[f.seq]) ** 2) for f in frames])


@pytest.mark.parametrize("ppm", [25.0, 100.0])
def test_long_frames_survive_a_sample_clock_offset(ofdm, ppm):
    rng = np.random.default_rng(20)
    modem = ModemConfig(mode="digital", modulation="qpsk", gap_samples=100)
    payloads = random_payloads("digital", 12, 1500, rng)
    tx = transmit(payloads, ofdm, modem)
    frames, _ = receive(apply_channel(_lead(tx.iq), ChannelConfig(snr_db=20.0, sfo_ppm=ppm), ofdm, rng), ofdm, modem)
    assert [f.payload_crc_ok and f.payload == payloads[f.seq] for f in frames] == [True] * 12
    # the offset is measured (as ChannelConfig counts it) from each frame's pilots
    assert np.all(np.abs(np.array([f.sfo_ppm for f in frames]) - ppm) < 3.0)


def test_analog_no_eff_stays_calibrated_through_a_sample_clock_offset(ofdm):
    rng = np.random.default_rng(21)
    modem = ModemConfig(mode="analog", gap_samples=100)
    z = random_payloads("analog", 6, 3016, rng)
    tx = transmit(z, ofdm, modem)
    got = {}
    for ppm in (0.0, 100.0):
        frames, _ = receive(apply_channel(_lead(tx.iq), ChannelConfig(snr_db=20.0, sfo_ppm=ppm), ofdm, rng), ofdm, modem)
        assert len(frames) == 6
        err = _error(frames, z)
        got[ppm] = err
        ratio = err / np.mean([np.mean(f.no_eff) for f in frames])
        assert abs(10 * np.log10(ratio)) < 0.5
    assert 10 * np.log10(got[100.0] / got[0.0]) < 0.5


@pytest.mark.parametrize("cfo", [0.5, 0.8, 2.0])
def test_receiver_dc_costs_little_at_any_cfo(ofdm, cfo):
    rng = np.random.default_rng(22)
    modem = ModemConfig(mode="analog", gap_samples=100)
    z = random_payloads("analog", 8, 1000, rng)
    iq = _lead(transmit(z, ofdm, modem).iq)
    errors = {}
    for dc in (0.0, np.sqrt(0.1)):                       # -10 dBc
        ch = ChannelConfig(snr_db=20.0, cfo_hz=cfo * ofdm.subcarrier_spacing_hz, dc_offset=dc, dc_offset_phase_deg=40.0)
        frames, _ = receive(apply_channel(iq, ch, ofdm, np.random.default_rng(1)), ofdm, modem)
        assert len(frames) == 8
        errors[dc] = _error(frames, z)
    assert 10 * np.log10(errors[np.sqrt(0.1)] / errors[0.0]) < 0.5
    # without DC removal the same stream loses several dB
    frames, _ = receive(apply_channel(iq, ChannelConfig(snr_db=20.0, cfo_hz=cfo * ofdm.subcarrier_spacing_hz,
                                                        dc_offset=np.sqrt(0.1)), ofdm, np.random.default_rng(1)),
                        ofdm, modem, dc_block=False)
    assert not frames or 10 * np.log10(_error(frames, z) / errors[0.0]) > 3.0


def test_dc_removal_is_exact_on_a_dc_free_stream_and_any_chunking(ofdm):
    rng = np.random.default_rng(23)
    x = apply_channel(_lead(transmit(random_payloads("analog", 10, 700, rng), ofdm, ModemConfig()).iq),
                      ChannelConfig(snr_db=15.0, dc_offset=0.3), ofdm, rng)
    outs = []
    for step in (x.size, 911, 5000):
        c = InputConditioner()
        outs.append(np.concatenate([c.push(x[i:i + step]) for i in range(0, x.size, step)] + [c.flush()]))
    assert all(np.array_equal(o, outs[0]) for o in outs)
    assert abs(np.mean(outs[0][10_000:])) < 0.01          # 0.3 before
    clean = _lead(transmit(random_payloads("analog", 10, 700, rng), ofdm, ModemConfig()).iq)
    c = InputConditioner()
    assert np.array_equal(np.concatenate([c.push(clean), c.flush()]), clean)


@pytest.mark.parametrize("name, make", [
    ("cw tone", lambda n, rng: faults.tone(n, 0.1234, 100.0)),
    ("dc line", lambda n, rng: faults.tone(n, 0.0, 100.0, 0.7)),
    ("802.11 bursts", lambda n, rng: faults.wifi_like_bursts(n, rng, power=100.0)),
])
def test_interference_makes_no_frames(ofdm, name, make):
    rng = np.random.default_rng(24)
    n = 1_000_000
    x = ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64) + make(n, rng)
    frames, stats = receive(x, ofdm, ModemConfig(mode="analog"))
    assert frames == [] and stats.frames == 0
    # a tone or a DC line is not even a candidate; foreign preambles are, but never reach a header
    assert stats.candidates == stats.false_triggers
    if name != "802.11 bursts":
        assert stats.candidates < 10


def test_a_tone_in_a_lost_frames_slot_is_not_inferred(ofdm):
    rng = np.random.default_rng(25)
    modem = ModemConfig(mode="analog", gap_samples=100)
    z = random_payloads("analog", 3, 300, rng)
    tx = transmit(z, ofdm, modem)
    iq = tx.iq.copy()
    a, n = tx.frame_starts[1], tx.frame_lengths[1]
    iq[a:a + n] = faults.tone(n, 0.1234, 1.0)               # the middle frame replaced by a spur
    frames, stats = receive(awgn(_lead(iq), noise_variance(25.0, ofdm), rng), ofdm, modem)
    assert [f.seq for f in frames] == [0, 2] and stats.inferred == 0


@pytest.mark.parametrize("fault, count", [
    (faults.drop_samples, 1), (faults.drop_samples, 7), (faults.drop_samples, 50),
    (faults.repeat_samples, 1), (faults.repeat_samples, 30),
    (faults.zero_samples, 5), (faults.zero_samples, 50),
    (faults.nonfinite_samples, 1), (functools.partial(faults.nonfinite_samples, value=np.inf), 3),
])
def test_a_damaged_analog_frame_is_refused_and_counted(ofdm, fault, count):
    rng = np.random.default_rng(26)
    modem = ModemConfig(mode="analog", gap_samples=100)
    z = random_payloads("analog", 5, 600, rng)
    tx = transmit(z, ofdm, modem)
    clean = apply_channel(_lead(tx.iq), ChannelConfig(snr_db=20.0), ofdm, rng)
    ref, _ = receive(clean, ofdm, modem)
    at = 137 + int(tx.frame_starts[2]) + 240 + 5 * ofdm.symbol_length_samples + 333       # inside frame 2's payload
    frames, stats = receive(fault(clean, at, count), ofdm, modem)
    assert [f.seq for f in frames] == [0, 1, 3, 4] and stats.damaged == 1
    assert all(np.isfinite(f.symbols).all() and np.isfinite(f.no_eff).all() for f in frames)
    for f in frames:                                           # the neighbours come back as they were
        np.testing.assert_allclose(f.symbols, ref[f.seq].symbols, rtol=1e-4, atol=1e-4)
    if fault is faults.nonfinite_samples:
        assert stats.nonfinite_samples == count


@pytest.mark.parametrize("delays, gains", [
    ([0, 8], [1.0, 1.0]), ([0, 12], [1.0, 1.0]), ([0, 15], [1.0, 1.0]), ([0, 15], [1.0, 0.71]),
    ([0, 10], [0.4, 1.0]),                                   # a -8 dB first path 10 samples early
])
def test_echoes_up_to_the_cp_cost_under_a_db(ofdm, delays, gains):
    rng = np.random.default_rng(27)
    modem = ModemConfig(mode="analog", gap_samples=100)
    z = random_payloads("analog", 10, 960, rng)
    iq = _lead(transmit(z, ofdm, modem).iq)
    n0 = noise_variance(20.0, ofdm)

    def effective_noise(delays, gains):
        g = np.asarray(gains, complex) * np.exp(1j * np.arange(len(gains)))
        g /= np.sqrt(np.sum(np.abs(g) ** 2))
        frames, _ = receive(awgn(multipath(iq, delays, g[:, None]), n0, rng), ofdm, modem)
        assert len(frames) == 10
        taps = np.zeros(ofdm.fft_size, complex)
        taps[delays] = g
        gain = np.abs(np.fft.fft(taps)[ofdm.fft_bins(ofdm.data_carriers)]) ** 2
        # the error weighted by each carrier's true gain: the noise the receiver sees, ISI included
        return np.mean([np.mean((np.abs(f.symbols - z[f.seq]) ** 2).reshape(-1, gain.size) * gain) for f in frames])

    loss_db = 10 * np.log10(effective_noise(delays, gains) / effective_noise([0], [1.0]))
    assert loss_db < 1.0


def test_debug_log_records_every_stage(ofdm):
    rng = np.random.default_rng(28)
    modem = ModemConfig(mode="analog", gap_samples=100)
    tx = transmit(random_payloads("analog", 2, 200, rng), ofdm, modem)
    rx = StreamReceiver(ofdm, modem, debug=True)
    frames = rx.push(_lead(tx.iq)) + rx.flush()
    stages = [d["stage"] for d in rx.debug_log]
    assert stages.count("sync") >= 2 and stages.count("payload") == 2 and len(frames) == 2
    assert StreamReceiver(ofdm, modem).debug_log is None


def test_estimator_and_equalizer_are_pluggable(ofdm):
    from semcom_phy.phy.equalization import MMSEEqualizer
    from semcom_phy.phy.estimation import LSEstimator

    calls = []

    class Counting(LSEstimator):
        def __call__(self, *args, **kw):
            calls.append(1)
            return super().__call__(*args, **kw)

    rng = np.random.default_rng(29)
    modem = ModemConfig(mode="analog", gap_samples=100)
    z = random_payloads("analog", 3, 300, rng)
    iq = apply_channel(_lead(transmit(z, ofdm, modem).iq), ChannelConfig(snr_db=5.0), ofdm, rng)
    zf, _ = receive(iq, ofdm, modem, estimator=Counting())
    mmse, _ = receive(iq, ofdm, modem, estimator=Counting(), equalizer=MMSEEqualizer())
    assert calls and len(zf) == len(mmse) == 3
    # MMSE shrinks towards 0: smaller output power than ZF's unbiased symbols
    assert np.mean(np.abs(mmse[0].symbols) ** 2) < np.mean(np.abs(zf[0].symbols) ** 2)
