"""OFDM modulation over the resource grid: carrier mapping, IFFT + cyclic prefix, and back.

Scaling convention (docs/conventions.md §2): resource elements (REs) carry unit power; the transmitter
uses ``x = sqrt(N / N_used) * ifft(X, norm="ortho")`` so a symbol whose used carriers all have
unit power has unit mean time-domain power, and :func:`ofdm_demodulate` applies the inverse
scaling, so with no channel ``demodulate(modulate(X)) == X`` and white time-domain noise of
variance ``s2`` becomes RE noise of variance ``s2 * N_used / N``.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft

from ..config import OfdmConfig


def time_scale(cfg: OfdmConfig) -> float:
    """sqrt(N / N_used): maps unit-power REs to unit-power time samples."""
    return float(np.sqrt(cfg.fft_size / cfg.num_used_carriers))


def pilot_values(cfg: OfdmConfig, num_symbols: int, first_symbol: int = 0) -> np.ndarray:
    """complex64 [num_symbols, num_pilots]: BPSK pilots, base pattern times a per-symbol polarity.

    The polarity follows the 127-bit 802.11 scrambler sequence (all-ones seed), which avoids
    spectral lines from identical pilots in every symbol.
    """
    from .coding import scrambling_sequence

    base = np.where(np.arange(len(cfg.pilot_carriers)) == len(cfg.pilot_carriers) - 1, -1.0, 1.0)
    pol = 1.0 - 2.0 * scrambling_sequence(127, seed=0x7F).astype(np.float32)
    idx = (first_symbol + np.arange(num_symbols)) % 127
    return (pol[idx, None] * base[None, :]).astype(np.complex64)


def map_resource_grid(data: np.ndarray, cfg: OfdmConfig, pilots: np.ndarray | None = None) -> np.ndarray:
    """Place data and pilots on the FFT grid.

    data   : complex [..., S, num_data_carriers]
    pilots : complex [..., S, num_pilots] (broadcastable) or None (zeros)
    returns complex64 [..., S, fft_size] in FFT bin order (bin 0 = DC).
    """
    num_pilots = len(cfg.pilot_carriers)
    pilots = np.zeros(data.shape[:-1] + (num_pilots,), np.complex64) if pilots is None else \
        np.broadcast_to(pilots, data.shape[:-1] + (num_pilots,))
    nulls = np.zeros(data.shape[:-1] + (1,), np.complex64)
    # [..., data | pilots | 0] gathered into bin order: one concatenate and one take
    return np.take(np.concatenate([data, pilots, nulls], axis=-1).astype(np.complex64, copy=False),
                   _grid_source(cfg), axis=-1)


@functools.lru_cache(maxsize=8)
def _grid_source(cfg: OfdmConfig) -> np.ndarray:
    """int64 [fft_size]: for each FFT bin, its source column in [data | pilots | 0]."""
    src = np.full(cfg.fft_size, cfg.num_data_carriers + len(cfg.pilot_carriers))
    src[cfg.fft_bins(cfg.data_carriers)] = np.arange(cfg.num_data_carriers)
    src[cfg.fft_bins(cfg.pilot_carriers)] = cfg.num_data_carriers + np.arange(len(cfg.pilot_carriers))
    return src


def ofdm_modulate(grid: np.ndarray, cfg: OfdmConfig, cp_length: int | None = None) -> np.ndarray:
    """IFFT each symbol and prepend its cyclic prefix.

    grid : complex [..., S, fft_size] (FFT bin order)
    returns complex64 [..., S * (cp + fft_size)], the symbols back to back.
    """
    cp = cfg.cp_length_samples if cp_length is None else cp_length
    body = scipy.fft.ifft(grid.astype(np.complex64, copy=False), axis=-1, norm="ortho")
    body *= np.float32(time_scale(cfg))
    out = np.concatenate([body[..., cfg.fft_size - cp:], body], axis=-1) if cp else body
    # [..., S, cp + N] -> [..., S * (cp + N)]
    return out.reshape(out.shape[:-2] + (-1,)).astype(np.complex64, copy=False)


def ofdm_demodulate(samples: np.ndarray, cfg: OfdmConfig) -> np.ndarray:
    """FFT windows that start at the symbol bodies (CP already skipped by the caller).

    samples : complex [..., fft_size]
    returns complex64 [..., fft_size] REs in FFT bin order, scaled to the transmitter's RE units.
    """
    spec = scipy.fft.fft(samples.astype(np.complex64, copy=False), axis=-1, norm="ortho")
    spec *= np.float32(1.0 / time_scale(cfg))
    return spec


def split_symbols(samples: np.ndarray, cfg: OfdmConfig, num_symbols: int, offset: int = 0) -> np.ndarray:
    """Cut ``num_symbols`` CP-OFDM symbols starting at ``offset`` and drop the CPs.

    samples : complex [..., >= offset + num_symbols * (cp + N)]
    returns [..., num_symbols, fft_size] (a view when possible).
    """
    n = cfg.symbol_length_samples
    block = samples[..., offset:offset + num_symbols * n]
    # [..., S * (cp + N)] -> [..., S, cp + N] -> bodies
    return block.reshape(block.shape[:-1] + (num_symbols, n))[..., cfg.cp_length_samples:]
