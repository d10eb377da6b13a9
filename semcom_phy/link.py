"""The semantic link, top to bottom:

images -> [sender diffusion] -> encoder -> symbols -> OFDM frames -> transport -> stream receiver
       -> equalised symbols + no_eff -> [purification] -> decoder -> classifier -> metrics

The bracketed steps are the defense (:mod:`semcom_phy.purify.defense`); without one the link is
the plain semantic link.

One image per frame (its header sequence number names the image). A frame that does not come
back is *lost*: its image is reconstructed as blank, classified as wrong and kept in every
average; nothing is dropped silently.
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
    no_eff   : float32 [B, k] effective noise variance per received symbol
    received : bool [B]; x_hat : float [B, 1, 28, 28]; logits : float [B, 10]
    """

    z: np.ndarray
    z_hat: np.ndarray
    no_eff: np.ndarray
    received: np.ndarray
    x_hat: torch.Tensor
    logits: torch.Tensor
    frames: list[ReceivedFrame] = field(repr=False)
    stats: ReceiverStats

    def metrics(self, x: torch.Tensor, labels: torch.Tensor) -> dict:
        """accuracy (lost = wrong), PSNR and SSIM (lost = blank image), EVM of received frames."""
        valid = torch.as_tensor(self.received, device=self.logits.device)
        got = self.received
        return {
            "num_images": int(len(x)),
            "frames_sent": int(len(x)),
            "frames_received": int(got.sum()),
            "accuracy": accuracy(self.logits, labels, valid),
            "psnr_db": float(psnr_db(self.x_hat, x).mean()),
            "ssim": float(ssim(self.x_hat, x).mean()),
            "evm_db": evm_db(self.z_hat[got], self.z[got]) if got.any() else None,
            "snr_est_db": float(np.mean([f.snr_db for f in self.frames])) if self.frames else None,
            "header_failures": self.stats.header_failures,
        }


class SemanticLink:
    """Images through a transport and back. ``modem`` must be analog (one image per frame).

    ``defense``: sender diffusion and receiver purification (default: none); ``generator``: the
    torch generator of their randomness (default: seeded 0, so runs repeat)."""

    def __init__(self, codec: SemanticCodec, transport: Transport, ofdm: OfdmConfig = OfdmConfig(),
                 modem: ModemConfig = ModemConfig(mode="analog", gap_samples=256), defense: Defense | None = None,
                 generator: torch.Generator | None = None):
        if modem.mode != "analog":
            raise ValueError(f"ModemConfig.mode = {modem.mode!r}: the semantic link needs 'analog'")
        if modem.equalizer != "zf":
            raise ValueError(f"ModemConfig.equalizer = {modem.equalizer!r}: the decoder is trained on unbiased "
                             "(ZF) symbols with their no_eff; use 'zf'")
        self.codec, self.transport, self.ofdm, self.modem = codec, transport, ofdm, modem
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
        burst = transmit(list(z), self.ofdm, self.modem, first_seq=first)
        rx = StreamReceiver(self.ofdm, self.modem)
        frames: list[ReceivedFrame] = []
        gap = self.modem.gap_samples
        edges = np.append(burst.frame_starts - gap, burst.iq.size)
        for a, b in zip(edges[:-1], edges[1:]):             # one send per frame, as a radio streams
            self.transport.send(burst.iq[a:b])
            frames += rx.push(self.transport.receive())
        self.transport.send(np.zeros(4 * self.ofdm.symbol_length_samples, np.complex64))   # tail
        frames += rx.push(self.transport.receive()) + rx.flush()

        k = z.shape[1]
        z_hat = np.zeros_like(z)
        no_eff = np.full(z.shape, LOST_NOISE_VAR, np.float32)
        received = np.zeros(len(z), bool)
        for f in frames:
            i = (f.seq - first) & 0xFFFF
            if i < len(z) and f.symbols.size >= k and not received[i]:
                z_hat[i], no_eff[i], received[i] = f.symbols[:k], f.no_eff[:k], True
        x_hat, logits = self.defense.decode(torch.from_numpy(z_hat).to(self.device),
                                            torch.from_numpy(no_eff).to(self.device), self.generator)
        x_hat[torch.from_numpy(~received).to(self.device)] = 0.0                          # lost: blank
        return LinkOutput(z, z_hat, no_eff, received, x_hat, logits, frames, rx.stats)
