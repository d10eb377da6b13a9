"""The conventional digital link, the baseline the semantic link is compared with.

Each image travels as a packet of bits, the textbook way (separate source and channel coding)::

    image -> PNG bytes (lossless) -> + CRC-32 -> scramble -> rate-1/2 K=7 convolutional code
          -> stride interleaver -> Gray QAM  ==[ channel ]==>  max-log LLRs (with the
          equaliser's no_eff) -> deinterleave -> soft Viterbi -> descramble -> CRC check -> PNG
          decode -> the semantic link's classifier

It uses the PHY's own coding and modulation (``semcom_phy.phy.coding``, ``semcom_phy.phy.qam``:
the 802.11 scrambler, code and mapping the OFDM digital mode is built from). A packet whose CRC
fails is lost: the receiver shows a blank image and the classifier classifies that. The bits per
image depend on how well PNG compresses it (about 520 bytes: some 4200 QPSK symbols coded, 32
times the semantic link's 128), so the comparison is at equal SNR per symbol, not equal bandwidth;
:attr:`DigitalLinkModel.num_symbols` reports the cost.

:class:`DigitalLinkModel` has :class:`~semcom_phy.symbol_link.SymbolLink`'s interface, so the
evaluation scores it like any defense. A received image is either exactly the sent one or lost,
so its gradient is the identity (straight-through): image attacks (T1) are white-box PGD on the
classifier through the channel. Air attacks (T2) have no gradient through hard decisions and
Viterbi; :func:`burst_air` is the structured attack a CRC-checked packet cannot survive, and
:func:`jamming` the Gaussian control, both at a PSR relative to each packet's own energy.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .symbol_link import SymbolLink
from .validation import check_field
from .phy.coding import conv_encode, crc32, scramble, viterbi_decode
from .phy.qam import MODULATIONS, bits_per_symbol, demap_soft, map_bits
from .purify import Defense, DefenseConfig
from .semantic import SemanticCodec, symbol_channel

__all__ = ["DigitalConfig", "DigitalLinkModel", "burst_air", "jamming", "image_to_png", "png_to_image"]

MAX_PACKET_BYTES = 1024                  # a 28x28 8-bit PNG with CRC-32 fits (largest seen: 818)
_PAD_LLR = 1e4                           # LLR that pins the Viterbi path to state 0 after a short packet


@dataclass(frozen=True)
class DigitalConfig:
    """``modulation``: Gray QAM of the coded bits; ``coded``: the rate-1/2 K=7 convolutional code
    (False: uncoded, one bit error loses the packet)."""

    modulation: str = "qpsk"
    coded: bool = True

    def __post_init__(self):
        check_field(self, "modulation", choices=tuple(MODULATIONS))
        if not isinstance(self.coded, bool):
            raise ValueError(f"DigitalConfig.coded = {self.coded!r}: must be true or false")

    @property
    def evaluations_per_image(self) -> int:
        """Network evaluations per image besides the classifier (none: the comparison's cost axis)."""
        return 0

    def coded_bits(self, num_bytes: int) -> int:
        bits = 8 * num_bytes
        return 2 * (bits + 6) if self.coded else bits

    def num_symbols(self, num_bytes: int) -> int:
        return math.ceil(self.coded_bits(num_bytes) / bits_per_symbol(self.modulation))


def image_to_png(x: np.ndarray) -> bytes:
    """uint8 [28, 28] -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(x).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def png_to_image(data: bytes) -> np.ndarray | None:
    """PNG bytes -> uint8 [28, 28], or None when they do not decode to a 28x28 grey image."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception:                    # noqa: BLE001 - any decoder failure means a lost image
        return None
    return np.asarray(img) if img.mode == "L" and img.size == (28, 28) else None


@functools.lru_cache(maxsize=4096)
def _interleaver(n: int) -> np.ndarray:
    """int64 [n]: transmitted position -> coded-bit index (a stride permutation: coded bits next
    to each other in the trellis land about sqrt(n) positions apart, on different symbols and, over
    OFDM, different carriers)."""
    step = next(s for s in range(max(2, math.isqrt(n)), 2 * n + 3) if math.gcd(s, n) == 1) if n > 1 else 1
    order = (np.arange(n) * step) % n
    order.flags.writeable = False
    return order


class DigitalLinkModel(SymbolLink):
    """The digital link at ``snr_db`` (AWGN, or Rayleigh per symbol after ZF equalisation), with
    :class:`~semcom_phy.symbol_link.SymbolLink`'s call: ``model(x, delta_air, generator) -> (x_hat,
    logits)``. ``delta_air``: complex [B, :attr:`capacity`], added to each packet's symbols (the
    entries past a packet's length are not transmitted). Classification by ``codec``'s classifier."""

    def __init__(self, codec: SemanticCodec, snr_db: float, fading: bool = False, cfg: DigitalConfig = DigitalConfig()):
        super().__init__(Defense(DefenseConfig("none"), codec), snr_db, fading)
        self.cfg = cfg
        self.capacity = cfg.num_symbols(MAX_PACKET_BYTES)

    def __repr__(self) -> str:
        return f"DigitalLinkModel({self.cfg}, snr_db={self.snr_db:g}, fading={self.fading})"

    @property
    def num_symbols(self) -> int:
        """The largest packet's symbols; use :meth:`packets` for each image's."""
        return self.capacity

    def packets(self, x: torch.Tensor) -> list[bytes]:
        """Images float [B, 1, 28, 28] in [0, 1] -> PNG + CRC-32 packets (8-bit quantisation)."""
        pix = (x.detach()[:, 0] * 255).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
        out = []
        for p in pix:
            data = image_to_png(p)
            out.append(data + crc32(data).to_bytes(4, "big"))
        if max(map(len, out)) > MAX_PACKET_BYTES:
            raise ValueError(f"a packet of {max(map(len, out))} bytes exceeds MAX_PACKET_BYTES = {MAX_PACKET_BYTES}")
        return out

    def lengths(self, x: torch.Tensor) -> np.ndarray:
        """int64 [B]: symbols each image's packet occupies."""
        return np.array([self.cfg.num_symbols(len(p)) for p in self.packets(x)])

    def modulate(self, packets: list[bytes]) -> np.ndarray:
        """Packets -> complex64 [B, capacity] unit-power symbols (zeros past each packet)."""
        out = np.zeros((len(packets), self.capacity), np.complex64)
        bps = bits_per_symbol(self.cfg.modulation)
        for i, p in enumerate(packets):
            bits = scramble(np.unpackbits(np.frombuffer(p, np.uint8)))
            coded = conv_encode(bits) if self.cfg.coded else bits
            coded = coded[_interleaver(coded.size)]
            coded = np.concatenate([coded, np.zeros(-coded.size % bps, np.uint8)])
            sym = map_bits(coded, self.cfg.modulation)
            out[i, :sym.size] = sym
        return out

    def demodulate(self, z_hat: np.ndarray, no_eff: np.ndarray, sizes: list[int]) -> list[bytes | None]:
        """Received symbols complex [B, capacity], their noise variance float [B, capacity] and the
        packet sizes in bytes (CRC-32 included) -> the payloads whose CRC-32 passes (None: lost)."""
        llrs, nbits = [], [8 * s for s in sizes]
        for i, size in enumerate(sizes):
            n = self.cfg.coded_bits(size)
            m = self.cfg.num_symbols(size)
            llr = demap_soft(z_hat[i, :m], no_eff[i, :m], self.cfg.modulation)[:n]
            deint = np.empty(n, np.float32)
            deint[_interleaver(n)] = llr
            llrs.append(deint)
        if self.cfg.coded:
            longest = max(nbits)
            padded = np.stack([np.concatenate([l, np.full(2 * (longest - b), _PAD_LLR, np.float32)])
                               for l, b in zip(llrs, nbits)])
            bits = viterbi_decode(padded, longest)
        else:
            bits = [(l < 0).astype(np.uint8) for l in llrs]
        out = []
        for b, row in zip(nbits, bits):
            raw = np.packbits(scramble(np.asarray(row[:b], np.uint8))).tobytes()
            out.append(raw[:-4] if crc32(raw[:-4]) == int.from_bytes(raw[-4:], "big") else None)
        return out

    def __call__(self, x: torch.Tensor, delta_air: torch.Tensor | None = None,
                 generator: torch.Generator | None = None, bpda: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Send x float [B, 1, 28, 28] over the digital link -> (x_hat, logits). x_hat is the decoded
        image (blank when the packet is lost) in the forward pass and x's identity in the backward
        pass (exact wherever the packet arrives; ``bpda`` changes nothing here)."""
        if x.dim() != 4 or x.shape[1:] != (1, 28, 28):
            raise ValueError(f"x: shape {tuple(x.shape)}, expected [B, 1, 28, 28]")
        self._check_generator(generator)
        packets = self.packets(x)
        s = torch.from_numpy(self.modulate(packets)).to(x.device)
        b = len(x)
        if delta_air is not None:
            if not torch.is_complex(delta_air) or tuple(delta_air.shape) not in ((b, self.capacity), (self.capacity,)):
                raise ValueError(f"delta_air: {tuple(delta_air.shape)} {delta_air.dtype}, expected complex "
                                 f"[{b}, {self.capacity}] or [{self.capacity}]")
            s = s + delta_air.to(device=s.device, dtype=s.dtype)
        z_hat, no_eff = symbol_channel(s, torch.full((b,), self.snr_db, device=s.device),
                                       torch.full((b,), self.fading, dtype=torch.bool, device=s.device), generator)
        payloads = self.demodulate(z_hat.cpu().numpy(), no_eff.cpu().numpy(), [len(p) for p in packets])
        x_rx = torch.zeros_like(x)
        for i, data in enumerate(payloads):
            img = None if data is None else png_to_image(data)
            if img is not None:
                x_rx[i, 0] = torch.from_numpy(img.astype(np.float32) / 255)
        x_hat = x + (x_rx - x).detach()
        return x_hat, self.defense.codec.classify(x_hat)


def _budget(lengths: np.ndarray, psr_db: float) -> np.ndarray:
    return lengths * 10.0 ** (psr_db / 10.0)


def jamming(model: DigitalLinkModel, x: torch.Tensor, psr_db: float, generator: torch.Generator | None) -> torch.Tensor:
    """Gaussian jamming on each packet's symbols, scaled to exactly ``n_i 10^(psr / 10)`` (n_i:
    the packet's symbols) -> complex64 [B, capacity]."""
    n = model.lengths(x)
    v = torch.randn((len(x), model.capacity, 2), generator=generator, device=x.device)
    inside = torch.arange(model.capacity, device=x.device) < torch.from_numpy(n).to(x.device)[:, None]
    v = torch.complex(v[..., 0], v[..., 1]) * inside
    energy = v.abs().pow(2).sum(-1, keepdim=True)
    return v * torch.sqrt(torch.from_numpy(_budget(n, psr_db)).float().to(x.device)[:, None] / energy.clamp_min(1e-30))


def burst_air(model: DigitalLinkModel, x: torch.Tensor, psr_db: float, universal: bool = False) -> torch.Tensor:
    """The air attack on a CRC-checked packet: flip a burst of consecutive coded bits (in trellis
    order, through the known interleaver) from the middle of the packet on, as many as the budget
    ``n_i 10^(psr / 10)`` pays for. A flip mirrors the I or Q component that carries the bit as
    its axis' sign bit (cost ``4 a^2`` for component a); a burst longer than the code corrects
    makes the CRC fail and the image lost.

    universal=True: one perturbation for every image, blind to the data: ``+2 a_max`` (a_max: the
    constellation's largest component) on each targeted component, which flips the bits whose
    component was negative (about half); the positions and the budget come from the shortest
    packet of the batch, so the perturbation fits every image's budget. Returns complex64
    [B, capacity] (universal: one row repeated)."""
    cfg, bps = model.cfg, bits_per_symbol(model.cfg.modulation)
    packets = model.packets(x)
    s = model.modulate(packets)
    axis_bits = bps // 2 if bps > 1 else 1                  # sign bits sit at 0 (I) and bps/2 (Q)
    a_max = float(np.abs(np.stack([s.real, s.imag])).max())
    rows = [min(range(len(packets)), key=lambda i: len(packets[i]))] if universal else range(len(packets))
    delta = np.zeros_like(s)
    for i in rows:
        n = cfg.coded_bits(len(packets[i]))
        pos = np.argsort(_interleaver(n))                   # coded-bit index -> transmitted position
        energy = _budget(np.array([cfg.num_symbols(len(packets[i]))]), psr_db)[0]
        for j in range(n // 2, n):
            sym, bit = divmod(int(pos[j]), bps)
            if bit % axis_bits:
                continue                                    # not the sign bit of its axis
            unit = 1j if bit // axis_bits else 1.0          # the Q or the I component
            comp = a_max if universal else (s[i, sym] * np.conj(unit)).real
            if 4 * comp ** 2 > energy:
                break
            energy -= 4 * comp ** 2
            delta[i, sym] += (2 * a_max if universal else -2 * comp) * unit
    if universal:
        delta[:] = delta[rows[0]]
    return torch.from_numpy(delta).to(x.device)
