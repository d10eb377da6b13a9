"""Property tests for semcom_phy.channel.impairments (Sionna style: each checks a physical law)."""

import math

import numpy as np
import pytest
from scipy.special import j0

from semcom_phy.channel import (
    INTERP_HALF_WIDTH_SAMPLES,
    awgn,
    dc_offset,
    fading_gains,
    fractional_delay,
    frequency_offset,
    image_rejection_ratio_db,
    iq_imbalance,
    multipath,
    noise_variance,
    phase_noise,
    phase_noise_process,
    rms_delay_spread_samples,
    sample_rate_offset,
    sfo_num_outputs,
    tdl_profile,
)
from semcom_phy.config import MULTIPATH_PROFILES, OfdmConfig

W = INTERP_HALF_WIDTH_SAMPLES


def tone(num_samples, freq_cycles_per_sample, start=0):
    n = np.arange(start, start + num_samples, dtype=np.float64)
    return np.exp(2j * np.pi * freq_cycles_per_sample * n)


def db(x):
    return 10 * np.log10(x)


def bandlimited_periodic(num_samples, rng, band=0.4):
    """(x, spectrum, freqs): a random periodic signal with |f| <= band cycles/sample."""
    freqs = np.fft.fftfreq(num_samples)
    spectrum = np.zeros(num_samples, complex)
    inband = np.abs(freqs) <= band
    spectrum[inband] = rng.standard_normal(inband.sum()) + 1j * rng.standard_normal(inband.sum())
    return np.fft.ifft(spectrum), spectrum, freqs


# --------------------------------------------------------------------------- noise

@pytest.mark.parametrize("ofdm", [OfdmConfig(), OfdmConfig(fft_size=128, num_guard_carriers=(10, 9),
                                                           pilot_carriers=(-40, -13, 13, 40))])
@pytest.mark.parametrize("snr_db, signal_power", [(-5.0, 1.0), (10.0, 1.0), (30.0, 1.0), (10.0, 3.0)])
def test_noise_variance_gives_snr_per_used_carrier(ofdm, snr_db, signal_power):
    rng = np.random.default_rng(1)
    num_symbols, n = 1500, ofdm.fft_size
    bins = ofdm.fft_bins(ofdm.used_carriers)
    grid = np.zeros((num_symbols, n), complex)
    qpsk = (rng.choice([-1.0, 1.0], (num_symbols, bins.size, 2)) / np.sqrt(2)).view(complex)[..., 0]
    grid[:, bins] = qpsk
    x = np.sqrt(signal_power * n / ofdm.num_used_carriers) * np.fft.ifft(grid, norm="ortho")
    assert np.mean(np.abs(x) ** 2) == pytest.approx(signal_power, rel=1e-6)
    y = awgn(x.ravel(), noise_variance(snr_db, ofdm, signal_power), rng).reshape(num_symbols, n)
    signal = np.fft.fft(x, norm="ortho")[:, bins]
    noise = np.fft.fft(y, norm="ortho")[:, bins] - signal
    measured_db = db(np.mean(np.abs(signal) ** 2) / np.mean(np.abs(noise) ** 2))
    assert measured_db == pytest.approx(snr_db, abs=0.1)


def test_noise_variance_formula():
    ofdm = OfdmConfig()
    assert noise_variance(0.0, ofdm) == pytest.approx(64 / 52)
    assert noise_variance(20.0, ofdm, 2.0) == pytest.approx(2 * 64 / 52 / 100)


def test_awgn_variance_and_circularity():
    rng = np.random.default_rng(2)
    noise_var = 0.37
    x = np.full(400_000, 1 + 2j, np.complex64)
    y = awgn(x, noise_var, rng)
    assert y.dtype == np.complex64 and y.shape == x.shape
    n = y.astype(complex) - x
    assert np.mean(np.abs(n) ** 2) == pytest.approx(noise_var, rel=0.01)
    assert np.var(n.real) == pytest.approx(noise_var / 2, rel=0.015)
    assert np.var(n.imag) == pytest.approx(noise_var / 2, rel=0.015)
    assert abs(np.mean(n * n)) < 0.01 * noise_var          # pseudo-covariance ~ 0: circular
    assert abs(np.mean(n)) < 0.01
    assert np.all(x == 1 + 2j)                              # input untouched


def test_awgn_any_shape_and_zero_variance():
    rng = np.random.default_rng(3)
    x = np.ones((3, 5), np.complex64)
    assert awgn(x, 0.1, rng).shape == (3, 5)
    y = awgn(x, 0.0, rng)
    assert y is not x and np.array_equal(y, x)


# --------------------------------------------------------------------------- profiles and fading

@pytest.mark.parametrize("name", MULTIPATH_PROFILES)
def test_tdl_profile_normalised_and_within_cp(name):
    delays, powers = tdl_profile(name)
    assert delays.dtype == np.int64 and powers.dtype == np.float64
    assert delays.shape == powers.shape and delays[0] == 0
    assert np.all(np.diff(delays) > 0) and delays.max() < OfdmConfig().cp_length_samples
    assert powers.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(powers) < 0)                     # decaying profiles


def test_tdl_profile_shapes():
    delays, powers = tdl_profile("tdl-short")
    np.testing.assert_allclose(db(powers / powers[0]), [0, -3, -6], atol=1e-9)
    delays, powers = tdl_profile("tdl-medium")
    np.testing.assert_allclose(db(powers / powers[0]), -2.0 * delays, atol=1e-9)
    assert 2.5 < rms_delay_spread_samples(*tdl_profile("tdl-long")) < 3.5
    assert rms_delay_spread_samples(*tdl_profile("none")) == 0.0


def test_rms_delay_spread_known_value():
    assert rms_delay_spread_samples([0, 2], [3.0, 3.0]) == pytest.approx(1.0)
    assert rms_delay_spread_samples([0, 1, 4], [1, 0, 1]) == pytest.approx(2.0)


def test_fading_none_is_static_ones():
    g = fading_gains(3, 100, "none", np.random.default_rng(0), doppler_hz=50.0, sample_rate_hz=1e4)
    assert g.dtype == np.complex64 and g.shape == (3, 1) and np.all(g == 1)


def test_rayleigh_unit_power_and_circular():
    g = fading_gains(40_000, 1, "rayleigh", np.random.default_rng(4)).astype(complex)[:, 0]
    assert np.mean(np.abs(g) ** 2) == pytest.approx(1.0, rel=0.03)
    assert abs(np.mean(g)) < 0.02 and abs(np.mean(g * g)) < 0.03
    # |g|^2 is exponential: P(|g|^2 > 1) = 1/e
    assert np.mean(np.abs(g) ** 2 > 1) == pytest.approx(math.exp(-1), abs=0.01)


@pytest.mark.parametrize("k_db", [0.0, 6.0, 10.0])
def test_rician_k_factor_from_moments(k_db):
    rng = np.random.default_rng(5)
    g = np.concatenate([fading_gains(3, 1, "rician", rng, k_factor_db=k_db) for _ in range(8000)],
                       axis=1).astype(complex)               # [3, realisations]
    power = np.abs(g[0]) ** 2
    mean, var = power.mean(), power.var()
    assert mean == pytest.approx(1.0, rel=0.05)
    # E|g|^2 = W, Var|g|^2 = W^2 (1 + 2K) / (1 + K)^2  =>  K = sqrt(W^2 - V) / (W - sqrt(W^2 - V))
    los = math.sqrt(max(mean ** 2 - var, 0.0))
    assert db(los / (mean - los)) == pytest.approx(k_db, abs=0.8)
    # the other taps stay Rayleigh: Var|g|^2 = (E|g|^2)^2
    assert np.mean(np.abs(g[1:]) ** 2) == pytest.approx(1.0, rel=0.05)
    assert np.var(np.abs(g[1]) ** 2) == pytest.approx(1.0, rel=0.15)


def test_doppler_autocorrelation_is_bessel_j0():
    fs, fd = 10e3, 100.0
    g = fading_gains(300, 4000, "rayleigh", np.random.default_rng(6), doppler_hz=fd,
                     sample_rate_hz=fs).astype(complex)
    assert g.shape == (300, 4000)
    assert np.mean(np.abs(g) ** 2) == pytest.approx(1.0, rel=0.02)
    for lag in (0, 5, 10, 20, 38, 60):
        measured = np.mean(g[:, lag:] * np.conj(g[:, :g.shape[1] - lag]))
        assert measured.real == pytest.approx(j0(2 * np.pi * fd * lag / fs), abs=0.06), lag
        assert abs(measured.imag) < 0.06


def test_doppler_process_continues_with_start_sample():
    kwargs = dict(doppler_hz=300.0, sample_rate_hz=2e6, k_factor_db=3.0)
    whole = fading_gains(2, 5000, "rician", np.random.default_rng(7), **kwargs)
    part = fading_gains(2, 1800, "rician", np.random.default_rng(7), start_sample=3200, **kwargs)
    np.testing.assert_allclose(part, whole[:, 3200:], atol=2e-5)


# --------------------------------------------------------------------------- multipath

def test_multipath_impulse_returns_taps():
    rng = np.random.default_rng(8)
    delays = np.array([0, 3, 7])
    gains = (rng.standard_normal((3, 1)) + 1j * rng.standard_normal((3, 1))).astype(np.complex64)
    x = np.zeros(20, np.complex64)
    x[0] = 1
    y = multipath(x, delays, gains)
    expected = np.zeros(20, complex)
    expected[delays] = gains[:, 0]
    assert y.dtype == np.complex64
    np.testing.assert_allclose(y, expected, atol=1e-7)


def test_multipath_time_varying_matches_definition():
    rng = np.random.default_rng(9)
    n, delays = 50, np.array([0, 1, 4, 4])
    x = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    gains = rng.standard_normal((4, n)) + 1j * rng.standard_normal((4, n))
    expected = np.zeros(n, complex)
    for k in range(n):                     # reference: y[n] = sum_l g_l[n] x[n - d_l]
        for tap, d in enumerate(delays):
            if k - d >= 0:
                expected[k] += gains[tap, k] * x[k - d]
    np.testing.assert_allclose(multipath(x, delays, gains), expected, atol=1e-5)


# --------------------------------------------------------------------------- interpolation

@pytest.mark.parametrize("delay", [0.25, 0.5, 3.7, 10.0, 12.999])
def test_fractional_delay_of_bandlimited_signal(delay):
    rng = np.random.default_rng(10)
    n = 2048
    x, spectrum, freqs = bandlimited_periodic(n, rng)
    y = fractional_delay(x.astype(np.complex64), delay)
    assert y.dtype == np.complex64 and y.size == n + math.ceil(delay)
    # analytic delay of the periodic signal, compared away from the stream's edges
    reference = np.fft.ifft(spectrum * np.exp(-2j * np.pi * freqs * delay))
    inner = slice(math.ceil(delay) + W, n - W)
    error_db = db(np.sum(np.abs(y[inner] - reference[inner]) ** 2) / np.sum(np.abs(reference[inner]) ** 2))
    assert error_db < -40


def test_fractional_delay_integer_and_zero():
    x = (np.arange(10) * (1 + 1j)).astype(np.complex64)
    y = fractional_delay(x, 3.0)
    assert np.array_equal(y, np.concatenate([np.zeros(3), x]))
    y0 = fractional_delay(x, 0.0)
    assert y0 is not x and np.array_equal(y0, x)


@pytest.mark.parametrize("ppm", [-300.0, 150.0, 1000.0])
def test_sample_rate_offset_scales_tone_frequency(ppm):
    n, freq = 20_000, 0.073
    y = sample_rate_offset(tone(n, freq).astype(np.complex64), ppm)
    eps = ppm * 1e-6
    assert y.dtype == np.complex64
    assert y.size == math.floor((n - 1) / (1 + eps)) + 1 == sfo_num_outputs(n, ppm)
    inner = slice(W, y.size - W)
    m = np.arange(y.size)[inner]
    phase = np.unwrap(np.angle(y[inner].astype(complex)))   # float64: float32 unwrap drifts
    slope = np.polyfit(m, phase, 1)[0] / (2 * np.pi)
    assert slope == pytest.approx(freq * (1 + eps), abs=1e-3 * freq * abs(eps))
    # and the samples themselves are the tone at the scaled times
    expected = np.exp(2j * np.pi * freq * m * (1 + eps))
    assert db(np.mean(np.abs(y[inner] - expected) ** 2)) < -60


def test_sample_rate_offset_zero_is_copy():
    x = np.arange(5, dtype=np.complex64)
    y = sample_rate_offset(x, 0.0)
    assert y is not x and np.array_equal(y, x)


# --------------------------------------------------------------------------- phase impairments

def test_frequency_offset_shifts_tone():
    fs, n = 1e6, 4096
    f0_bin, shift_bins = 100, 37
    x = tone(n, f0_bin / n).astype(np.complex64)
    cfo_hz = shift_bins * fs / n
    y = frequency_offset(x, cfo_hz, fs, phase0_rad=0.3)
    assert y.dtype == np.complex64
    assert np.argmax(np.abs(np.fft.fft(y))) == f0_bin + shift_bins
    np.testing.assert_allclose(y, x * np.exp(1j * (2 * np.pi * cfo_hz * np.arange(n) / fs + 0.3)),
                               atol=2e-6)


def test_frequency_offset_chunks_are_continuous():
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(3000) + 1j * rng.standard_normal(3000)).astype(np.complex64)
    whole = frequency_offset(x, 12_345.6, 2e6)
    parts = [frequency_offset(x[a:b], 12_345.6, 2e6, start_sample=a)
             for a, b in ((0, 1), (1, 1000), (1000, 3000))]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-6)


def test_phase_noise_increment_variance():
    fs, linewidth = 1e6, 2e3
    y = phase_noise(np.ones(200_000, np.complex64), linewidth, fs, np.random.default_rng(12))
    assert y.dtype == np.complex64
    np.testing.assert_allclose(np.abs(y), 1, atol=1e-6)
    increments = np.angle(y[1:] * np.conj(y[:-1]))
    assert np.var(increments) == pytest.approx(2 * np.pi * linewidth / fs, rel=0.03)
    assert abs(np.mean(increments)) < 3e-4


def test_phase_noise_process_starts_from_phase0():
    rng = np.random.default_rng(13)
    phase = phase_noise_process(10_000, 1e3, 1e6, rng, phase0_rad=5.0)
    sigma = math.sqrt(2 * np.pi * 1e3 / 1e6)
    assert phase.dtype == np.float64 and abs(phase[0] - 5.0) < 5 * sigma
    assert np.array_equal(phase_noise_process(4, 0.0, 1e6, rng, 1.5), np.full(4, 1.5))


# --------------------------------------------------------------------------- IQ front end

@pytest.mark.parametrize("gain_db, phase_deg", [(1.0, 0.0), (0.0, 5.0), (-2.0, 10.0), (0.5, -3.0)])
def test_iq_imbalance_image_rejection_ratio(gain_db, phase_deg):
    n, k = 1024, 100
    x = tone(n, k / n).astype(np.complex64)
    y = iq_imbalance(x, gain_db, phase_deg)
    spectrum = np.abs(np.fft.fft(y.astype(complex))) ** 2
    g, phi = 10 ** (gain_db / 20), math.radians(phase_deg)
    irr_formula = db((1 + g * g + 2 * g * math.cos(phi)) / (1 + g * g - 2 * g * math.cos(phi)))
    assert db(spectrum[k] / spectrum[n - k]) == pytest.approx(irr_formula, abs=0.01)
    assert image_rejection_ratio_db(gain_db, phase_deg) == pytest.approx(irr_formula, abs=1e-9)
    np.testing.assert_allclose(y.real, x.real, atol=1e-6)      # the I branch is ideal
    np.testing.assert_allclose(y.imag, g * (x.imag * math.cos(phi) - x.real * math.sin(phi)), atol=1e-6)


def test_iq_imbalance_identity():
    x = tone(64, 0.1).astype(np.complex64)
    assert np.array_equal(iq_imbalance(x, 0.0, 0.0), x)
    assert image_rejection_ratio_db(0.0, 0.0) == math.inf


def test_dc_offset_adds_constant():
    x = tone(256, 1 / 256).astype(np.complex64)            # zero-mean over a period
    y = dc_offset(x, 0.2, 135.0)
    assert y.dtype == np.complex64
    np.testing.assert_allclose(y - x, 0.2 * np.exp(1j * np.radians(135.0)), atol=1e-7)
    assert np.mean(y) == pytest.approx(0.2 * np.exp(1j * np.radians(135.0)), abs=1e-6)


# --------------------------------------------------------------------------- contracts

@pytest.mark.parametrize("func", [
    lambda x: fractional_delay(x, 1.5),
    lambda x: sample_rate_offset(x, 20.0),
    lambda x: frequency_offset(x, 100.0, 1e6),
    lambda x: phase_noise(x, 100.0, 1e6, np.random.default_rng(0)),
    lambda x: iq_imbalance(x, 1.0, 2.0),
    lambda x: dc_offset(x, 0.1, 0.0),
    lambda x: awgn(x, 0.1, np.random.default_rng(0)),
    lambda x: multipath(x, [0, 2], np.ones((2, 1))),
])
def test_complex64_out_and_input_untouched(func):
    x = tone(300, 0.05)                                      # complex128 input
    before = x.copy()
    y = func(x)
    assert y.dtype == np.complex64
    assert np.array_equal(x, before)
    x64 = x.astype(np.complex64)
    before64 = x64.copy()
    assert func(x64) is not x64 and np.array_equal(x64, before64)


X = np.zeros(8, np.complex64)
RNG = np.random.default_rng(0)
OFDM = OfdmConfig()


@pytest.mark.parametrize("call, name", [
    (lambda: noise_variance(float("nan"), OFDM), "snr_db"),
    (lambda: noise_variance(10.0, OFDM, signal_power=0.0), "signal_power"),
    (lambda: noise_variance(10.0, "ofdm"), "ofdm"),
    (lambda: awgn(X, -1.0, RNG), "noise_var"),
    (lambda: awgn(X, 1.0, 42), "rng"),
    (lambda: awgn(np.array(["a"]), 1.0, RNG), "x"),
    (lambda: tdl_profile("tdl-huge"), "name"),
    (lambda: rms_delay_spread_samples([0, 1], [1.0]), "delays"),
    (lambda: fading_gains(0, 1, "rayleigh", RNG), "num_taps"),
    (lambda: fading_gains(1, -1, "rayleigh", RNG), "num_samples"),
    (lambda: fading_gains(1, 1, "nakagami", RNG), "kind"),
    (lambda: fading_gains(1, 1, "rician", RNG, k_factor_db=99.0), "k_factor_db"),
    (lambda: fading_gains(1, 1, "rayleigh", RNG, doppler_hz=-1.0), "doppler_hz"),
    (lambda: fading_gains(1, 9, "rayleigh", RNG, doppler_hz=10.0), "sample_rate_hz"),
    (lambda: fading_gains(1, 9, "rayleigh", RNG, doppler_hz=600.0, sample_rate_hz=1e3), "doppler_hz"),
    (lambda: multipath(X, [0, -1], np.ones((2, 1))), "delays_samples"),
    (lambda: multipath(X, [0, 1.5], np.ones((2, 1))), "delays_samples"),
    (lambda: multipath(X, [0, 1], np.ones((2, 3))), "gains"),
    (lambda: fractional_delay(X, -0.5), "delay_samples"),
    (lambda: fractional_delay(X.reshape(2, 4), 0.5), "x"),
    (lambda: sample_rate_offset(X, 2e4), "ppm"),
    (lambda: frequency_offset(X, 6e5, 1e6), "cfo_hz"),
    (lambda: frequency_offset(X, 1.0, 0.0), "sample_rate_hz"),
    (lambda: frequency_offset(X, 1.0, 1e6, start_sample=0.5), "start_sample"),
    (lambda: phase_noise(X, -1.0, 1e6, RNG), "linewidth_hz"),
    (lambda: phase_noise(X, 1.0, 1e6, None), "rng"),
    (lambda: iq_imbalance(X, 0.0, 90.0), "phase_deg"),
    (lambda: iq_imbalance(X, 25.0, 0.0), "gain_db"),
    (lambda: dc_offset(X, -0.1), "amplitude"),
    (lambda: dc_offset(X, 0.1, float("inf")), "phase_deg"),
])
def test_bad_arguments_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()
