"""Gray-coded BPSK / QPSK / 16-QAM / 64-QAM mapping and (soft) demapping.

Conventions (shared by every function here):

* Bits are ``uint8`` 0/1, most significant bit first: bit group ``b_0 b_1 ... b_{k-1}``
  of a symbol is the integer ``i = sum_j b_j 2^(k-1-j)`` and maps to ``constellation(m)[i]``.
* Square QAM is the product of two Gray-coded PAM axes as in IEEE 802.11 (17.3.5.8,
  Table 17-12 ff.): the first ``k/2`` bits select the in-phase level, the last ``k/2``
  bits the quadrature level. Per axis, level index ``p = 0 .. L-1`` (from the most
  negative level ``-(L-1)`` up to ``+(L-1)`` in steps of 2) carries the binary-reflected
  Gray code ``p ^ (p >> 1)``; e.g. 16-QAM: 00 -> -3, 01 -> -1, 11 -> +1, 10 -> +3.
* BPSK: bit 0 -> -1, bit 1 -> +1 on the real axis. QPSK: (+-1 +-1j)/sqrt(2), first bit
  on I, second on Q, bit 0 -> negative. (IEEE 802.11, Table 17-9 / 17-10.)
* Every constellation has unit average power (scale 1/sqrt(1), 1/sqrt(2), 1/sqrt(10),
  1/sqrt(42)).
* LLRs follow ``LLR = log P(b=0 | y) / P(b=1 | y)``: positive means bit 0.
  ``noise_var`` is the total complex noise variance per symbol, E|n|^2 = N0, so each
  of I and Q carries N0/2.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_bits

__all__ = [
    "MODULATIONS",
    "bits_per_symbol",
    "constellation",
    "map_bits",
    "demap_hard",
    "demap_soft",
]

# name -> (bits per symbol, bits per axis, number of axes, mean energy of the odd-integer grid)
_SPECS: dict[str, tuple[int, int, int, float]] = {
    "bpsk": (1, 1, 1, 1.0),
    "qpsk": (2, 1, 2, 2.0),
    "16qam": (4, 2, 2, 10.0),
    "64qam": (6, 3, 2, 42.0),
}

MODULATIONS: tuple[str, ...] = tuple(_SPECS)


def _spec(modulation: str) -> tuple[int, int, int, float]:
    try:
        return _SPECS[modulation]
    except (KeyError, TypeError):
        raise ValueError(
            f"modulation must be one of {list(MODULATIONS)}, got {modulation!r}"
        ) from None


def bits_per_symbol(modulation: str) -> int:
    """Number of bits carried by one symbol of ``modulation``.

    Parameters
    ----------
    modulation : str
        One of ``"bpsk"``, ``"qpsk"``, ``"16qam"``, ``"64qam"``.

    Returns
    -------
    int
        1, 2, 4 or 6.
    """
    return _spec(modulation)[0]


def _pam_levels(bits_per_axis: int) -> np.ndarray:
    """Odd-integer PAM level of every Gray label: int64 [L], entry g is the level of label g."""
    num_levels = 1 << bits_per_axis
    p = np.arange(num_levels)
    levels = np.empty(num_levels, dtype=np.int64)
    levels[p ^ (p >> 1)] = 2 * p - (num_levels - 1)  # label gray(p) sits at position p
    return levels


def _constellation(modulation: str) -> np.ndarray:
    k, k_axis, num_axes, energy = _spec(modulation)
    levels = _pam_levels(k_axis)
    i = np.arange(1 << k)
    if num_axes == 1:
        points = levels[i].astype(np.complex128)
    else:
        # first half of the bits -> I, second half -> Q
        points = levels[i >> k_axis] + 1j * levels[i & ((1 << k_axis) - 1)]
    return (points / np.sqrt(energy)).astype(np.complex64)


_CONSTELLATIONS = {m: _constellation(m) for m in MODULATIONS}


def constellation(modulation: str) -> np.ndarray:
    """Gray-coded, unit-average-power constellation of ``modulation``.

    Parameters
    ----------
    modulation : str
        One of ``"bpsk"``, ``"qpsk"``, ``"16qam"``, ``"64qam"``.

    Returns
    -------
    points : complex64 [M], M = 2 ** bits_per_symbol(modulation)
        ``points[i]`` is the symbol for the bit pattern of integer ``i`` (MSB first).
        A fresh copy; mean of ``|points|**2`` is 1.
    """
    _spec(modulation)
    return _CONSTELLATIONS[modulation].copy()


def map_bits(bits, modulation: str) -> np.ndarray:
    """Map bits to constellation symbols.

    Parameters
    ----------
    bits : uint8 [..., n * k]
        0/1 values, MSB first within each group of ``k = bits_per_symbol(modulation)``
        bits. Any integer or bool dtype is accepted.
    modulation : str
        One of ``"bpsk"``, ``"qpsk"``, ``"16qam"``, ``"64qam"``.

    Returns
    -------
    symbols : complex64 [..., n]
        Unit average power (see :func:`constellation`).

    Raises
    ------
    ValueError
        Unknown ``modulation``; ``bits`` not 0/1, zero-dimensional, or its last axis
        not a multiple of ``k``.
    """
    k = bits_per_symbol(modulation)
    bits = check_bits(bits)
    if bits.shape[-1] % k:
        raise ValueError(
            f"bits last-axis length must be a multiple of bits_per_symbol({modulation!r})={k}, "
            f"got {bits.shape[-1]}"
        )
    # constellation index, MSB first: sum of k strided bit planes [..., n]
    bits = bits.astype(np.uint8, copy=False)
    index = bits[..., 0::k].copy()
    for j in range(1, k):
        index <<= 1
        index |= bits[..., j::k]
    return _CONSTELLATIONS[modulation][index]


def _axis_components(symbols, modulation: str) -> tuple[np.ndarray, int, float]:
    """Per-axis received values on the odd-integer grid: float32 [..., n, num_axes]."""
    _, k_axis, num_axes, energy = _spec(modulation)
    symbols = np.asarray(symbols)
    if not (np.issubdtype(symbols.dtype, np.complexfloating)
            or np.issubdtype(symbols.dtype, np.floating)
            or np.issubdtype(symbols.dtype, np.integer)):
        raise ValueError(f"symbols must be a complex array, got dtype {symbols.dtype}")
    if symbols.ndim == 0:
        raise ValueError("symbols must have at least one axis, got a scalar")
    scale = np.float32(np.sqrt(energy))
    if num_axes == 1:
        comps = np.real(symbols).astype(np.float32)[..., None]
    else:
        symbols = symbols.astype(np.complex64, copy=False)
        # complex64 [..., n] viewed as float32 [..., n, 2] = (I, Q)
        comps = np.ascontiguousarray(symbols).view(np.float32).reshape(symbols.shape + (2,))
    return comps * scale, k_axis, energy


def demap_hard(symbols, modulation: str) -> np.ndarray:
    """Nearest-point (minimum Euclidean distance) bit decisions.

    Decided separately per I/Q axis (exact for the square, separable constellations
    here); no M-wide distance matrix. Equals ``(demap_soft(...) < 0)`` bit for bit.

    Parameters
    ----------
    symbols : complex64 [..., n]
        Equalised received symbols (any complex or real dtype).
    modulation : str
        One of ``"bpsk"``, ``"qpsk"``, ``"16qam"``, ``"64qam"``.

    Returns
    -------
    bits : uint8 [..., n * k], k = bits_per_symbol(modulation)
        MSB first per symbol.
    """
    z, k_axis, _ = _axis_components(symbols, modulation)
    out = np.empty(z.shape + (k_axis,), dtype=np.uint8)  # [..., n, axes, k_axis]
    half = float(1 << (k_axis - 1))
    for j in range(k_axis):
        # Gray PAM recursion (see demap_soft): bit j is 1 iff the folded value is > 0
        out[..., j] = z > 0
        if j + 1 < k_axis:
            z = half - np.abs(z)
            half /= 2
    return out.reshape(out.shape[:-3] + (-1,))


def demap_soft(symbols, noise_var, modulation: str) -> np.ndarray:
    """Max-log bit LLRs, ``LLR = log P(b=0|y) / P(b=1|y)`` (positive means bit 0).

    With ``N0 = noise_var`` and per-axis Gaussian noise of variance N0/2, the max-log LLR
    is ``(min_{s: b=1} |y-s|^2 - min_{s: b=0} |y-s|^2) / N0``. It is evaluated exactly and
    separately on each I/Q axis using the reflection structure of binary-reflected Gray
    PAM: on the odd-integer grid, the first (sign) bit of an L-level axis has
    ``LLR * N0 * E = -sign(y) (1 + a)(2|y| + 1 - a)`` with ``a`` the odd level nearest
    to ``|y|`` in ``[1, L-1]`` (E the grid's mean energy), and the remaining bits are the
    LLRs of an L/2-level Gray PAM evaluated at ``L/2 - |y|``. For BPSK this is the exact
    LLR ``-4 Re(y) / N0`` and for QPSK the exact ``-2 sqrt(2) Re(y) / N0`` (I bit) and
    ``-2 sqrt(2) Im(y) / N0`` (Q bit).

    Parameters
    ----------
    symbols : complex64 [..., n]
        Equalised received symbols (any complex or real dtype).
    noise_var : float or float [..., n] (broadcastable to ``symbols``)
        Total complex noise variance per symbol, E|n|^2, linear units, > 0. Per-symbol
        values carry, e.g., the post-equaliser noise ``N0 / |H|^2`` of each subcarrier.
    modulation : str
        One of ``"bpsk"``, ``"qpsk"``, ``"16qam"``, ``"64qam"``.

    Returns
    -------
    llr : float32 [..., n * k], k = bits_per_symbol(modulation)
        MSB first per symbol; ``(llr < 0)`` equals :func:`demap_hard`.

    Raises
    ------
    ValueError
        Unknown ``modulation``; ``noise_var`` not positive and finite or not
        broadcastable to the shape of ``symbols``.
    """
    z, k_axis, energy = _axis_components(symbols, modulation)
    noise_var = np.asarray(noise_var, dtype=np.float32)
    if noise_var.size and not (np.all(noise_var > 0) and np.all(np.isfinite(noise_var))):
        raise ValueError("noise_var must be positive and finite")
    try:
        # grid distances^2 are E times the true ones; 4 from the sign-bit formula below
        inv_scale = np.broadcast_to(
            np.float32(4.0 / energy) / noise_var, z.shape[:-1]
        )[..., None, None]
    except ValueError:
        raise ValueError(
            f"noise_var of shape {noise_var.shape} does not broadcast to symbols of shape "
            f"{z.shape[:-1]}"
        ) from None
    out = np.empty(z.shape + (k_axis,), dtype=np.float32)  # [..., n, axes, k_axis]
    # Work with w = -z so that the LLR of each bit carries the sign of w. With
    # a = 2c + 1 the odd level nearest to |w| in [1, L-1], the sign-bit LLR on the grid is
    # -sign(z) (1 + a)(2|z| + 1 - a) = sign(w) * 4 (1 + c)(|w| - c); the factor 4 is
    # folded into the final scale. The last (L = 2) level reduces to w itself.
    w = np.negative(z, out=z)
    for j in range(k_axis):
        num_levels = 1 << (k_axis - j)
        if num_levels == 2:
            out[..., j] = w
            break
        mag = np.abs(w)
        c = np.multiply(mag, np.float32(0.5))
        np.floor(c, out=c)
        np.minimum(c, np.float32(num_levels // 2 - 1), out=c)
        t = np.subtract(mag, c)
        c += np.float32(1.0)
        t *= c
        np.copysign(t, w, out=out[..., j])
        # remaining bits: L/2-level Gray PAM at z' = L/2 - |z|, i.e. w' = |w| - L/2
        w = np.subtract(mag, np.float32(num_levels // 2), out=mag)
    out *= inv_scale
    return out.reshape(out.shape[:-3] + (-1,))
