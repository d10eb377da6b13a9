"""The semantic link, top to bottom:

images -> [sender diffusion] -> encoder -> symbols -> OFDM frames -> transport -> stream receiver
       -> equalised symbols + no_eff -> [purification] -> decoder -> classifier -> metrics

The bracketed steps are the defense (:mod:`semcom_phy.purify.defense`); without one the link is
the plain semantic link.

Each frame carries k symbols, the size of one image's. With ``interleave`` G = 1 a frame carries
one image (its header sequence number names the image). With G > 1 the images go in groups of G
and each image's symbols are spread over the G frames of its group (a diagonal interleaver: frame
j carries, from image i, the symbols whose index n has n mod G = (i + j) mod G), so a frame lost
in a deep fade costs each of G images 1/G of its symbols, decoded as erasures (``no_eff`` =
``LOST_NOISE_VAR``), instead of costing one image everything: time diversity against block
fading, at the price of G frames of latency.

An image none of whose symbols come back is *lost*: it is reconstructed as blank, classified as
wrong and kept in every average; nothing is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .config import ModemConfig, OfdmConfig
from .metrics import accuracy, evm_db, psnr_db, ssim
from .phy import ReceivedFrame, ReceiverStats, StreamReceiver, transmit
from .purify import Defense, DefenseConfig
from .semantic import SemanticCodec
from .transport import Transport

LOST_NOISE_VAR = 10.0    # no_eff reported for the symbols of a lost frame


@dataclass
class LinkOutput:
    """Per-image results of one batch (B images, k symbols each).

    z, z_hat : complex64 [B, k] sent and received symbols (z_hat = 0 where lost)
    no_eff   : float32 [B, k] effective noise variance per symbol (LOST_NOISE_VAR where lost)
    symbol_received : bool [B, k]; received : bool [B], images with at least one symbol back
    frames_received : frames that came back (of B sent)
    x_hat : float [B, 1, 28, 28]; logits : float [B, 10]
    """

    z: np.ndarray
    z_hat: np.ndarray
    no_eff: np.ndarray
    symbol_received: np.ndarray
    frames_received: int
    x_hat: torch.Tensor
    logits: torch.Tensor
    frames: list[ReceivedFrame] = field(repr=False)
    stats: ReceiverStats

    @property
    def received(self) -> np.ndarray:
        return self.symbol_received.any(axis=1)

    def metrics(self, x: torch.Tensor, labels: torch.Tensor) -> dict:
        """accuracy (lost = wrong), PSNR and SSIM (lost = blank image), EVM of received frames."""
        valid = torch.as_tensor(self.received, device=self.logits.device)
        got = self.symbol_received
        return {
            "num_images": int(len(x)),
            "frames_sent": int(len(x)),
            "frames_received": self.frames_received,
            "images_lost": int((~self.received).sum()),
            "accuracy": accuracy(self.logits, labels, valid),
            "psnr_db": float(psnr_db(self.x_hat, x).mean()),
            "ssim": float(ssim(self.x_hat, x).mean()),
            "evm_db": evm_db(self.z_hat[got], self.z[got]) if got.any() else None,
            "snr_est_db": float(np.mean([f.snr_db for f in self.frames])) if self.frames else None,
            "cfo_est_hz": float(np.mean([f.cfo_hz for f in self.frames])) if self.frames else None,
            "header_failures": self.stats.header_failures,
        }


class SemanticLink:
    """Images through a transport and back. ``modem`` must be analog (k symbols per frame).

    ``defense``: sender diffusion and receiver purification (default: none); ``generator``: the
    torch generator of their randomness (default: seeded 0, so runs repeat); ``interleave``: the
    frames each image's symbols are spread over (1: one image per frame; see the module doc)."""

    def __init__(self, codec: SemanticCodec, transport: Transport, ofdm: OfdmConfig = OfdmConfig(),
                 modem: ModemConfig = ModemConfig(mode="analog", gap_samples=256), defense: Defense | None = None,
                 generator: torch.Generator | None = None, interleave: int = 1):
        if isinstance(interleave, bool) or not isinstance(interleave, int) or not 1 <= interleave <= 64:
            raise ValueError(f"interleave = {interleave!r}: allowed integers 1..64 (frames per image)")
        if modem.mode != "analog":
            raise ValueError(f"ModemConfig.mode = {modem.mode!r}: the semantic link needs 'analog'")
        if modem.equalizer != "zf":
            raise ValueError(f"ModemConfig.equalizer = {modem.equalizer!r}: the decoder is trained on unbiased "
                             "(ZF) symbols with their no_eff; use 'zf'")
        self.codec, self.transport, self.ofdm, self.modem = codec, transport, ofdm, modem
        self.interleave = interleave
        self.defense = defense or Defense(DefenseConfig(), codec)
        self.device = next(codec.parameters()).device
        self.generator = generator or torch.Generator(self.device).manual_seed(0)
        self._seq = 0

    @torch.no_grad()
    def run(self, x: torch.Tensor) -> LinkOutput:
        """Send images x float [B, 1, 28, 28] in [0, 1]; returns what the receiver made of them."""
        if not 1 <= len(x) <= 0xFFFF:
            raise ValueError(f"{len(x)} images in one run: allowed 1..65535 (16-bit sequence numbers)")
        z = self.defense.encode(x.to(self.device), self.generator).cpu().numpy().astype(np.complex64)  # [B, k]
        first = self._seq
        self._seq = (self._seq + len(z)) & 0xFFFF
        order = interleaver(len(z), z.shape[1], self.interleave)                    # frame slot -> z.ravel()
        burst = transmit(list(z.ravel()[order]), self.ofdm, self.modem, first_seq=first)
        rx = StreamReceiver(self.ofdm, self.modem)
        frames: list[ReceivedFrame] = []
        gap = self.modem.gap_samples
        edges = np.append(burst.frame_starts - gap, burst.iq.size)
        for a, b in zip(edges[:-1], edges[1:]):             # one send per frame, as a radio streams
            self.transport.send(burst.iq[a:b])
            frames += rx.push(self.transport.receive())
        self.transport.send(np.zeros(4 * self.ofdm.symbol_length_samples, np.complex64))   # tail
        frames += rx.push(self.transport.drain()) + rx.flush()

        k = z.shape[1]
        z_hat = np.zeros(z.size, np.complex64)
        no_eff = np.full(z.size, LOST_NOISE_VAR, np.float32)
        got = np.zeros(z.size, bool)
        frame_ok = np.zeros(len(z), bool)
        for f in frames:
            j = (f.seq - first) & 0xFFFF
            if j < len(z) and f.symbols.size >= k and not frame_ok[j]:
                idx = order[j]
                z_hat[idx], no_eff[idx], got[idx], frame_ok[j] = f.symbols[:k], f.no_eff[:k], True, True
        z_hat, no_eff, got = z_hat.reshape(z.shape), no_eff.reshape(z.shape), got.reshape(z.shape)
        x_hat, logits = self.defense.decode(torch.from_numpy(z_hat).to(self.device),
                                            torch.from_numpy(no_eff).to(self.device), self.generator)
        x_hat[torch.from_numpy(~got.any(1)).to(self.device)] = 0.0                       # lost: blank
        return LinkOutput(z, z_hat, no_eff, got, int(frame_ok.sum()), x_hat, logits, frames, rx.stats)


def interleaver(num_images: int, k: int, depth: int) -> np.ndarray:
    """int64 [num_images, k]: row j lists the indices into ``z.ravel()`` (z: [num_images, k]) that
    frame j carries. Images go in groups of ``depth`` (the last group may be smaller, g images);
    frame j of a group carries from its image i the symbols n with n mod g = (i + j) mod g, in
    order, so every frame carries k symbols and every image's symbols spread over g frames.
    ``depth`` 1 is the identity (frame j carries image j)."""
    order = np.empty((num_images, k), np.int64)
    n = np.arange(k)
    for start in range(0, num_images, depth):
        g = min(depth, num_images - start)
        for j in range(g):
            order[start + j] = np.concatenate([(start + i) * k + n[n % g == (i + j) % g] for i in range(g)])
    return order
