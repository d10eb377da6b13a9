"""Preamble detection: a Schmidl & Cox metric on a decimated grid, blind to tones and DC lines.

Input/Output
------------
x : complex64 [n] stream samples, the first one on the grid (index 0)
returns P complex64 [J] (the sync symbol's lag-N/2 correlation) and M float32 [J] in [0, 1],
for frame starts d = 0, D, 2D, ... (D = :func:`decimation`)
"""

from __future__ import annotations

import math

import numpy as np

from ..config import OfdmConfig

CFO_AGREEMENT_RAD = np.pi / 3  # sync-symbol and LTF phases must agree this well at detection


def decimation(cfg: OfdmConfig) -> int:
    """Metric grid step D: a power of two dividing N/2 and CP, at most CP/2."""
    d = math.gcd(cfg.fft_size // 2, cfg.cp_length_samples)
    d = 1 << (d.bit_length() - 1)  # largest power of two dividing both
    while d > 1 and d > cfg.cp_length_samples // 2:
        d //= 2
    return d


def _block_sums(v: np.ndarray, dec: int) -> np.ndarray:
    """Sums of consecutive blocks of ``dec`` values (complex64 or float32), as a matrix product
    with a 0/1 matrix (BLAS is ~4x faster than a reduction over a short axis)."""
    parts = 2 if np.iscomplexobj(v) else 1
    ones = np.zeros((dec * parts, parts), np.float32)
    for k in range(parts):
        ones[k::parts, k] = 1.0
    out = v.view(np.float32).reshape(-1, dec * parts) @ ones
    return out.view(np.complex64)[:, 0] if parts == 2 else out[:, 0]


def _window_sums(blocks: np.ndarray, first: int, count: int, num: int) -> np.ndarray:
    """sum_{b < count} blocks[first + b + j] for j < num (exact: same additions in any chunking)."""
    out = blocks[first:first + num].copy()
    for b in range(1, count):
        out += blocks[first + b:first + b + num]
    return out


def sc_metric(x: np.ndarray, cfg: OfdmConfig) -> tuple[np.ndarray, np.ndarray]:
    """Preamble detection metric on a grid of every D samples (Schmidl & Cox, extended to the LTF).

    * sync symbol: ``P(d) = sum_{m<CP+N/2} conj(x[d+m]) x[d+m+N/2]`` (S&C eq. 5 over the CP too;
      its phase is pi times the CFO in subcarriers);
    * LTF: ``Q(d) = sum_{m<2CP+N} conj(x[d+o+m]) x[d+o+m+N]``, o = CP + N (GI + T1 against T1 + T2);
    * tone rejection: ``Q2(d) = sum_{m<N} conj(x[d+o+m]) x[d+o+m+N/2]``. The LTF occupies odd and
      even carriers alike, so over one whole period its lag-N/2 correlation is
      ``sum_k |H_k|^2 (-1)^k``, about 0 for any channel whose delay spread fits the CP; a tone, a
      DC line or any signal periodic in N/2 correlates at lag N/2 as much as at lag N;
    * ``M = |P| max(|Q| - (2CP+N)/N |Q2|, 0) / (R_P R_Q)`` with ``R = 1/2 sum |x[.]|^2 + |x[. + lag]|^2``
      over the same products (symmetric energy, Minn et al.): both repetitions must be present
      at once. M is 1 for a clean preamble, about (SNR / (1 + SNR))^2 with noise, about 0.01 for
      noise alone and for a tone or DC line: 3 CP + 3N/2 products make the detector usable near
      0 dB SNR without false triggers, and silence next to part of a preamble scores 0, not 1.
      Where the CFO implied by P and by Q disagree by more than ``CFO_AGREEMENT_RAD`` (phase of
      Q conj(P)^2), M = 0.
    """
    n, cp, dec = cfg.fft_size, cfg.cp_length_samples, decimation(cfg)
    half, o = n // 2, cp + n
    nblk = x.size // dec
    num = nblk - (o + 2 * cp + 2 * n) // dec + 1          # positions whose whole preamble is in x
    if num <= 0:
        return np.zeros(0, np.complex64), np.zeros(0, np.float32)
    use = nblk * dec
    # products at lags N/2 and N, and energies, summed over blocks of D samples
    pa = _block_sums(np.conj(x[:use - half]) * x[half:use], dec)
    pl = _block_sums(np.conj(x[:use - n]) * x[n:use], dec)
    eb = _block_sums(np.square(x[:use].view(np.float32)), 2 * dec)      # |x|^2: I^2 + Q^2 pairs
    wa, wl = (cp + half) // dec, (2 * cp + n) // dec
    p = _window_sums(pa, 0, wa, num)
    q = _window_sums(pl, o // dec, wl, num)
    q2 = _window_sums(pa, (o + 2 * cp) // dec, n // dec, num)      # one LTF period, inside GI + T1 + T2
    rp = 0.5 * (_window_sums(eb, 0, wa, num) + _window_sums(eb, half // dec, wa, num))
    rq = 0.5 * (_window_sums(eb, o // dec, wl, num) + _window_sums(eb, (o + n) // dec, wl, num))
    aq = np.maximum(np.abs(q) - np.float32((2 * cp + n) / n) * np.abs(q2), 0.0)
    m = np.abs(p) * aq / np.maximum(rp * rq, np.float32(1e-30))
    # P turns by pi eps and Q by 2 pi eps: a preamble makes Q conj(P)^2 nearly real-positive;
    # OFDM data (whose CPs correlate at lag N) and noise do not
    m[np.real(q * np.conj(p) ** 2) < np.cos(CFO_AGREEMENT_RAD) * np.abs(q) * np.abs(p) ** 2] = 0.0
    return p, m.astype(np.float32)
