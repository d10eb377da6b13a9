"""Tests for semcom_phy.channel.chain: stage order, identity, determinism and streaming."""

import math

import numpy as np
import pytest

from semcom_phy.channel import (
    SimChannel,
    apply_channel,
    awgn,
    dc_offset,
    fading_gains,
    fractional_delay,
    frequency_offset,
    iq_imbalance,
    multipath,
    noise_variance,
    phase_noise,
    sample_rate_offset,
    tdl_profile,
)
from semcom_phy.config import ChannelConfig, OfdmConfig

OFDM = OfdmConfig()
FS = OFDM.sample_rate_hz

# every deterministic stage on
DETERMINISTIC = ChannelConfig(multipath="tdl-long", timing_offset_samples=5.3, sfo_ppm=80.0,
                              cfo_hz=3_100.0, cfo_ppm=1.5, iq_gain_imbalance_db=0.7,
                              iq_phase_imbalance_deg=4.0, dc_offset=0.05, dc_offset_phase_deg=30.0)
# every stage on
EVERYTHING = ChannelConfig(snr_db=12.0, multipath="tdl-medium", fading="rician", rician_k_db=4.0,
                           doppler_hz=150.0, timing_offset_samples=2.6, sfo_ppm=-40.0,
                           cfo_hz=-2_500.0, phase_noise_linewidth_hz=50.0,
                           iq_gain_imbalance_db=-0.5, iq_phase_imbalance_deg=2.0, dc_offset=0.02)


def random_stream(num_samples, seed=0):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(num_samples) + 1j * rng.standard_normal(num_samples))
            / math.sqrt(2)).astype(np.complex64)


def push_in_chunks(chan, x, sizes):
    edges = np.cumsum([0, *sizes])
    assert edges[-1] == x.size
    outs = [chan(x[a:b]) for a, b in zip(edges[:-1], edges[1:])]
    return np.concatenate(outs + [chan.flush()]), outs


def test_default_config_is_identity():
    x = random_stream(1000)
    y = apply_channel(x, ChannelConfig(), OFDM, np.random.default_rng(0))
    assert y.dtype == np.complex64 and y is not x and np.array_equal(y, x)
    y128 = apply_channel(x.astype(complex), ChannelConfig(), OFDM, np.random.default_rng(0))
    assert y128.dtype == np.complex64 and np.array_equal(y128, x)
    chan = SimChannel(ChannelConfig(), OFDM, np.random.default_rng(0))
    out = chan(x)
    assert out is not x and np.array_equal(out, x) and chan.flush().size == 0


def test_same_seed_same_output():
    x = random_stream(3000)
    a = apply_channel(x, EVERYTHING, OFDM, np.random.default_rng(42))
    b = apply_channel(x, EVERYTHING, OFDM, np.random.default_rng(42))
    c = apply_channel(x, EVERYTHING, OFDM, np.random.default_rng(43))
    assert a.dtype == np.complex64 and np.array_equal(a, b)
    assert a.shape == c.shape and not np.allclose(a, c)


def test_stage_order_matches_manual_composition():
    """apply_channel == the impairment functions composed in the documented order."""
    x = random_stream(2500)
    cfg, seed = EVERYTHING, 7
    y = apply_channel(x, cfg, OFDM, np.random.default_rng(seed), signal_power=2.0)

    rng = np.random.default_rng(seed)
    delays, powers = tdl_profile(cfg.multipath)
    gains = np.sqrt(powers)[:, None] * fading_gains(
        delays.size, x.size, cfg.fading, rng, k_factor_db=cfg.rician_k_db,
        doppler_hz=cfg.doppler_hz, sample_rate_hz=FS)
    z = multipath(x, delays, gains)
    z = fractional_delay(z, cfg.timing_offset_samples)
    z = sample_rate_offset(z, cfg.sfo_ppm)
    z = awgn(z, noise_variance(cfg.snr_db, OFDM, 2.0), rng)
    z = frequency_offset(z, cfg.total_cfo_hz, FS)
    z = phase_noise(z, cfg.phase_noise_linewidth_hz, FS, rng)
    z = iq_imbalance(z, cfg.iq_gain_imbalance_db, cfg.iq_phase_imbalance_deg)
    z = dc_offset(z, cfg.dc_offset, cfg.dc_offset_phase_deg)
    assert y.shape == z.shape
    np.testing.assert_allclose(y, z, atol=1e-5)


def test_iq_imbalance_comes_after_cfo():
    """IQ imbalance does not commute with CFO: the image of a tone must not be CFO-shifted twice."""
    n, k = 1024, 50
    x = np.exp(2j * np.pi * k * np.arange(n) / n).astype(np.complex64)
    cfg = ChannelConfig(cfo_hz=10 * FS / n, iq_gain_imbalance_db=1.0)
    spectrum = np.abs(np.fft.fft(apply_channel(x, cfg, OFDM, np.random.default_rng(0))))
    # tone moves to k + 10; its receiver-side image sits at -(k + 10)
    assert spectrum[(-(k + 10)) % n] > 1e-3 * spectrum[k + 10]
    assert spectrum[(-(k - 10)) % n] < 1e-4 * spectrum[k + 10]


def test_output_lengths():
    x = random_stream(1000)
    cfg = ChannelConfig(timing_offset_samples=3.2)
    assert apply_channel(x, cfg, OFDM, np.random.default_rng(0)).size == 1004
    cfg = ChannelConfig(timing_offset_samples=3.2, sfo_ppm=1000.0)
    assert apply_channel(x, cfg, OFDM, np.random.default_rng(0)).size == math.floor(1003 / 1.001) + 1


def test_noise_power_follows_snr_and_signal_power():
    x = np.zeros(200_000, np.complex64)
    cfg = ChannelConfig(snr_db=7.0)
    y = apply_channel(x, cfg, OFDM, np.random.default_rng(1), signal_power=4.0)
    assert np.mean(np.abs(y) ** 2) == pytest.approx(noise_variance(7.0, OFDM, 4.0), rel=0.02)
    assert noise_variance(7.0, OFDM, 4.0) == pytest.approx(4 * 64 / 52 / 10 ** 0.7)


def test_flat_fading_is_one_complex_gain():
    x = random_stream(500)
    cfg = ChannelConfig(fading="rayleigh")
    y = apply_channel(x, cfg, OFDM, np.random.default_rng(3))
    ratio = y / x
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)
    assert abs(ratio[0] - 1) > 1e-3


def test_static_tdl_without_fading_uses_profile_amplitudes():
    x = np.zeros(30, np.complex64)
    x[0] = 1
    y = apply_channel(x, ChannelConfig(multipath="tdl-short"), OFDM, np.random.default_rng(0))
    delays, powers = tdl_profile("tdl-short")
    expected = np.zeros(30)
    expected[delays] = np.sqrt(powers)
    np.testing.assert_allclose(y, expected, atol=1e-7)


def test_simchannel_chunked_cfo_equals_one_shot():
    x = random_stream(5000)
    cfg = ChannelConfig(cfo_hz=12_345.0, cfo_ppm=-3.0)
    one_shot = apply_channel(x, cfg, OFDM, np.random.default_rng(0))
    chan = SimChannel(cfg, OFDM, np.random.default_rng(0))
    chunked, outs = push_in_chunks(chan, x, [1, 999, 1234, 2766])
    assert [o.size for o in outs] == [1, 999, 1234, 2766]
    np.testing.assert_allclose(chunked, one_shot, atol=1e-6)


def test_simchannel_chunked_deterministic_chain_equals_one_shot():
    """Multipath echoes, timing and SFO interpolation windows cross chunk boundaries."""
    x = random_stream(6000, seed=5)
    one_shot = apply_channel(x, DETERMINISTIC, OFDM, np.random.default_rng(0))
    chan = SimChannel(DETERMINISTIC, OFDM, np.random.default_rng(0))
    chunked, outs = push_in_chunks(chan, x, [3, 17, 500, 40, 2440, 3000])
    assert chunked.shape == one_shot.shape
    np.testing.assert_allclose(chunked, one_shot, atol=1e-5)
    # a second stream after flush starts from scratch
    again, _ = push_in_chunks(chan, x, [6000])
    np.testing.assert_allclose(again, one_shot, atol=1e-5)


def test_simchannel_large_timing_offset_streams_zeros_first():
    x = random_stream(300)
    cfg = ChannelConfig(timing_offset_samples=1000.5)
    chan = SimChannel(cfg, OFDM, np.random.default_rng(0))
    chunked, outs = push_in_chunks(chan, x, [100, 200])
    assert sum(o.size for o in outs) > 0
    np.testing.assert_allclose(chunked, apply_channel(x, cfg, OFDM, np.random.default_rng(0)), atol=1e-6)


def test_simchannel_phase_noise_is_continuous_across_calls():
    linewidth, chunk, num_chunks = 500.0, 4, 3000
    cfg = ChannelConfig(phase_noise_linewidth_hz=linewidth)
    chan = SimChannel(cfg, OFDM, np.random.default_rng(9))
    y = np.concatenate([chan(np.ones(chunk, np.complex64)) for _ in range(num_chunks)]).astype(complex)
    increments = np.angle(y[1:] * np.conj(y[:-1]))
    boundary = increments[chunk - 1::chunk]                # last sample of a call -> next call
    expected = 2 * np.pi * linewidth / FS
    assert np.var(boundary) == pytest.approx(expected, rel=0.15)
    assert np.var(increments) == pytest.approx(expected, rel=0.1)


def test_simchannel_doppler_is_continuous_and_block_fading_redrawn():
    x = np.ones(4000, np.complex64)
    cfg = ChannelConfig(fading="rayleigh", doppler_hz=200.0)
    whole = SimChannel(cfg, OFDM, np.random.default_rng(4))(x)
    chunked, _ = push_in_chunks(SimChannel(cfg, OFDM, np.random.default_rng(4)), x, [1000, 1, 2999])
    np.testing.assert_allclose(chunked, whole, atol=2e-5)
    block = SimChannel(ChannelConfig(fading="rayleigh"), OFDM, np.random.default_rng(4))
    first, second = block(x[:10]), block(x[:10])
    assert np.allclose(first, first[0]) and np.allclose(second, second[0])
    assert abs(first[0] - second[0]) > 1e-3


def test_simchannel_same_seed_same_output():
    x = random_stream(2000)
    runs = [push_in_chunks(SimChannel(EVERYTHING, OFDM, np.random.default_rng(11)), x, [700, 1300])[0]
            for _ in range(2)]
    assert runs[0].dtype == np.complex64 and np.array_equal(runs[0], runs[1])


@pytest.mark.parametrize("call, name", [
    (lambda: apply_channel(np.zeros(4), {"snr_db": 3}, OFDM, np.random.default_rng(0)), "cfg"),
    (lambda: apply_channel(np.zeros(4), ChannelConfig(), None, np.random.default_rng(0)), "ofdm"),
    (lambda: apply_channel(np.zeros(4), ChannelConfig(), OFDM, 0), "rng"),
    (lambda: apply_channel(np.zeros((2, 2)), ChannelConfig(), OFDM, np.random.default_rng(0)), "x"),
    (lambda: apply_channel(np.zeros(4), ChannelConfig(), OFDM, np.random.default_rng(0),
                           signal_power=-1.0), "signal_power"),
    (lambda: apply_channel(np.zeros(4), ChannelConfig(fading="rayleigh", doppler_hz=2e4),
                           OfdmConfig(sample_rate_hz=1e4), np.random.default_rng(0)), "doppler_hz"),
    (lambda: apply_channel(np.zeros(4), ChannelConfig(cfo_hz=1.5e6), OFDM,
                           np.random.default_rng(0)), "total_cfo_hz"),
    (lambda: SimChannel(ChannelConfig(), OFDM, np.random.default_rng(0), signal_power=0.0),
     "signal_power"),
    (lambda: SimChannel(ChannelConfig(), OFDM, np.random.default_rng(0))(np.zeros((2, 2))), "x"),
])
def test_bad_arguments_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()
