"""Simulated radio impairments as pure functions over complex64 sample streams.

Every function takes ``x : complex [num_samples]`` (any complex or real numeric array; it is
cast to ``np.complex64``), returns a new ``complex64`` array and never modifies its input.
Randomness comes only from an explicit ``rng: np.random.Generator``. Long phase ramps and
interpolation positions are computed in float64 and cast at the end.

Time is counted in input samples: sample ``n`` sits at ``t = n / sample_rate_hz``. Streams
are zero before sample 0 and after their last sample.

Interpolation (:func:`fractional_delay`, :func:`sample_rate_offset`) uses one Kaiser-windowed
sinc of ``2 * INTERP_HALF_WIDTH_SAMPLES = 32`` taps (beta = 9), tabulated at
``INTERP_NUM_PHASES = 1024`` fractional positions with linear interpolation between them. For a
signal whose band lies within +-0.4 of the sample rate, the error is below -80 dB.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..config import FADING_KINDS, MULTIPATH_PROFILES, OfdmConfig
from ..validation import check_choice, check_int, check_number, check_rng

__all__ = [
    "INTERP_HALF_WIDTH_SAMPLES",
    "INTERP_NUM_PHASES",
    "noise_variance",
    "awgn",
    "tdl_profile",
    "rms_delay_spread_samples",
    "fading_gains",
    "multipath",
    "fractional_delay",
    "sample_rate_offset",
    "sfo_num_outputs",
    "frequency_offset",
    "phase_noise_process",
    "phase_noise",
    "iq_imbalance",
    "image_rejection_ratio_db",
    "dc_offset",
]

INTERP_HALF_WIDTH_SAMPLES = 16
INTERP_NUM_PHASES = 1024
_KAISER_BETA = 9.0
_BLOCK_OUTPUTS = 1 << 13  # outputs per gather block in the interpolator (bounds memory)
_DEFAULT_NUM_SINUSOIDS = 16
_PPM_RANGE = (-1e4, 1e4)  # allowed sample-rate offsets, ppm

# Tapped-delay-line profiles: delays in samples (2 MSPS grid, all < the 16-sample CP) and
# powers in dB before normalisation.
_TDL_PROFILES = {
    "none": ([0], [0.0]),
    # 3 taps, 3 dB per sample; RMS delay spread ~0.73 samples.
    "tdl-short": ([0, 1, 2], [0.0, -3.0, -6.0]),
    # 5 taps, exponential decay of 2 dB per sample of delay; RMS delay spread ~1.40 samples.
    "tdl-medium": ([0, 1, 2, 4, 6], [-2.0 * d for d in (0, 1, 2, 4, 6)]),
    # 8 taps, exponential decay of 0.7 dB per sample of delay; RMS delay spread ~3.04 samples.
    "tdl-long": ([0, 1, 2, 3, 5, 7, 9, 12], [-0.7 * d for d in (0, 1, 2, 3, 5, 7, 9, 12)]),
}


# --------------------------------------------------------------------------- validation helpers

def _as_c64(x, name: str = "x", *, one_d: bool = True) -> np.ndarray:
    """``x`` as a complex64 array (no copy when it already is one); 1-D unless ``one_d=False``."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biufc":
        raise ValueError(f"{name} has dtype {arr.dtype}: must be a numeric (preferably complex64) array")
    if one_d and arr.ndim != 1:
        raise ValueError(f"{name} has shape {arr.shape}: must be 1-D [num_samples]")
    return arr.astype(np.complex64, copy=False)


# --------------------------------------------------------------------------- noise

def noise_variance(snr_db: float, ofdm: OfdmConfig, signal_power: float = 1.0) -> float:
    """Time-domain complex noise variance for an SNR given as Es/N0 per resource element.

    docs/conventions.md §2: SNR is E|X_k|^2 / E|N_k|^2 on a used carrier with a unitary FFT. The
    transmitter scales its IFFT so that a symbol whose used carriers all have unit power has
    mean time-domain power ``signal_power``; each used carrier then carries
    ``signal_power * fft_size / num_used_carriers`` (unitary FFT), and white time-domain
    noise of variance s2 has variance s2 on every bin. Hence::

        noise_var = signal_power * fft_size / num_used_carriers / 10**(snr_db / 10)

    snr_db       : float, dB, finite
    ofdm         : OfdmConfig (fft_size, used carriers)
    signal_power : float > 0, mean time-domain power of the transmitted samples (linear)
    returns float, total complex variance E|n|^2 per time sample (noise_var / 2 per real part)
    """
    snr_db = check_number(snr_db, "snr_db")
    signal_power = check_number(signal_power, "signal_power", 0.0, lo_open=True)
    if not isinstance(ofdm, OfdmConfig):
        raise ValueError(f"ofdm = {ofdm!r}: must be an OfdmConfig")
    return signal_power * ofdm.fft_size / ofdm.num_used_carriers / 10.0 ** (snr_db / 10.0)


def awgn(x, noise_var: float, rng: np.random.Generator) -> np.ndarray:
    """Add circularly-symmetric complex white Gaussian noise.

    x         : complex [...] (any shape), cast to complex64
    noise_var : float >= 0, total complex variance E|n|^2 (noise_var / 2 per real part)
    rng       : numpy Generator
    returns complex64, same shape as x. ``noise_var == 0`` returns a copy and draws nothing.
    """
    x = _as_c64(x, one_d=False)
    noise_var = check_number(noise_var, "noise_var", 0.0)
    check_rng(rng)
    if noise_var == 0.0:
        return x.copy()
    noise = rng.standard_normal((*x.shape, 2), dtype=np.float32).view(np.complex64)[..., 0]
    noise *= np.float32(math.sqrt(noise_var / 2.0))
    return x + noise


# --------------------------------------------------------------------------- multipath and fading

def tdl_profile(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Tapped-delay-line power-delay profile.

    name : one of ``config.MULTIPATH_PROFILES``: ``"none"`` (one tap), ``"tdl-short"``
           (delays 0, 1, 2; 0/-3/-6 dB), ``"tdl-medium"`` (delays 0, 1, 2, 4, 6; -2 dB per
           sample of delay) or ``"tdl-long"`` (delays 0, 1, 2, 3, 5, 7, 9, 12; -0.7 dB per
           sample, RMS delay spread ~3 samples).
    returns (delays_samples : int64 [L], powers : float64 [L]); delays are in samples of the
           default 2 MSPS grid (all shorter than the default 16-sample CP), powers are linear
           and sum to 1.
    """
    check_choice(name, "name", MULTIPATH_PROFILES)
    delays, powers_db = _TDL_PROFILES[name]
    powers = 10.0 ** (np.asarray(powers_db, dtype=np.float64) / 10.0)
    return np.asarray(delays, dtype=np.int64), powers / powers.sum()


def rms_delay_spread_samples(delays, powers) -> float:
    """RMS delay spread sqrt(E[d^2] - E[d]^2) of a power-delay profile.

    delays : real [L], samples
    powers : real [L], linear, >= 0 with a positive sum (normalised internally)
    returns float, samples
    """
    delays = np.asarray(delays, dtype=np.float64)
    powers = np.asarray(powers, dtype=np.float64)
    if delays.ndim != 1 or delays.shape != powers.shape or delays.size == 0:
        raise ValueError(f"delays (shape {delays.shape}) and powers (shape {powers.shape}): must be "
                         "non-empty 1-D arrays of the same length")
    if np.any(powers < 0) or not powers.sum() > 0:
        raise ValueError(f"powers = {powers!r}: must be >= 0 with a positive sum")
    p = powers / powers.sum()
    mean = float(np.dot(p, delays))
    return math.sqrt(max(float(np.dot(p, delays ** 2)) - mean ** 2, 0.0))


def _sum_of_sinusoids(num_taps: int, num_samples: int, doppler_hz: float, sample_rate_hz: float,
                      num_sinusoids: int, rng: np.random.Generator, start_sample: int) -> np.ndarray:
    """complex64 [L, N]: unit-power Clarke/Jakes processes, one per tap.

    g(n) = M^-1/2 sum_m exp(j (2 pi fd cos(alpha_m) n / fs + phi_m)), with arrival angles
    alpha_m = (2 pi m + theta_m) / M (theta_m, phi_m uniform; the angles are stratified over
    the circle, which keeps the autocorrelation of one realisation close to J0(2 pi fd tau)).
    Evaluated as a matrix product: n = h * B + b, exp(j w n) = exp(j w h B) exp(j w b).
    """
    m = np.arange(num_sinusoids)
    alpha = (2 * np.pi * m + rng.uniform(0, 2 * np.pi, (num_taps, num_sinusoids))) / num_sinusoids
    phi = rng.uniform(0, 2 * np.pi, (num_taps, num_sinusoids))
    omega = 2 * np.pi * doppler_hz / sample_rate_hz * np.cos(alpha)       # rad/sample [L, M]
    block = max(1, min(num_samples, 1024))
    num_blocks = -(-num_samples // block)
    n_hi = start_sample + block * np.arange(num_blocks, dtype=np.float64)  # [H]
    # coarse [L, H, M] (float64 phases, then complex64) @ fine [L, M, B]
    coarse = np.exp(1j * (omega[:, None, :] * n_hi[None, :, None] + phi[:, None, :]))
    fine = np.exp(1j * omega[:, :, None] * np.arange(block, dtype=np.float64)[None, None, :])
    coarse = (coarse / math.sqrt(num_sinusoids)).astype(np.complex64)
    g = np.matmul(coarse, fine.astype(np.complex64))                     # [L, H, B]
    return g.reshape(num_taps, num_blocks * block)[:, :num_samples]


def fading_gains(num_taps: int, num_samples: int, kind: str, rng: np.random.Generator, *,
                 k_factor_db: float = 6.0, doppler_hz: float = 0.0,
                 sample_rate_hz: float | None = None, num_sinusoids: int = _DEFAULT_NUM_SINUSOIDS,
                 start_sample: int = 0) -> np.ndarray:
    """Per-tap complex fading gains with unit mean power.

    num_taps     : int >= 1 (L)
    num_samples  : int >= 0 (N); only used when the gains vary in time
    kind         : ``"none"`` (all ones), ``"rayleigh"`` (CN(0, 1) per tap) or ``"rician"``
                   (first tap sqrt(K/(K+1)) e^{j theta} + sqrt(1/(K+1)) CN(0, 1) with a uniform
                   random LOS phase theta, constant in time; other taps Rayleigh)
    k_factor_db  : float in [-30, 40], Rician K (LOS / diffuse power) in dB
    doppler_hz   : float >= 0, maximum Doppler shift. 0: block fading, one realisation per call.
                   > 0: Clarke/Jakes process by a sum of ``num_sinusoids`` sinusoids per tap,
                   autocorrelation ~J0(2 pi doppler_hz tau); must be below sample_rate_hz / 2.
    sample_rate_hz : float > 0, required when doppler_hz > 0
    num_sinusoids  : int >= 4, sinusoids per tap of the Doppler process
    start_sample   : int, sample index of the first returned gain (Doppler only): the same
                   rng state with a later start continues the same process, so a stream can be
                   faded in chunks.
    rng          : numpy Generator
    returns complex64 [L, 1] (kind ``"none"`` or doppler_hz == 0) or [L, N] (time-varying).
    """
    num_taps = check_int(num_taps, "num_taps", 1)
    num_samples = check_int(num_samples, "num_samples", 0)
    check_choice(kind, "kind", FADING_KINDS)
    k_factor_db = check_number(k_factor_db, "k_factor_db", -30.0, 40.0)
    doppler_hz = check_number(doppler_hz, "doppler_hz", 0.0)
    num_sinusoids = check_int(num_sinusoids, "num_sinusoids", 4)
    start_sample = check_int(start_sample, "start_sample")
    check_rng(rng)
    if kind == "none":
        return np.ones((num_taps, 1), np.complex64)
    if doppler_hz > 0:
        if sample_rate_hz is None:
            raise ValueError("sample_rate_hz = None: required when doppler_hz > 0")
        sample_rate_hz = check_number(sample_rate_hz, "sample_rate_hz", 0.0, lo_open=True)
        if doppler_hz >= sample_rate_hz / 2:
            raise ValueError(f"doppler_hz = {doppler_hz!r} is out of range: allowed "
                             f"[0, {sample_rate_hz / 2:g}) (below half of sample_rate_hz)")
    if kind == "rician":
        k_lin = 10.0 ** (k_factor_db / 10.0)
        los = math.sqrt(k_lin / (k_lin + 1)) * np.exp(1j * rng.uniform(0, 2 * np.pi))
        diffuse_scale = np.ones((num_taps, 1))
        diffuse_scale[0] = math.sqrt(1.0 / (k_lin + 1))
    if doppler_hz > 0:
        g = _sum_of_sinusoids(num_taps, num_samples, doppler_hz, sample_rate_hz, num_sinusoids,
                              rng, int(start_sample))
    else:
        g = (rng.standard_normal((num_taps, 1, 2)) / math.sqrt(2.0)).view(np.complex128)[..., 0]
    if kind == "rician":
        g = g * diffuse_scale.astype(g.real.dtype)
        g[0] += los
    return g.astype(np.complex64, copy=False)


def multipath(x, delays_samples, gains) -> np.ndarray:
    """Tapped-delay-line stream filter y[n] = sum_l g_l[n] x[n - d_l].

    Samples before 0 are zero; the tail past len(x) is dropped (output length = input length).

    x              : complex [N], cast to complex64
    delays_samples : int [L], >= 0 (repeats allowed: their gains add)
    gains          : complex [L, 1] (static) or [L, N] (time-varying, g_l[n] at output n)
    returns complex64 [N]
    """
    x = _as_c64(x)
    delays = np.asarray(delays_samples)
    if delays.ndim != 1 or delays.size == 0 or delays.dtype.kind not in "iu" or np.any(delays < 0):
        raise ValueError(f"delays_samples = {delays_samples!r}: must be a non-empty 1-D array of "
                         "integers >= 0")
    gains = np.asarray(gains)
    if gains.ndim != 2 or gains.shape[0] != delays.size or gains.shape[1] not in (1, x.size):
        raise ValueError(f"gains has shape {gains.shape}: must be [{delays.size}, 1] or "
                         f"[{delays.size}, {x.size}] (num_taps, 1 or num_samples)")
    gains = gains.astype(np.complex64, copy=False)
    n = x.size
    y = np.zeros(n, np.complex64)
    for tap, d in enumerate(delays.tolist()):   # loop over taps, vectorised over samples
        if d >= n:
            continue
        g = gains[tap, 0] if gains.shape[1] == 1 else gains[tap, d:]
        y[d:] += g * x[:n - d]
    return y


# --------------------------------------------------------------------------- interpolation

@lru_cache(maxsize=1)
def _interp_table() -> tuple[np.ndarray, np.ndarray]:
    """float32 [P + 1, 2W] kernel rows and their row differences [P, 2W].

    Row p holds h(k - W + 1 - p / P), k = 0..2W-1: the weights of input samples
    floor(t) - W + 1 .. floor(t) + W for an output at t with fractional part p / P.
    h(d) = sinc(d) * Kaiser(d / W). Rows 0 and P are exact unit impulses.
    """
    half, num_phases = INTERP_HALF_WIDTH_SAMPLES, INTERP_NUM_PHASES
    mu = np.arange(num_phases + 1)[:, None] / num_phases
    d = np.arange(2 * half)[None, :] - half + 1 - mu
    u = np.clip(d / half, -1.0, 1.0)
    table = np.sinc(d) * np.i0(_KAISER_BETA * np.sqrt(1.0 - u * u)) / np.i0(_KAISER_BETA)
    table[np.abs(d) >= half] = 0.0
    table[0] = 0.0
    table[0, half - 1] = 1.0
    table[-1] = 0.0
    table[-1, half] = 1.0
    table = table.astype(np.float32)
    return table, np.diff(table, axis=0)


def _interp_at(x: np.ndarray, t: np.ndarray, offset: int = 0) -> np.ndarray:
    """complex64 [len(t)]: band-limited values of the stream x at positions t.

    x      : complex64 [N]; x[i] is stream sample ``offset + i``; the stream is zero elsewhere
    t      : float64 [M], positions in stream samples (absolute)
    Windowed-sinc interpolation with 2W taps, processed in blocks of outputs.
    """
    half = INTERP_HALF_WIDTH_SAMPLES
    y = np.zeros(t.size, np.complex64)
    if x.size == 0 or t.size == 0:
        return y
    table, diff = _interp_table()
    pad = np.zeros(2 * half, np.complex64)
    xp = np.concatenate([pad, x, pad])           # xp[i] is stream sample offset - 2W + i
    taps = np.arange(2 * half)
    for start in range(0, t.size, _BLOCK_OUTPUTS):
        tb = t[start:start + _BLOCK_OUTPUTS]
        base = np.floor(tb)
        pos = (tb - base) * INTERP_NUM_PHASES
        phase = np.minimum(pos.astype(np.int64), INTERP_NUM_PHASES - 1)
        frac = (pos - phase).astype(np.float32)
        base = base.astype(np.int64) - offset      # relative to x[0]
        # taps are stream samples base - W + 1 .. base + W; keep outputs that touch x
        valid = (base >= -half) & (base <= x.size + half - 2)
        first = np.where(valid, base + half + 1, 0)   # xp index of the first tap
        weights = table[phase] + frac[:, None] * diff[phase]                 # [B, 2W]
        block = xp[first[:, None] + taps[None, :]]                           # [B, 2W]
        out = (block * weights).sum(axis=1)                                  # complex64 [B]
        y[start:start + tb.size] = np.where(valid, out, 0)
    return y


def _delay_times(m: np.ndarray, delay_samples: float) -> np.ndarray:
    """float64: input positions of outputs m for a delay (shared with the streaming chain)."""
    return m - delay_samples


def _sfo_times(m: np.ndarray, ppm: float) -> np.ndarray:
    """float64: input positions of outputs m for a sample-rate offset (shared with the chain)."""
    return m * (1.0 + ppm * 1e-6)


def fractional_delay(x, delay_samples: float) -> np.ndarray:
    """Delay a stream by a real number of samples: y[m] = x(m - delay_samples).

    The integer part shifts the stream (zeros prepended); the fractional part is a 32-tap
    Kaiser-windowed sinc (module docstring) whose group delay is compensated, so a signal
    band-limited to +-0.4 of the sample rate is delayed with an error below -80 dB (away from
    the first and last 16 samples, where the stream's zero surroundings enter the window). The
    sinc's ringing before the delayed start (up to 16 samples) is kept. An integer delay is
    an exact shift.

    x             : complex [N], cast to complex64
    delay_samples : float >= 0, samples
    returns complex64 [N + ceil(delay_samples)]; ``delay_samples == 0`` returns a copy of x.
    """
    x = _as_c64(x)
    delay = check_number(delay_samples, "delay_samples", 0.0)
    if delay == 0.0:
        return x.copy()
    num_out = x.size + math.ceil(delay)
    y = np.zeros(num_out, np.complex64)
    first = max(0, math.floor(delay) - INTERP_HALF_WIDTH_SAMPLES)   # earlier outputs are 0
    m = np.arange(first, num_out, dtype=np.float64)
    y[first:] = _interp_at(x, _delay_times(m, delay))
    return y


def sfo_num_outputs(num_samples: int, ppm: float) -> int:
    """Output length of :func:`sample_rate_offset`: the number of m >= 0 with
    m * (1 + ppm * 1e-6) <= num_samples - 1 (float64), i.e.
    floor((num_samples - 1) / (1 + ppm * 1e-6)) + 1 for num_samples >= 1, else 0.
    """
    num_samples = check_int(num_samples, "num_samples", 0)
    ppm = check_number(ppm, "ppm", *_PPM_RANGE)
    if num_samples == 0:
        return 0
    count = math.floor((num_samples - 1) / (1.0 + ppm * 1e-6)) + 1
    # settle float rounding against the exact float64 position formula used for resampling
    while float(_sfo_times(np.float64(count), ppm)) <= num_samples - 1:
        count += 1
    while count > 0 and float(_sfo_times(np.float64(count - 1), ppm)) > num_samples - 1:
        count -= 1
    return count


def sample_rate_offset(x, ppm: float) -> np.ndarray:
    """Resample as a receiver whose ADC clock is off by ``ppm``: y[m] = x(m * (1 + ppm * 1e-6)).

    Positions are in input samples (float64); values come from the 32-tap windowed-sinc
    interpolator (module docstring). A tone at normalised frequency f comes out at
    f * (1 + ppm * 1e-6); a positive ppm shortens the stream. The stream is zero past its
    last sample, so the last ~16 outputs see a truncated window.

    x   : complex [N], cast to complex64
    ppm : float in [-1e4, 1e4], parts per million
    returns complex64 [M], M = :func:`sfo_num_outputs` (N, ppm)
            = floor((N - 1) / (1 + ppm * 1e-6)) + 1 (0 for N = 0): every m with
            m * (1 + ppm * 1e-6) <= N - 1. ``ppm == 0`` returns a copy of x.
    """
    x = _as_c64(x)
    ppm = check_number(ppm, "ppm", *_PPM_RANGE)
    if ppm == 0.0:
        return x.copy()
    m = np.arange(sfo_num_outputs(x.size, ppm), dtype=np.float64)
    return _interp_at(x, _sfo_times(m, ppm))


# --------------------------------------------------------------------------- phase impairments

_PHASE_BLOCK = 1 << 20


def _rotate(x: np.ndarray, phase_rad: np.ndarray) -> np.ndarray:
    """complex64: x * exp(j phase_rad), phase in float64, in blocks to bound temporaries."""
    y = np.empty_like(x)
    for s in range(0, x.size, _PHASE_BLOCK):
        p = phase_rad[s:s + _PHASE_BLOCK]
        y[s:s + _PHASE_BLOCK] = x[s:s + _PHASE_BLOCK] * np.exp(1j * p).astype(np.complex64)
    return y


def frequency_offset(x, cfo_hz: float, sample_rate_hz: float, phase0_rad: float = 0.0, *,
                     start_sample: int = 0) -> np.ndarray:
    """Carrier frequency offset: y[n] = x[n] exp(j (2 pi cfo_hz (start_sample + n) / fs + phase0)).

    x              : complex [N], cast to complex64
    cfo_hz         : float, Hz, |cfo_hz| < sample_rate_hz / 2
    sample_rate_hz : float > 0, Hz
    phase0_rad     : float, rad, phase at stream sample 0
    start_sample   : int, stream index of x[0] (to rotate a stream chunk by chunk, continuously)
    returns complex64 [N] (the phase ramp is computed in float64)
    """
    x = _as_c64(x)
    sample_rate_hz = check_number(sample_rate_hz, "sample_rate_hz", 0.0, lo_open=True)
    cfo_hz = check_number(cfo_hz, "cfo_hz", -sample_rate_hz / 2, sample_rate_hz / 2, lo_open=True, hi_open=True)
    phase0_rad = check_number(phase0_rad, "phase0_rad")
    start_sample = check_int(start_sample, "start_sample")
    if cfo_hz == 0.0 and phase0_rad == 0.0:
        return x.copy()
    n = np.arange(int(start_sample), int(start_sample) + x.size, dtype=np.float64)
    cycles = (cfo_hz / sample_rate_hz) * n
    cycles -= np.floor(cycles)                    # reduce before scaling: keeps float64 precision
    return _rotate(x, 2 * np.pi * cycles + phase0_rad)


def phase_noise_process(num_samples: int, linewidth_hz: float, sample_rate_hz: float,
                        rng: np.random.Generator, phase0_rad: float = 0.0) -> np.ndarray:
    """Wiener (random-walk) oscillator phase: phi[n] = phase0 + sum_{i <= n} w_i.

    w_i ~ N(0, 2 pi linewidth_hz / sample_rate_hz): a free-running oscillator with a
    Lorentzian spectrum of 3 dB full width ``linewidth_hz``. The first sample already carries
    one increment, so a stream continues seamlessly from ``phase0_rad = phi[-1]`` of its
    previous chunk.

    num_samples    : int >= 0
    linewidth_hz   : float >= 0, Hz
    sample_rate_hz : float > 0, Hz
    rng            : numpy Generator
    phase0_rad     : float, rad
    returns float64 [num_samples], rad
    """
    num_samples = check_int(num_samples, "num_samples", 0)
    linewidth_hz = check_number(linewidth_hz, "linewidth_hz", 0.0)
    sample_rate_hz = check_number(sample_rate_hz, "sample_rate_hz", 0.0, lo_open=True)
    phase0_rad = check_number(phase0_rad, "phase0_rad")
    check_rng(rng)
    if linewidth_hz == 0.0:
        return np.full(num_samples, phase0_rad)
    sigma = math.sqrt(2 * np.pi * linewidth_hz / sample_rate_hz)
    return phase0_rad + np.cumsum(rng.standard_normal(num_samples) * sigma)


def phase_noise(x, linewidth_hz: float, sample_rate_hz: float, rng: np.random.Generator,
                phase0_rad: float = 0.0) -> np.ndarray:
    """Wiener phase noise: y[n] = x[n] exp(j phi[n]), phi from :func:`phase_noise_process`.

    x              : complex [N], cast to complex64
    linewidth_hz   : float >= 0, Hz (increments N(0, 2 pi linewidth_hz / sample_rate_hz))
    sample_rate_hz : float > 0, Hz
    rng            : numpy Generator
    phase0_rad     : float, rad, phase before the first sample
    returns complex64 [N]; ``linewidth_hz == 0`` and ``phase0_rad == 0`` return a copy and
    draw nothing.
    """
    x = _as_c64(x)
    phase = phase_noise_process(x.size, linewidth_hz, sample_rate_hz, rng, phase0_rad)
    if linewidth_hz == 0.0 and phase0_rad == 0.0:
        return x.copy()
    return _rotate(x, phase)


# --------------------------------------------------------------------------- IQ front end

def _iq_coefficients(gain_db: float, phase_deg: float) -> tuple[complex, complex]:
    gain_db = check_number(gain_db, "gain_db", -20.0, 20.0)
    phase_deg = check_number(phase_deg, "phase_deg", -90.0, 90.0, lo_open=True, hi_open=True)
    g = 10.0 ** (gain_db / 20.0)
    phi = math.radians(phase_deg)
    mu = (1 + g * complex(math.cos(phi), -math.sin(phi))) / 2
    nu = (1 - g * complex(math.cos(phi), math.sin(phi))) / 2
    return mu, nu


def iq_imbalance(x, gain_db: float, phase_deg: float) -> np.ndarray:
    """Receiver IQ imbalance: y = mu x + nu conj(x).

    mu = (1 + g e^{-j phi}) / 2, nu = (1 - g e^{j phi}) / 2, g = 10**(gain_db / 20),
    phi = phase_deg in radians. Equivalently the I branch is ideal and the Q branch has gain g
    and a LO phase error phi: Re y = Re x, Im y = g (Im x cos phi - Re x sin phi).
    A tone at f gets an image at -f with power ratio (image rejection ratio, see
    :func:`image_rejection_ratio_db`) IRR = |mu|^2 / |nu|^2
    = (1 + g^2 + 2 g cos phi) / (1 + g^2 - 2 g cos phi).

    x         : complex [...] (any shape), cast to complex64
    gain_db   : float in [-20, 20], dB (Q relative to I amplitude)
    phase_deg : float in (-90, 90), degrees
    returns complex64, same shape as x; gain_db == phase_deg == 0 returns a copy.
    """
    x = _as_c64(x, one_d=False)
    mu, nu = _iq_coefficients(gain_db, phase_deg)
    if gain_db == 0.0 and phase_deg == 0.0:
        return x.copy()
    return np.complex64(mu) * x + np.complex64(nu) * np.conj(x)


def image_rejection_ratio_db(gain_db: float, phase_deg: float) -> float:
    """IRR = 10 log10(|mu|^2 / |nu|^2) of :func:`iq_imbalance`, dB (inf without imbalance)."""
    mu, nu = _iq_coefficients(gain_db, phase_deg)
    return math.inf if abs(nu) == 0 else 10 * math.log10(abs(mu) ** 2 / abs(nu) ** 2)


def dc_offset(x, amplitude: float, phase_deg: float = 0.0) -> np.ndarray:
    """Add a constant: y = x + amplitude e^{j phase_deg pi / 180}.

    x         : complex [...] (any shape), cast to complex64
    amplitude : float >= 0, linear (same units as x)
    phase_deg : float, degrees
    returns complex64, same shape as x; amplitude == 0 returns a copy.
    """
    x = _as_c64(x, one_d=False)
    amplitude = check_number(amplitude, "amplitude", 0.0)
    phase_deg = check_number(phase_deg, "phase_deg")
    if amplitude == 0.0:
        return x.copy()
    phi = math.radians(phase_deg)
    return x + np.complex64(complex(amplitude * math.cos(phi), amplitude * math.sin(phi)))
