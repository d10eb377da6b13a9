"""The transmitter: a batch of payloads -> one continuous complex64 IQ stream of frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import ModemConfig, OfdmConfig
from . import frame as fr
from .coding import crc32, scramble, scrambling_sequence
from .ofdm import map_resource_grid, ofdm_modulate, pilot_values
from .preamble import preamble
from .qam import map_bits

PAD_SEED = 0x33


@dataclass(frozen=True)
class TxBurst:
    """A transmitted burst.

    iq            : complex64 [num_samples]; mean power ``modem.tx_power`` inside frames,
                    zeros in the gaps (``modem.gap_samples`` before every frame and after the last)
    frame_starts  : int64 [num_frames], index of each frame's first sample (start of the preamble)
    frame_lengths : int64 [num_frames], samples per frame
    seqs          : int64 [num_frames], header sequence numbers
    """

    iq: np.ndarray
    frame_starts: np.ndarray
    frame_lengths: np.ndarray
    seqs: np.ndarray


def _pad_symbols(num: int) -> np.ndarray:
    """complex64 [num]: fixed unit-power QPSK that fills unused data REs of the last symbol."""
    return map_bits(scrambling_sequence(2 * num, seed=PAD_SEED), "qpsk")


def _payload_res(payloads: list, modem: ModemConfig) -> tuple[int, np.ndarray]:
    """(header length field, complex64 [B, num_res]) for B payloads of one size.

    analog : complex arrays [k] of semantic symbols (unit mean power expected, not enforced)
    digital: bytes (or uint8 arrays); CRC-32 is appended, bits are scrambled and Gray-mapped
    """
    if modem.mode == "analog":
        res = np.stack([np.asarray(p, np.complex64).reshape(-1) for p in payloads])
        return res.shape[1], res
    data = [bytes(p) for p in payloads]
    raw = np.frombuffer(b"".join(d + crc32(d).to_bytes(4, "big") for d in data), np.uint8)
    bits = scramble(np.unpackbits(raw.reshape(len(data), -1), axis=1))
    bits = np.pad(bits, ((0, 0), (0, (-bits.shape[1]) % modem.bits_per_symbol)))
    return len(data[0]), map_bits(bits, modem.modulation)


def _frame_bodies(payloads: list, seqs: np.ndarray, ofdm: OfdmConfig, modem: ModemConfig) -> np.ndarray:
    """complex64 [B, body_length]: header and payload OFDM symbols (everything after the
    preamble) for B payloads of one size, at unit mean power."""
    kind = fr.kind_code(modem.mode, modem.modulation)
    length, res = _payload_res(payloads, modem)
    if length > fr.MAX_LENGTH:
        unit = "complex symbols" if modem.mode == "analog" else "bytes"
        raise ValueError(f"payload of {length} {unit} is too long for one frame: allowed [0, {fr.MAX_LENGTH}]")
    batch, nd, nh = res.shape[0], ofdm.num_data_carriers, fr.num_header_symbols(ofdm)
    num_pay = fr.num_payload_symbols(ofdm, kind, length)
    # data REs [B, header + payload symbols, num_data]: header, payload, fixed padding
    data = np.empty((batch, nh + num_pay, nd), np.complex64)
    data[:, :nh] = fr.header_symbols(seqs, kind, length, ofdm)
    flat = data[:, nh:].reshape(batch, -1)
    flat[:, :res.shape[1]] = res
    flat[:, res.shape[1]:] = _pad_symbols(flat.shape[1] - res.shape[1])
    data[:, nh:] = flat.reshape(batch, num_pay, nd)
    return ofdm_modulate(map_resource_grid(data, ofdm, pilot_values(ofdm, nh + num_pay)), ofdm)


def payload_size(payload, modem: ModemConfig) -> int:
    return len(payload) if modem.mode == "digital" else int(np.asarray(payload).size)


def transmit(payloads, ofdm: OfdmConfig, modem: ModemConfig, first_seq: int = 0) -> TxBurst:
    """Frame every payload and concatenate the frames, with ``modem.gap_samples`` zeros between
    them and at both ends. Payloads of equal size are framed together in one batch.

    payloads: sequence of analog symbol arrays or digital byte strings (see :func:`_payload_res`).
    """
    payloads = list(payloads)
    gap, pre = modem.gap_samples, preamble(ofdm)
    seqs = (first_seq + np.arange(len(payloads), dtype=np.int64)) & 0xFFFF
    sizes = np.array([payload_size(p, modem) for p in payloads], np.int64)
    groups = [np.flatnonzero(sizes == s) for s in np.unique(sizes)]
    bodies = [_frame_bodies([payloads[i] for i in idx], seqs[idx], ofdm, modem) for idx in groups]
    lengths = np.zeros(len(payloads), np.int64)
    for idx, body in zip(groups, bodies):
        lengths[idx] = pre.size + body.shape[1]
    starts = gap + np.concatenate([[0], np.cumsum(lengths + gap)[:-1]]).astype(np.int64)[:len(payloads)]
    iq = np.zeros(int(lengths.sum()) + gap * (len(payloads) + 1), np.complex64)
    if len(groups) == 1:
        # equal frames: write through a [B, frame + gap] view of the stream
        view = iq[gap:].reshape(len(payloads), -1)
        view[:, :pre.size] = pre
        view[:, pre.size:lengths[0]] = bodies[0]
    else:
        for idx, body in zip(groups, bodies):
            for j, i in enumerate(idx):
                iq[starts[i]:starts[i] + pre.size] = pre
                iq[starts[i] + pre.size:starts[i] + lengths[i]] = body[j]
    if modem.tx_power != 1.0:
        iq *= np.float32(np.sqrt(modem.tx_power))
    return TxBurst(iq, starts, lengths, seqs)
