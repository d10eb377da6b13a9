"""Bit/byte helpers, CRCs, the IEEE 802.11 convolutional code with a soft Viterbi
decoder, and the IEEE 802.11 data scrambler.

Conventions: bits are ``uint8`` 0/1, MSB first within a byte; LLRs follow
``LLR = log P(b=0|y) / P(b=1|y)`` (positive means bit 0), as produced by
:func:`semcom_phy.phy.qam.demap_soft`.
"""

from __future__ import annotations

import binascii
import functools
import zlib

import numpy as np

from ..validation import check_bits, check_int, check_seed

__all__ = [
    "CONSTRAINT_LENGTH",
    "NUM_TAIL_BITS",
    "GENERATORS_OCTAL",
    "bytes_to_bits",
    "bits_to_bytes",
    "crc16",
    "crc32",
    "conv_encode",
    "viterbi_decode",
    "scrambling_sequence",
    "scramble",
]

CONSTRAINT_LENGTH = 7
NUM_TAIL_BITS = CONSTRAINT_LENGTH - 1
GENERATORS_OCTAL = (0o133, 0o171)  # IEEE 802.11 17.3.5.6: g0 = 133, g1 = 171 (octal)
_NUM_STATES = 1 << NUM_TAIL_BITS  # 64


# --------------------------------------------------------------------------- bits/bytes

def _as_bytes(data, name: str = "data") -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    arr = np.asarray(data)
    if arr.dtype != np.uint8:
        raise ValueError(f"{name} must be bytes or a uint8 array, got dtype {arr.dtype}")
    return arr.tobytes()


def bytes_to_bits(data) -> np.ndarray:
    """Unpack bytes into bits, MSB first.

    Parameters
    ----------
    data : bytes | bytearray | uint8 [..., n]
        Bytes, or a uint8 array batched over leading axes.

    Returns
    -------
    bits : uint8 [..., 8 * n]
        0/1 values; byte ``i`` becomes bits ``8i .. 8i+7``, most significant first.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        arr = np.frombuffer(bytes(data), dtype=np.uint8)
    else:
        arr = np.asarray(data)
        if arr.dtype != np.uint8:
            raise ValueError(f"data must be bytes or a uint8 array, got dtype {arr.dtype}")
        if arr.ndim == 0:
            raise ValueError("data must have at least one axis, got a scalar")
    return np.unpackbits(arr, axis=-1)


def bits_to_bytes(bits) -> bytes:
    """Pack bits (MSB first) into bytes; inverse of :func:`bytes_to_bits`.

    Parameters
    ----------
    bits : uint8 [8 * n]
        0/1 values, one dimension, length a multiple of 8.

    Returns
    -------
    bytes
        ``n`` bytes.
    """
    bits = np.asarray(bits)
    if bits.ndim != 1:
        raise ValueError(f"bits must be one-dimensional, got shape {bits.shape}")
    if bits.shape[0] % 8:
        raise ValueError(f"bits length must be a multiple of 8, got {bits.shape[0]}")
    if bits.size:                                  # [] (float64 to numpy) packs to b""
        bits = check_bits(bits)
    return np.packbits(bits.astype(np.uint8, copy=False)).tobytes()


# --------------------------------------------------------------------------- CRCs

def crc16(data) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR).

    Parameters
    ----------
    data : bytes | bytearray | uint8 [n]

    Returns
    -------
    int
        In ``[0, 0xFFFF]``; ``crc16(b"123456789") == 0x29B1``.
    """
    return binascii.crc_hqx(_as_bytes(data), 0xFFFF)


def crc32(data) -> int:
    """CRC-32 (IEEE 802.3, as ``zlib.crc32``).

    Parameters
    ----------
    data : bytes | bytearray | uint8 [n]

    Returns
    -------
    int
        In ``[0, 0xFFFFFFFF]``; ``crc32(b"123456789") == 0xCBF43926``.
    """
    return zlib.crc32(_as_bytes(data)) & 0xFFFFFFFF


# --------------------------------------------------------------------------- convolutional code

def _taps(generator: int) -> np.ndarray:
    """Delays (0 .. 6) at which ``generator`` taps the input; octal MSB = delay 0."""
    return np.array([d for d in range(CONSTRAINT_LENGTH)
                     if (generator >> (CONSTRAINT_LENGTH - 1 - d)) & 1])


def conv_encode(bits) -> np.ndarray:
    """Rate-1/2, K=7 convolutional encoder of IEEE 802.11 (17.3.5.6), terminated.

    Generators g0 = 133 and g1 = 171 (octal); the encoder starts in the all-zero state
    and appends 6 zero tail bits itself, so it also ends in the all-zero state.

    Parameters
    ----------
    bits : uint8 [..., n]
        Information bits (0/1), batched over leading axes.

    Returns
    -------
    coded : uint8 [..., 2 * (n + 6)]
        Per input bit ``t`` (tail included): ``coded[..., 2t]`` is the g0 (133) output
        "A", ``coded[..., 2t+1]`` the g1 (171) output "B".
    """
    bits = check_bits(bits)
    n = bits.shape[-1]
    lead = bits.shape[:-1]
    # u : [..., NUM_TAIL_BITS zeros (initial state) | n info bits | NUM_TAIL_BITS tail zeros]
    u = np.zeros(lead + (n + 2 * NUM_TAIL_BITS,), dtype=np.uint8)
    u[..., NUM_TAIL_BITS:NUM_TAIL_BITS + n] = bits
    length = n + NUM_TAIL_BITS
    out = np.zeros(lead + (length, 2), dtype=np.uint8)
    for g, generator in enumerate(GENERATORS_OCTAL):
        for delay in _taps(generator):
            # output t uses u[t - delay] -> padded index t + NUM_TAIL_BITS - delay
            start = NUM_TAIL_BITS - delay
            out[..., g] ^= u[..., start:start + length]
    return out.reshape(lead + (2 * length,))


def _butterfly_signs() -> np.ndarray:
    """+-1 signs of the g0/g1 outputs of the 32 butterflies: float64 [2, 32].

    State s (0..63) holds the previous 6 inputs, bit 5 = most recent. New state
    s' = (b << 5) | (s >> 1), so s' = j and s' = j + 32 share predecessors 2j and 2j+1.
    Both generators tap delay 0 and delay 6, so the branch (pred 2j+x, input b) emits
    c_j XOR x XOR b, with c_j the output of (pred 2j, input 0).
    """
    j = np.arange(_NUM_STATES // 2)
    register = (j << 1)  # 7-bit register [u_t, u_{t-1}, ..., u_{t-6}] for pred 2j, input 0
    signs = np.empty((2, j.size))
    for g, generator in enumerate(GENERATORS_OCTAL):
        masked = register & generator
        parity = np.zeros_like(j)
        for bit in range(CONSTRAINT_LENGTH):
            parity ^= (masked >> bit) & 1
        signs[g] = 1.0 - 2.0 * parity  # correlation with the LLR: +L for bit 0, -L for bit 1
    return signs


_SIGNS = _butterfly_signs()


def viterbi_decode(llr, num_bits: int) -> np.ndarray:
    """Soft-decision Viterbi decoder for :func:`conv_encode` (terminated trellis).

    Maximises the correlation ``sum_t sum_g (1 - 2 c_{t,g}) LLR_{t,g}``, which is the
    maximum-likelihood path for LLR inputs. Starts and ends in state 0. Vectorised over
    the batch: one loop over trellis steps with [B, 32]-butterfly numpy operations,
    and a traceback vectorised over B. Punctured / missing bits can be passed as LLR 0.

    Parameters
    ----------
    llr : float [..., 2 * (num_bits + 6)]
        Coded-bit LLRs in :func:`conv_encode` order, positive means bit 0; batched over
        leading axes (typically [B, 2 * (num_bits + 6)]).
    num_bits : int
        Number of information bits per frame (tail excluded), >= 0.

    Returns
    -------
    bits : uint8 [..., num_bits]
        Decoded information bits.
    """
    num_bits = check_int(num_bits, "num_bits", 0)
    llr = np.asarray(llr)
    if llr.ndim == 0 or not (np.issubdtype(llr.dtype, np.floating)
                             or np.issubdtype(llr.dtype, np.integer)):
        raise ValueError(f"llr must be a real array [..., 2 * (num_bits + 6)], got "
                         f"dtype {llr.dtype} shape {llr.shape}")
    num_steps = int(num_bits) + NUM_TAIL_BITS
    if llr.shape[-1] != 2 * num_steps:
        raise ValueError(f"llr last-axis length must be 2 * (num_bits + 6) = {2 * num_steps} "
                         f"for num_bits={num_bits}, got {llr.shape[-1]}")
    lead = llr.shape[:-1]
    llr2 = llr.reshape(-1, num_steps, 2)  # [B, T, 2]
    batch = llr2.shape[0]
    if batch == 0 or num_bits == 0:
        return np.zeros(lead + (num_bits,), dtype=np.uint8)

    # butterfly metric of (pred 2j, input 0) at step t: s0 * llr[t, 0] + s1 * llr[t, 1], [32, B],
    # formed step by step (a [T, 32, B] table would be hundreds of MB for long packets)
    llr_t = np.ascontiguousarray(llr2.astype(np.float32).transpose(1, 2, 0))       # [T, 2, B]
    s0, s1 = (_SIGNS[g].astype(np.float32)[:, None] for g in (0, 1))

    half = _NUM_STATES // 2
    pm = np.full((_NUM_STATES, batch), -np.inf, np.float32)
    pm[0] = 0.0
    new = np.empty_like(pm)
    a0, a1 = np.empty((half, batch), np.float32), np.empty((half, batch), np.float32)
    m, m1 = np.empty((half, batch), np.float32), np.empty((half, batch), np.float32)
    decisions = np.empty((num_steps, _NUM_STATES, batch), dtype=bool)  # True: odd pred
    for t in range(num_steps):
        np.multiply(s0, llr_t[t, 0], out=m)
        np.multiply(s1, llr_t[t, 1], out=m1)
        m += m1
        even = pm[0::2]          # rows are contiguous over the batch
        odd = pm[1::2]
        # s' = j (input 0): from 2j with +m, from 2j+1 with -m; s' = j+32: the opposite
        np.add(even, m, out=a0)
        np.subtract(odd, m, out=a1)
        np.greater(a1, a0, out=decisions[t, :half])
        np.maximum(a0, a1, out=new[:half])
        np.subtract(even, m, out=a0)
        np.add(odd, m, out=a1)
        np.greater(a1, a0, out=decisions[t, half:])
        np.maximum(a0, a1, out=new[half:])
        pm, new = new, pm

    # traceback from state 0 (terminated trellis)
    rows = np.arange(batch)
    state = np.zeros(batch, dtype=np.intp)
    out = np.empty((batch, num_steps), dtype=np.uint8)
    for t in range(num_steps - 1, -1, -1):
        out[:, t] = state >> 5  # input bit that led into `state`
        state = ((state & (half - 1)) << 1) | decisions[t, state, rows]
    return out[:, :num_bits].reshape(lead + (num_bits,))


# --------------------------------------------------------------------------- scrambler

_SCRAMBLER_PERIOD = 127


@functools.lru_cache(maxsize=128)
def _scrambler_period(seed: int) -> np.ndarray:
    """One 127-bit period of the x^7 + x^4 + 1 scrambler from ``seed`` (read-only)."""
    state = seed
    out = np.empty(_SCRAMBLER_PERIOD, dtype=np.uint8)
    for i in range(_SCRAMBLER_PERIOD):  # constant-size LFSR table, once per seed
        bit = ((state >> 6) ^ (state >> 3)) & 1  # x7 XOR x4
        out[i] = bit
        state = ((state << 1) | bit) & 0x7F      # shift, feed back into x1
    out.setflags(write=False)
    return out


def scrambling_sequence(num_bits: int, seed: int = 0x5D) -> np.ndarray:
    """IEEE 802.11 (17.3.5.5) scrambling sequence, generator x^7 + x^4 + 1.

    Each output bit is ``x7 XOR x4`` of the 7-bit state, which is then shifted
    (x_i -> x_{i+1}) with that bit fed back into x1. ``seed`` holds x1 in its least
    significant bit and x7 in bit 6. The sequence has period 127; seed ``0x7F`` (all
    ones) gives the standard's ``00001110 11110010 11001001 ...`` and the default seed
    ``0x5D`` (1011101) the one of the standard's Annex example (I.1.5.2).

    Parameters
    ----------
    num_bits : int
        Length, >= 0.
    seed : int
        Initial state, in [1, 127].

    Returns
    -------
    sequence : uint8 [num_bits]
    """
    seed = check_seed(seed, lo=1, hi=0x7F)
    num_bits = check_int(num_bits, "num_bits", 0)
    return np.resize(_scrambler_period(seed), int(num_bits))


def scramble(bits, seed: int = 0x5D) -> np.ndarray:
    """XOR ``bits`` with :func:`scrambling_sequence` along the last axis (self-inverse).

    Parameters
    ----------
    bits : uint8 [..., n]
        0/1 values, batched over leading axes (every row uses the same sequence).
    seed : int
        Initial scrambler state, in [1, 127].

    Returns
    -------
    scrambled : uint8 [..., n]
        ``scramble(scramble(bits, seed), seed) == bits``.
    """
    bits = check_bits(bits)
    return (bits ^ scrambling_sequence(bits.shape[-1], seed)).astype(np.uint8, copy=False)
