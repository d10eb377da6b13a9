"""Frame layout and the header.

A frame is ``preamble | header symbols | payload symbols``, every OFDM symbol after the
preamble with a CP and pilots. The header carries 32 bits, protected by CRC-16/CCITT and the
rate-1/2 K=7 convolutional code (BPSK; every coded bit sent at least ``HEADER_REPETITION``
times, the copies filling whole header symbols and spread over carriers by a fixed interleaver,
so the header stays decodable in fades a few dB deeper than the analog payload it describes):

==========  =====  ==============================================================
field       bits   meaning
==========  =====  ==============================================================
seq         16     sequence number (wraps at 65536)
kind        3      0 analog, 1 BPSK, 2 QPSK, 3 16-QAM, 4 64-QAM
length      13     analog: complex symbols; digital: payload bytes (CRC-32 excluded)
crc         16     CRC-16/CCITT-FALSE over the 4 bytes above
==========  =====  ==============================================================
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..config import MODULATIONS, OfdmConfig
from .coding import conv_encode, crc16, viterbi_decode
from .qam import map_bits

HEADER_INFO_BITS = 32
HEADER_BITS = HEADER_INFO_BITS + 16
HEADER_CODED_BITS = 2 * (HEADER_BITS + 6)
HEADER_REPETITION = 2     # copies of each coded bit, at least (5 header symbols with 48 data carriers)
MAX_LENGTH = (1 << 13) - 1
KINDS = ("analog",) + tuple(MODULATIONS)   # header kind code = index
PAYLOAD_CRC_BYTES = 4
HEADER_AGREEMENT = 0.7    # share of header REs whose hard decision must match the decoded header, re-encoded


def kind_code(mode: str, modulation: str) -> int:
    return 0 if mode == "analog" else KINDS.index(modulation)


def num_header_symbols(cfg: OfdmConfig) -> int:
    return math.ceil(HEADER_REPETITION * HEADER_CODED_BITS / cfg.num_data_carriers)


def _interleaver(cfg: OfdmConfig) -> np.ndarray:
    """int64 [num_header_REs]: coded-bit index carried by each header RE (repeat + spread)."""
    n = num_header_symbols(cfg) * cfg.num_data_carriers
    step = next(s for s in (7, 11, 13, 17, 19, 23) if math.gcd(s, n) == 1)
    order = np.empty(n, np.int64)
    order[(np.arange(n) * step) % n] = np.arange(n) % HEADER_CODED_BITS
    return order


@functools.lru_cache(maxsize=8)
def _combiner(cfg: OfdmConfig) -> np.ndarray:
    """float32 [num_header_REs, HEADER_CODED_BITS]: 1 where an RE carries a coded bit."""
    order = _interleaver(cfg)
    m = np.zeros((order.size, HEADER_CODED_BITS), np.float32)
    m[np.arange(order.size), order] = 1.0
    return m


def payload_num_res(kind: int, length: int) -> int:
    """Resource elements a payload occupies (before padding to whole symbols)."""
    if kind == 0:
        return length
    bits = 8 * (length + PAYLOAD_CRC_BYTES)
    return math.ceil(bits / MODULATIONS[KINDS[kind]])


def num_payload_symbols(cfg: OfdmConfig, kind: int, length: int) -> int:
    return math.ceil(payload_num_res(kind, length) / cfg.num_data_carriers)


@functools.lru_cache(maxsize=64)
def frame_length_samples(cfg: OfdmConfig, kind: int, length: int) -> int:
    """Samples of a whole frame (preamble, header and payload symbols with their CPs)."""
    from .preamble import preamble_length

    return preamble_length(cfg) + (num_header_symbols(cfg) + num_payload_symbols(cfg, kind, length)) * \
        cfg.symbol_length_samples


def header_bits(seqs, kind: int, length: int) -> np.ndarray:
    """uint8 [B, 48]: the header fields and their CRC-16, MSB first, for sequence numbers
    ``seqs`` [B] and one kind and length."""
    if not 0 <= length <= MAX_LENGTH:
        raise ValueError(f"payload length {length} is out of range: allowed [0, {MAX_LENGTH}] "
                         "(analog: complex symbols, digital: bytes)")
    word = ((np.asarray(seqs, np.int64).reshape(-1) & 0xFFFF) << 16) | (kind << 13) | length
    info = (word[:, None] >> np.array([24, 16, 8, 0])).astype(np.uint8)          # [B, 4], big-endian
    crc = np.array([crc16(row.tobytes()) for row in info], np.int64).reshape(-1, 1)
    return np.unpackbits(np.concatenate([info, (crc >> np.array([8, 0])).astype(np.uint8)], axis=1), axis=1)


def encode_headers(seqs, kind: int, length: int, cfg: OfdmConfig) -> np.ndarray:
    """uint8 [B, num_header_symbols * num_data_carriers]: coded, repeated, interleaved header bits
    for frames with sequence numbers ``seqs`` [B] and one kind and length."""
    return conv_encode(header_bits(seqs, kind, length))[:, _interleaver(cfg)]


def header_symbols(seqs: np.ndarray, kind: int, length: int, cfg: OfdmConfig) -> np.ndarray:
    """complex64 [B, num_header_symbols, num_data_carriers]: the BPSK data REs of the headers."""
    bits = encode_headers(seqs, kind, length, cfg)
    return map_bits(bits, "bpsk").reshape(len(seqs), num_header_symbols(cfg), cfg.num_data_carriers)


def decode_headers(llr: np.ndarray, cfg: OfdmConfig):
    """Soft-decode a batch of headers.

    llr : float [B, num_header_symbols, num_data_carriers] (positive = bit 0)
    returns (seq, kind, length, ok): int arrays [B] and bool [B]; ``ok`` needs the CRC to pass,
    the fields to be valid and the header, re-encoded, to match at least ``HEADER_AGREEMENT`` of
    the received REs' hard decisions (a true header at the lowest SNR it decodes at matches
    about 80 %, what noise or an interferer decodes to about 55 %: with the CRC-16, a false
    header passes less often than once in 10^10 decodes).
    """
    batch = llr.shape[0]
    # sum the LLRs of repeated copies: [B, REs] @ [REs, coded bits] -> [B, coded bits]
    combined = llr.reshape(batch, -1).astype(np.float32) @ _combiner(cfg)
    bits = viterbi_decode(combined, HEADER_BITS)
    raw = np.packbits(bits, axis=1)                                  # [B, 6] bytes
    word = raw[:, :4].astype(np.int64) @ (1 << np.array([24, 16, 8, 0]))
    seq, kind, length = word >> 16, (word >> 13) & 7, word & MAX_LENGTH
    crc = raw[:, 4].astype(np.int64) << 8 | raw[:, 5]
    ok = np.array([crc16(r[:4].tobytes()) == c for r, c in zip(raw, crc)], bool) & (kind < len(KINDS))
    ok[ok] = header_agreement(llr[ok], conv_encode(bits[ok])[:, _interleaver(cfg)]) >= HEADER_AGREEMENT
    return seq, kind, length, ok


def header_agreement(llr: np.ndarray, coded: np.ndarray) -> np.ndarray:
    """float [B]: the share of header REs whose LLR sign (llr [B, H, D], positive = bit 0) matches
    ``coded`` uint8 [B, H * D] (:func:`encode_headers`)."""
    hard = (llr.reshape(len(llr), coded.shape[1]) < 0).astype(np.uint8)
    return np.mean(hard == coded, axis=1)
