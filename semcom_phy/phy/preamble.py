"""The frame preamble: a Schmidl & Cox sync symbol and a repeated long training field (LTF).

Layout (N = fft_size, CP = cp_length_samples)::

    | CP | A (N)            | GI (2 CP) | T (N) | T (N) |
           A = two identical halves     LTF, 802.11-style

* **A** carries BPSK only on even carriers (scaled by sqrt(2) to keep unit mean power), so its
  time signal repeats with period N/2. Together with its CP that gives CP + N/2 products at lag
  N/2 for the Schmidl & Cox metric (S&C 1997, eq. 5-6): detection, coarse timing and the
  fractional CFO modulo 2 subcarriers.
* **T** carries BPSK on every used carrier. Adjacent-carrier products of T give the integer CFO
  (even multiples of a subcarrier left after A), the cross-correlation with T gives fine timing,
  the lag-N repetition gives the fine CFO, and the two copies give the LS channel estimate and
  the noise variance (their difference is pure noise).

Sequences are fixed m-sequence segments (no RNG), checked against golden values in tests.
"""

from __future__ import annotations

import functools

import numpy as np

from ..config import OfdmConfig
from .coding import scrambling_sequence
from .ofdm import ofdm_modulate


def _frozen(fn):
    """Cache a function of the config and return read-only arrays."""
    @functools.lru_cache(maxsize=16)
    def wrapper(cfg):
        out = fn(cfg)
        out.setflags(write=False)
        return out
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _bpsk(num: int, seed: int) -> np.ndarray:
    return (1.0 - 2.0 * scrambling_sequence(num, seed=seed).astype(np.float32))


@_frozen
def sync_values(cfg: OfdmConfig) -> np.ndarray:
    """complex64 [fft_size]: A in FFT bin order (non-zero on even used carriers only)."""
    grid = np.zeros(cfg.fft_size, np.complex64)
    even = cfg.used_carriers[cfg.used_carriers % 2 == 0]
    grid[cfg.fft_bins(even)] = np.sqrt(2.0) * _bpsk(even.size, seed=0x4B)
    return grid


@_frozen
def ltf_values(cfg: OfdmConfig) -> np.ndarray:
    """complex64 [fft_size]: T in FFT bin order (BPSK on every used carrier)."""
    grid = np.zeros(cfg.fft_size, np.complex64)
    grid[cfg.fft_bins(cfg.used_carriers)] = _bpsk(cfg.num_used_carriers, seed=0x2D)
    return grid


@_frozen
def ltf_time(cfg: OfdmConfig) -> np.ndarray:
    """complex64 [fft_size]: one period of T in the time domain (transmit scaling)."""
    return ofdm_modulate(ltf_values(cfg)[None], cfg, cp_length=0)


def preamble_length(cfg: OfdmConfig) -> int:
    """Samples in the preamble: 3 * (N + CP)."""
    return 3 * cfg.symbol_length_samples


def ltf_offset(cfg: OfdmConfig) -> int:
    """Offset of the first T body from the frame start (start of A's CP)."""
    return cfg.symbol_length_samples + 2 * cfg.cp_length_samples


@_frozen
def preamble(cfg: OfdmConfig) -> np.ndarray:
    """complex64 [3 * (N + CP)]: the time-domain preamble (unit mean power)."""
    a = ofdm_modulate(sync_values(cfg)[None], cfg)
    t = ofdm_modulate(ltf_values(cfg)[None], cfg, cp_length=0)
    gi = t[cfg.fft_size - 2 * cfg.cp_length_samples:]
    return np.concatenate([a, gi, t, t]).astype(np.complex64)
