"""Stream faults and interferers that real radios and their drivers produce, for tests and
benchmarks of the receiver: lost, repeated or zeroed runs of samples (USB overflows, driver
fills), non-finite samples, a CW spur, a DC line and bursts of another OFDM system (802.11a/g's
preamble and symbols, on the same 64-carrier grid).

All functions return new complex64 arrays; positions and lengths are in samples.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_int, check_rng
from .impairments import _as_c64

# IEEE 802.11-2016 17.3.3: L-STF and L-LTF on carriers -26..26
_L_STF = np.sqrt(13 / 6) * np.array(
    [0, 0, 1 + 1j, 0, 0, 0, -1 - 1j, 0, 0, 0, 1 + 1j, 0, 0, 0, -1 - 1j, 0, 0, 0, -1 - 1j, 0, 0, 0, 1 + 1j, 0, 0, 0,
     0, 0, 0, 0, -1 - 1j, 0, 0, 0, -1 - 1j, 0, 0, 0, 1 + 1j, 0, 0, 0, 1 + 1j, 0, 0, 0, 1 + 1j, 0, 0, 0, 1 + 1j, 0, 0])
_L_LTF = np.array([1, 1, -1, -1, 1, 1, -1, 1, -1, 1, 1, 1, 1, 1, 1, -1, -1, 1, 1, -1, 1, -1, 1, 1, 1, 1, 0,
                   1, -1, -1, 1, 1, -1, 1, -1, 1, -1, -1, -1, -1, -1, 1, 1, -1, -1, 1, -1, 1, -1, 1, 1, 1, 1], float)


def drop_samples(x, at: int, count: int) -> np.ndarray:
    """x without samples [at, at + count): a slip (what a receive overflow loses).
    x complex [n] -> complex64 [n - count]."""
    x = _as_c64(x)
    at, count = check_int(at, "at", 0), check_int(count, "count", 0)
    return np.concatenate([x[:at], x[at + count:]])


def repeat_samples(x, at: int, count: int) -> np.ndarray:
    """x with samples [at, at + count) sent twice (a buffer delivered again).
    x complex [n] -> complex64 [n + count]."""
    x = _as_c64(x)
    at, count = check_int(at, "at", 0), check_int(count, "count", 0)
    return np.concatenate([x[:at + count], x[at:]])


def zero_samples(x, at: int, count: int) -> np.ndarray:
    """x with samples [at, at + count) set to 0 (a driver's fill for samples it lost)."""
    x = _as_c64(x).copy()
    x[check_int(at, "at", 0):at + check_int(count, "count", 0)] = 0
    return x


def nonfinite_samples(x, at: int, count: int = 1, value: complex = complex("nan")) -> np.ndarray:
    """x with samples [at, at + count) set to ``value`` (NaN or inf)."""
    x = _as_c64(x).copy()
    x[check_int(at, "at", 0):at + check_int(count, "count", 0)] = value
    return x


def tone(num_samples: int, frequency: float, power: float, phase_rad: float = 0.0) -> np.ndarray:
    """complex64 [num_samples]: sqrt(power) exp(j (2 pi frequency n + phase)); ``frequency`` in
    cycles per sample (0: a DC line)."""
    n = np.arange(check_int(num_samples, "num_samples", 0), dtype=np.float64)
    return (np.sqrt(power) * np.exp(1j * (2 * np.pi * frequency * n + phase_rad))).astype(np.complex64)


def wifi_like_bursts(num_samples: int, rng: np.random.Generator, num_symbols: int = 20, gap_samples: int = 400,
                     power: float = 1.0) -> np.ndarray:
    """complex64 [num_samples]: bursts of an 802.11a/g-like OFDM system back to back, ``gap_samples``
    of silence apart: L-STF (10 x 16 samples), L-LTF (32-sample guard + 2 x 64) and
    ``num_symbols`` symbols of 80 samples (CP 16) with random QPSK on the 48 data carriers and
    BPSK pilots, at mean power ``power`` inside a burst. Its preamble repeats at lags 16, 32 and
    64 like ours does at 32 and 64, but its training sequences are not ours."""
    check_rng(rng)
    k = np.arange(-26, 27)
    bins = k % 64

    def ofdm(values):                                       # [S, 53] on carriers -26..26 -> [S, 64] time
        grid = np.zeros(values.shape[:-1] + (64,), np.complex128)
        grid[..., bins] = values
        return np.fft.ifft(grid, axis=-1) * 64 / np.sqrt(52)

    stf = np.tile(ofdm(_L_STF[None])[0, :16], 10)
    ltf = ofdm(_L_LTF[None])[0]
    data = np.zeros((num_symbols, 53), np.complex128)
    used = (k != 0) & ~np.isin(k, (-21, -7, 7, 21))
    data[:, used] = (rng.choice([-1, 1], (num_symbols, 48)) + 1j * rng.choice([-1, 1], (num_symbols, 48))) / np.sqrt(2)
    data[:, np.isin(k, (-21, -7, 7, 21))] = rng.choice([-1, 1], (num_symbols, 1)) * np.array([1, 1, 1, -1])
    body = ofdm(data)
    symbols = np.concatenate([body[:, -16:], body], axis=1).ravel()
    burst = np.concatenate([stf, ltf[-32:], ltf, ltf, symbols, np.zeros(gap_samples)])
    reps = -(-check_int(num_samples, "num_samples", 0) // burst.size)
    return (np.sqrt(power) * np.tile(burst, reps)[:num_samples]).astype(np.complex64)
