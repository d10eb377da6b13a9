"""Synchronisation: CFO (fractional, integer, fine), timing on the first path, and the FFT window.

All functions work on batches of B candidates; ``eps`` is a CFO in subcarriers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..config import OfdmConfig
from .preamble import ltf_values

PATH_FRACTION = 0.1       # a path this strong (power, relative to the strongest) counts for the timing
LTF_MATCH = 0.1           # normalised cross-correlation with the known LTF (peak path) that confirms a preamble


def phasor(angle: np.ndarray, gain=1.0) -> np.ndarray:
    """gain * exp(j angle) as complex64 from cos and sin (float32 SIMD: about 15x faster than a
    complex exponential). angle float [...] (rad, best reduced modulo 2 pi), gain broadcastable."""
    a = np.asarray(angle, np.float32)
    out = np.empty(np.broadcast_shapes(a.shape, np.shape(gain)), np.complex64)
    out.real, out.imag = np.cos(a) * gain, np.sin(a) * gain
    return out


def cfo_ramp(eps: np.ndarray, starts: np.ndarray, length: int, fft_size: int, gain: float = 1.0,
             split: bool = False):
    """gain * exp(-j 2 pi eps_b (starts_bs + n) / N) for n < length: complex64 [B, S, length].

    eps : [B] CFO in subcarriers; starts : [B, S] first sample of each block, counted from the
    phase reference. Built as a per-block phasor (float64 phase reduced modulo 2 pi) times one
    ramp per frame, so long frames cost few transcendental calls; ``split=True`` returns the two
    factors, (complex64 [B, S] per-block phasor, complex64 [B, length] ramp).
    """
    w = -2.0 * np.pi * np.asarray(eps, np.float64) / fft_size                 # rad per sample [B]
    inner = phasor(np.mod(w[:, None] * np.arange(length), 2 * np.pi))
    outer = phasor(np.mod(w[:, None] * starts, 2 * np.pi), np.float32(gain))
    return (outer, inner) if split else outer[:, :, None] * inner[:, None, :]


def gather_blocks(x: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """x[starts[..., None] + arange(length)]: complex64 [*starts.shape, length]."""
    return x[starts[..., None] + np.arange(length)]


def integer_cfo(spec: np.ndarray, cfg: OfdmConfig, shifts: np.ndarray) -> np.ndarray:
    """Pick the carrier shift m (from ``shifts``) that best explains the received LTF.

    spec : complex64 [B, N] FFT of the received LTF (any timing inside the guard interval)
    Metric: |sum_k Y[k+m] conj(Y[k+1+m]) conj(T_k) T_{k+1}| over adjacent used carriers; the
    channel and the timing phase ramp cancel in adjacent-carrier products.
    returns int64 [B], the shift in subcarriers.
    """
    used = cfg.used_carriers
    k = used[:-1][np.diff(used) == 1]
    t = ltf_values(cfg)
    ref = np.conj(t[cfg.fft_bins(k)]) * t[cfg.fft_bins(k + 1)]
    idx0 = cfg.fft_bins(k[None, :] + shifts[:, None])
    idx1 = cfg.fft_bins(k[None, :] + 1 + shifts[:, None])
    # [B, shifts, pairs]
    z = spec[:, idx0] * np.conj(spec[:, idx1]) * ref
    return shifts[np.argmax(np.abs(z.sum(axis=-1)), axis=1)]


class PathTiming(NamedTuple):
    """first : int64 [B] lag of the first path; backoff : int64 [B] samples the FFT windows start
    before each symbol body (as timed on the first path); match : float64 [B] normalised power of
    the strongest lag (about SNR / (1 + SNR) times the strongest path's share of the channel's
    power: 1 for a clean single path, a few % for a tone or another system's preamble)."""

    first: np.ndarray
    backoff: np.ndarray
    match: np.ndarray


def path_timing(power: np.ndarray, energy: np.ndarray, cfg: OfdmConfig) -> PathTiming:
    """First path and FFT window from the LTF cross-correlation's power profile.

    power  : float [B, L] |sum over both LTF copies of the received samples times conj(LTF)|^2 per lag
    energy : float [B] sum |x|^2 over the two LTF periods at the strongest lag, times sum |LTF|^2 * 2
             (so power / energy is 1 for a clean single path)
    The first path is the earliest lag within CP before the strongest that carries at least
    ``PATH_FRACTION`` of its power (LTF sidelobes and the sinc spread of fractional delays stay
    below 5 %). The FFT windows start ``backoff`` samples before the first path's symbol bodies:
    a path d samples after the first then causes no inter-symbol interference if
    ``-backoff <= d <= CP - backoff``, so the backoff minimises the profile's power outside that
    range (the echoes weighted as they are, however weak), and among the backoffs within 0.1 %
    of the peak power of the least, takes the middle one (the most margin for timing drift).
    """
    cp = cfg.cp_length_samples
    batch, num = power.shape
    rows = np.arange(batch)
    peak = np.argmax(power, axis=1)
    top = power[rows, peak]
    strong = power >= PATH_FRACTION * top[:, None]
    lags = np.arange(num)
    first = np.argmax(strong & (lags >= (peak - cp)[:, None]), axis=1)
    # leak[b] = power at lags < first - b plus at lags > first + CP - b, for b = 1..CP-1 (at least
    # one sample of margin either side)
    csum = np.concatenate([np.zeros((batch, 1)), np.cumsum(power, axis=1)], axis=1)      # [B, L + 1]
    b = np.arange(1, cp)
    lo = np.clip(first[:, None] - b, 0, num)
    hi = np.clip(first[:, None] + cp - b + 1, 0, num)
    leak = csum[rows[:, None], lo] + csum[:, -1:] - csum[rows[:, None], hi]             # [B, CP - 1]
    near = leak <= leak.min(axis=1, keepdims=True) + 1e-3 * top[:, None]
    backoff = 1 + (np.argmax(near, axis=1) + cp - 2 - np.argmax(near[:, ::-1], axis=1)) // 2
    match = top / np.maximum(energy, 1e-30)
    return PathTiming(first, backoff, match)
