"""The transmitter and stream receiver through real impairments."""

import numpy as np
import pytest
from scipy.special import erfc

from semcom_phy.channel import apply_channel, tdl_profile
from semcom_phy.config import ChannelConfig, ModemConfig
from semcom_phy.phy import StreamReceiver, receive, transmit
from semcom_phy.phy.estimation import estimate_channel

from .conftest import random_payloads


def _through(ofdm, modem, payloads, channel, seed=0, lead=137):
    """(the burst, what comes out of ``channel``): the payloads' frames after ``lead`` zeros."""
    tx = transmit(payloads, ofdm, modem)
    iq = np.concatenate([np.zeros(lead, np.complex64), tx.iq])
    return tx, apply_channel(iq, channel, ofdm, np.random.default_rng(seed))


def _run(ofdm, modem, payloads, channel, seed=0, lead=137):
    tx, iq = _through(ofdm, modem, payloads, channel, seed, lead)
    frames, stats = receive(iq, ofdm, modem)
    return tx, frames, stats


@pytest.mark.parametrize("mode", ["analog", "digital"])
def test_noiseless_round_trip_is_exact(ofdm, mode):
    rng = np.random.default_rng(0)
    modem = ModemConfig(mode=mode, modulation="64qam", gap_samples=50)
    payloads = random_payloads(mode, 6, 300, rng)
    tx = transmit(payloads, ofdm, modem)
    frames, stats = receive(tx.iq, ofdm, modem)
    assert [f.seq for f in frames] == list(tx.seqs)
    assert [f.start for f in frames] == list(tx.frame_starts)
    assert stats.frames == 6 and stats.header_failures == 0 and stats.false_triggers == 0
    for f, p in zip(frames, payloads):
        if mode == "digital":
            assert f.payload == p and f.payload_crc_ok
        else:
            np.testing.assert_allclose(f.symbols, p, atol=1e-4)
        assert f.snr_db > 60 and abs(f.cfo_subcarriers) < 1e-6


@pytest.mark.parametrize("cfo_subcarriers", [-4.6, -3.5, -1.0, 0.43, 1.0, 2.7, 3.5, 4.8])
def test_known_cfo_is_recovered(ofdm, cfo_subcarriers):
    rng = np.random.default_rng(1)
    modem = ModemConfig(mode="digital", modulation="qpsk", gap_samples=300)
    channel = ChannelConfig(snr_db=20.0, cfo_hz=cfo_subcarriers * ofdm.subcarrier_spacing_hz)
    payloads = random_payloads("digital", 8, 200, rng)
    _, frames, stats = _run(ofdm, modem, payloads, channel)
    assert stats.frames == 8
    assert all(f.payload == p for f, p in zip(frames, payloads))
    err = np.array([f.cfo_subcarriers for f in frames]) - cfo_subcarriers
    assert np.max(np.abs(err)) < 0.01
    assert frames[0].cfo_hz == pytest.approx(frames[0].cfo_subcarriers * ofdm.subcarrier_spacing_hz)


@pytest.mark.parametrize("offset", [0.0, 0.37, 5.5, 1234.25])
def test_timing_offset_is_recovered(ofdm, offset):
    rng = np.random.default_rng(2)
    modem = ModemConfig(mode="analog", gap_samples=200)
    payloads = random_payloads("analog", 5, 150, rng)
    tx, frames, stats = _run(ofdm, modem, payloads, ChannelConfig(snr_db=25.0, timing_offset_samples=offset), lead=0)
    assert stats.frames == 5
    starts = np.array([f.start for f in frames])
    # the reported start is the strongest path minus nothing: within a sample of the true delay
    assert np.all(np.abs(starts - (tx.frame_starts + offset)) <= 1.0)
    for f, p in zip(frames, payloads):
        assert np.mean(np.abs(f.symbols - p) ** 2) < 10 ** (-20 / 10)


@pytest.mark.parametrize("profile", ["tdl-short", "tdl-medium", "tdl-long"])
def test_static_multipath_channel_is_recovered(ofdm, profile):
    rng = np.random.default_rng(3)
    modem = ModemConfig(mode="analog", gap_samples=100)
    payloads = random_payloads("analog", 6, 200, rng)
    channel = ChannelConfig(snr_db=35.0, multipath=profile, cfo_hz=1.3 * ofdm.subcarrier_spacing_hz)
    _, frames, stats = _run(ofdm, modem, payloads, channel)
    assert stats.frames == 6
    delays, powers = tdl_profile(profile)
    noise_var = 10 ** (-35 / 10)
    measured, expected = [], []
    for f, p in zip(frames, payloads):
        # the static channel, up to the common phase the CFO leaves at the frame start and the
        # timing reference (the LTF correlation peak may sit on the second path)
        errors = []
        for shift in (-1, 0, 1, 2):
            taps = np.zeros(ofdm.fft_size)
            taps[delays + f.fft_backoff_samples - shift] = np.sqrt(powers)
            truth = np.fft.fft(taps)[ofdm.fft_bins(ofdm.used_carriers)]
            rot = np.vdot(truth, f.channel) / abs(np.vdot(truth, f.channel))
            errors.append((np.mean(np.abs(f.channel - rot * truth) ** 2), truth))
        err, truth = min(errors, key=lambda e: e[0])
        assert err < noise_var / 2        # better than per-carrier LS on the two LTF copies
        measured.append(np.mean(np.abs(f.symbols - p) ** 2))
        expected.append(noise_var * np.mean(1 / np.abs(truth[np.isin(ofdm.used_carriers, ofdm.data_carriers)]) ** 2))
    # ZF error = noise enhanced by the true channel (plus a little estimation error); pooled over
    # the frames, as a few faded carriers dominate one frame's 200 symbols
    assert 0.8 < np.sum(measured) / np.sum(expected) < 1.6


def _fading_runs(ofdm, modem, payloads, channel, per_run=4):
    """Frames and matching payloads over fresh fading realisations every ``per_run`` frames."""
    out = []
    for i in range(0, len(payloads), per_run):
        _, frames, _ = _run(ofdm, modem, payloads[i:i + per_run], channel, seed=100 + i)
        out += [(f, payloads[i + f.seq]) for f in frames]
    return out


@pytest.mark.parametrize("channel", [ChannelConfig(snr_db=8.0),
                                     ChannelConfig(snr_db=15.0, multipath="tdl-long", fading="rayleigh")])
def test_no_eff_predicts_the_equalised_error(ofdm, channel):
    """E|x_hat - x|^2 / no_eff ~ 1: the reported noise variance is calibrated per symbol."""
    rng = np.random.default_rng(4)
    payloads = random_payloads("analog", 40, 240, rng)
    got = _fading_runs(ofdm, ModemConfig(mode="analog", gap_samples=100), payloads, channel)
    assert len(got) >= 36
    ratios = [np.mean(np.abs(f.symbols - p) ** 2 / f.no_eff) for f, p in got]
    assert 0.8 < np.mean(ratios) < 1.25


def test_mmse_has_lower_error_than_zf_on_a_fading_channel(ofdm):
    rng = np.random.default_rng(5)
    payloads = random_payloads("analog", 24, 300, rng)
    channel = ChannelConfig(snr_db=8.0, multipath="tdl-long", fading="rayleigh")
    mse = {}
    for eq in ("zf", "mmse"):
        got = _fading_runs(ofdm, ModemConfig(mode="analog", equalizer=eq, gap_samples=100), payloads, channel)
        assert len(got) >= 16
        mse[eq] = np.mean([np.mean(np.abs(f.symbols - p) ** 2) for f, p in got])
        if eq == "mmse":   # the MMSE error variance is what MMSE reports
            assert np.mean([np.mean(f.no_eff) for f, _ in got]) == pytest.approx(mse[eq], rel=0.25)
    assert mse["mmse"] < 0.7 * mse["zf"]


@pytest.mark.parametrize("mod, ebn0_db", [("qpsk", 4.0), ("16qam", 8.0)])
def test_ber_agrees_with_q_function_theory(ofdm, mod, ebn0_db):
    """Uncoded BER on AWGN with the full receiver: within a statistical tolerance of theory."""
    rng = np.random.default_rng(6)
    bits = {"qpsk": 2, "16qam": 4}[mod]
    modem = ModemConfig(mode="digital", modulation=mod, gap_samples=64)
    payloads = random_payloads("digital", 40, 600, rng)
    _, frames, stats = _run(ofdm, modem, payloads, ChannelConfig(snr_db=ebn0_db + 10 * np.log10(bits)))
    assert stats.frames == 40
    errors = sum(int(np.sum(np.unpackbits(np.frombuffer(f.payload, np.uint8))
                            != np.unpackbits(np.frombuffer(payloads[f.seq], np.uint8)))) for f in frames)
    ber = errors / (40 * 600 * 8)
    g = 10 ** (ebn0_db / 10)
    theory = 0.5 * erfc(np.sqrt(g)) if mod == "qpsk" else 0.375 * erfc(np.sqrt(0.4 * g))
    # ~1.9e5 bits: a few percent statistical spread; the real receiver may lose a few tenths of a dB
    assert 0.85 * theory < ber < 1.5 * theory


def test_channel_estimate_improves_with_more_known_symbols(ofdm):
    rng = np.random.default_rng(15)
    delays, powers = tdl_profile("tdl-medium")
    batch, n, noise_var = 400, ofdm.fft_size, 0.5
    taps = np.sqrt(powers / 2) * (rng.standard_normal((batch, delays.size)) + 1j * rng.standard_normal((batch, delays.size)))
    k = (np.fft.fftfreq(n) * n).round()                                  # signed carrier of each FFT bin
    h = taps @ np.exp(-2j * np.pi * np.outer(delays, k) / n)             # [B, N], bin order
    used = ofdm.fft_bins(ofdm.used_carriers)
    errors = {}
    for num in (2, 7):
        known = np.sign(rng.standard_normal((batch, num, n))).astype(np.complex64)
        noise = np.sqrt(noise_var / 2) * (rng.standard_normal((batch, num, n)) + 1j * rng.standard_normal((batch, num, n)))
        est = estimate_channel((h[:, None] * known + noise).astype(np.complex64), known, ofdm)
        errors[num] = np.mean(np.abs(est.h - h[:, used]) ** 2)
        assert np.mean(est.noise_var) == pytest.approx(noise_var, rel=0.05)
        assert 0.5 < np.mean(est.error_var) / errors[num] < 2.0      # the error it reports is the error it makes
    assert errors[7] < 0.5 * errors[2]


def test_chunked_stream_yields_the_same_frames(ofdm):
    rng = np.random.default_rng(7)
    modem = ModemConfig(mode="analog", gap_samples=333)
    payloads = random_payloads("analog", 12, 500, rng)
    _, iq = _through(ofdm, modem, payloads, ChannelConfig(snr_db=6.0, cfo_hz=20e3, multipath="tdl-medium"), 8, 0)
    whole, whole_stats = receive(iq, ofdm, modem)
    assert len(whole) == 12
    cuts = np.sort(rng.choice(np.arange(1, iq.size), size=200, replace=False))
    cuts = np.concatenate([cuts, [iq.size]])
    for batch in (1, 3000):   # process every chunk at once, or every few thousand samples
        rx = StreamReceiver(ofdm, modem, batch_samples=batch)
        chunked, early = [], 0
        for a, b in zip(np.concatenate([[0], cuts[:-1]]), cuts):
            chunked += rx.push(iq[a:b])
        early = len(chunked)
        chunked += rx.flush()
        assert early >= 10                       # frames come out while the stream runs
        assert [(f.seq, f.start) for f in chunked] == [(f.seq, f.start) for f in whole]
        for a, b in zip(chunked, whole):   # same samples, batched differently: float rounding only
            np.testing.assert_allclose(a.symbols, b.symbols, rtol=1e-4, atol=1e-5)
            assert a.cfo_hz == pytest.approx(b.cfo_hz, rel=1e-6) and a.snr_db == pytest.approx(b.snr_db, abs=1e-4)
        assert rx.stats == whole_stats


def test_noise_only_yields_no_frames(ofdm):
    rng = np.random.default_rng(9)
    noise = ((rng.standard_normal(2_000_000) + 1j * rng.standard_normal(2_000_000)) / np.sqrt(2)).astype(np.complex64)
    frames, stats = receive(noise, ofdm, ModemConfig(mode="digital"))
    assert frames == [] and stats.frames == 0
    # the detector fires on noise now and then (it is set to catch frames near -3 dB SNR): the
    # LTF check and the header CRC turn every such trigger away
    assert stats.candidates == stats.false_triggers + stats.header_failures
    # a stricter detector never fires on noise
    frames, stats = receive(noise, ofdm, ModemConfig(mode="digital", detection_threshold=0.1))
    assert frames == [] and stats.candidates == 0


@pytest.mark.parametrize("max_inferred", [0, 8])
def test_a_frame_whose_header_is_lost_is_inferred_from_its_neighbours(ofdm, max_inferred):
    rng = np.random.default_rng(10)
    modem = ModemConfig(mode="digital", gap_samples=100, max_inferred_frames=max_inferred)
    payloads = random_payloads("digital", 3, 100, rng)
    tx = transmit(payloads, ofdm, modem)
    iq = tx.iq.copy()
    hdr = tx.frame_starts[1] + 240
    iq[hdr:hdr + 240] = rng.standard_normal(240) * 2       # destroy the middle frame's header
    frames, stats = receive(iq, ofdm, modem)
    assert stats.header_failures == 1
    if not max_inferred:
        assert [f.seq for f in frames] == [0, 2] and stats.inferred == 0
        return
    # frames 0 and 2, one frame period apart twice over, place frame 1 and name it
    assert [f.seq for f in frames] == [0, 1, 2] and [f.inferred for f in frames] == [False, True, False]
    assert [f.start for f in frames] == list(tx.frame_starts)
    assert frames[1].payload == payloads[1] and frames[1].payload_crc_ok
    assert stats.inferred == 1 and stats.frames == 3


def test_frames_whose_preamble_is_lost_come_back_in_any_chunking(ofdm):
    rng = np.random.default_rng(12)
    modem = ModemConfig(mode="digital", gap_samples=77)
    payloads = random_payloads("digital", 10, 300, rng)
    tx, iq = _through(ofdm, modem, payloads, ChannelConfig(snr_db=25.0, cfo_hz=7e3, multipath="tdl-short"), 13, 0)
    for j in (3, 4, 8):       # no sync symbol in two frames in a row and one more: never detected
        iq[tx.frame_starts[j]:tx.frame_starts[j] + 80] = 0
    whole, stats = receive(iq, ofdm, modem)
    assert [f.seq for f in whole] == list(range(10)) and stats.inferred == 3
    assert [f.seq for f in whole if f.inferred] == [3, 4, 8]
    assert all(f.payload == p and f.payload_crc_ok for f, p in zip(whole, payloads))
    for batch in (1, 2000):   # frame 3's neighbour arrives in a later pass: the samples between are kept
        rx = StreamReceiver(ofdm, modem, batch_samples=batch)
        chunked = []
        for a in range(0, iq.size, 911):
            chunked += rx.push(iq[a:a + 911])
        chunked += rx.flush()
        assert [(f.seq, f.start, f.inferred) for f in chunked] == [(f.seq, f.start, f.inferred) for f in whole]
        assert all(f.payload == p for f, p in zip(chunked, payloads))


def test_only_frames_a_regular_train_implies_are_inferred(ofdm):
    rng = np.random.default_rng(14)
    modem = ModemConfig(mode="digital", gap_samples=100, max_inferred_frames=2)
    # sequence numbers 0, 1, 2 then 4, 5 (3 never sent): 2 -> 4 is one frame period, not two
    first = transmit(random_payloads("digital", 3, 100, rng), ofdm, modem)
    second = transmit(random_payloads("digital", 2, 100, rng), ofdm, modem, first_seq=4)
    frames, stats = receive(np.concatenate([first.iq, second.iq[modem.gap_samples:]]), ofdm, modem)
    assert [f.seq for f in frames] == [0, 1, 2, 4, 5] and stats.inferred == 0
    # three frames lost in a row: more than max_inferred_frames, none is guessed
    tx = transmit(random_payloads("digital", 5, 100, rng), ofdm, modem)
    iq = tx.iq.copy()
    for j in (1, 2, 3):
        iq[tx.frame_starts[j]:tx.frame_starts[j] + 80] = 0
    frames, stats = receive(iq, ofdm, modem)
    assert [f.seq for f in frames] == [0, 4] and stats.inferred == 0


def test_stream_cut_mid_frame_counts_a_truncated_frame(ofdm):
    rng = np.random.default_rng(11)
    modem = ModemConfig(mode="digital", gap_samples=100)
    tx = transmit(random_payloads("digital", 3, 400, rng), ofdm, modem)
    cut = tx.frame_starts[2] + tx.frame_lengths[2] // 2
    frames, stats = receive(tx.iq[:cut], ofdm, modem)
    assert [f.seq for f in frames] == [0, 1] and stats.truncated == 1


def test_push_rejects_real_input(ofdm):
    with pytest.raises(ValueError, match="complex"):
        StreamReceiver(ofdm, ModemConfig()).push(np.zeros(100))
