"""The semantic link, top to bottom:

images -> [sender diffusion] -> encoder -> symbols -> OFDM frames -> transport -> stream receiver
       -> equalised symbols + no_eff -> [purification] -> decoder -> classifier -> metrics

The bracketed steps are the defense (:mod:`semcom_phy.purify.defense`); without one the link is
the plain semantic link. A scrambling defense also scrambles each image's symbols with its key
right after the encoder and unscrambles them before purification (:mod:`semcom_phy.purify.scramble`);
the session is the link's seed and images are numbered from 0 in the order the link sent them.

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
from .phy.frame import KINDS, frame_length_samples
from .purify import Defense, DefenseConfig, Scrambling
from .semantic import SemanticCodec
from .transport import Transport

LOST_NOISE_VAR = 10.0    # no_eff reported for the symbols of a lost frame


@dataclass
class LinkOutput:
    """Per-image results of one batch (B images, k symbols each).

    z, z_hat : complex64 [B, k] the clean images' symbols and the received ones (z_hat = 0 where
             lost); under attack z is what the sender meant to send, so EVM counts the attack too
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
            "frames_inferred": self.stats.inferred,
        }


class SemanticLink:
    """Images through a transport and back. ``modem`` must be analog (k symbols per frame).

    ``defense``: sender diffusion and receiver purification (default: none); ``generator``: the
    torch generator of the sender's randomness (default: seeded 0, so runs repeat); the receiver
    draws from its own generator, seeded ``generator.initial_seed() + 1`` when the link is made, so
    decoding a run's received IQ again (a replay) repeats its draws whatever the sender drew;
    ``interleave``: the
    frames each image's symbols are spread over (1: one image per frame; see the module doc);
    ``recorder``: a :class:`~semcom_phy.io.sigmf_io.LinkRecorder` that records the TX and RX IQ
    with one SigMF annotation per frame."""

    def __init__(self, codec: SemanticCodec, transport: Transport, ofdm: OfdmConfig = OfdmConfig(),
                 modem: ModemConfig = ModemConfig(mode="analog", gap_samples=256), defense: Defense | None = None,
                 generator: torch.Generator | None = None, interleave: int = 1, recorder=None):
        if isinstance(interleave, bool) or not isinstance(interleave, int) or not 1 <= interleave <= 64:
            raise ValueError(f"interleave = {interleave!r}: allowed integers 1..64 (frames per image)")
        if modem.mode != "analog":
            raise ValueError(f"ModemConfig.mode = {modem.mode!r}: the semantic link needs 'analog'")
        if modem.equalizer != "zf":
            raise ValueError(f"ModemConfig.equalizer = {modem.equalizer!r}: the decoder is trained on unbiased "
                             "(ZF) symbols with their no_eff; use 'zf'")
        self.codec, self.transport, self.ofdm, self.modem = codec, transport, ofdm, modem
        self.interleave, self.recorder = interleave, recorder
        self.defense = defense or Defense(DefenseConfig(), codec)
        self.device = next(codec.parameters()).device
        self.generator = generator or torch.Generator(self.device).manual_seed(0)
        self.rx_generator = torch.Generator(self.device).manual_seed(self.generator.initial_seed() + 1)
        self._seq = 0
        self._images = 0                # images sent in this session: the scrambling's image index

    @torch.no_grad()
    def run(self, x: torch.Tensor, image_ids=None, labels=None, x_sent: torch.Tensor | None = None,
            delta_air: torch.Tensor | None = None) -> LinkOutput:
        """Send images x float [B, 1, 28, 28] in [0, 1]; returns what the receiver made of them.
        ``image_ids``, ``labels`` [B]: what a recording's annotations name (default: 0..B-1, none).
        An attack (:func:`~semcom_phy.attacks.live.craft`): the sender encodes ``x_sent`` instead of
        x and ``delta_air`` complex [B, k] is added to its symbols; x stays the reference."""
        if not 1 <= len(x) <= 0xFFFF:
            raise ValueError(f"{len(x)} images in one run: allowed 1..65535 (16-bit sequence numbers)")
        z = self.defense.encode(x.to(self.device), self.generator).cpu().numpy().astype(np.complex64)  # [B, k]
        sent = z if x_sent is None else \
            self.defense.encode(x_sent.to(self.device), self.generator).cpu().numpy().astype(np.complex64)
        first_image, self._images = self._images, self._images + len(z)
        scrambling = self._scrambling(first_image, *z.shape)
        if scrambling is not None:
            sent = scrambling.apply(torch.from_numpy(sent)).numpy()
        if delta_air is not None:
            sent = sent + torch.as_tensor(delta_air).cpu().numpy().astype(np.complex64)
        first = self._seq
        self._seq = (self._seq + len(z)) & 0xFFFF
        order = interleaver(len(z), z.shape[1], self.interleave)                    # frame slot -> z.ravel()
        burst = transmit(list(sent.ravel()[order]), self.ofdm, self.modem, first_seq=first)
        rx = StreamReceiver(self.ofdm, self.modem)
        frames: list[ReceivedFrame] = []
        gap = self.modem.gap_samples
        edges = np.append(burst.frame_starts - gap, burst.iq.size)
        rec = self.recorder
        tx0, rx0 = (rec.tx.num_samples, rec.rx.num_samples) if rec else (0, 0)
        # one send per frame, as a radio streams, then silence that flushes the channel's delay
        chunks = [burst.iq[a:b] for a, b in zip(edges[:-1], edges[1:])]
        chunks.append(np.zeros(4 * self.ofdm.symbol_length_samples, np.complex64))
        for i, iq in enumerate(chunks):
            self.transport.send(iq)
            got = self.transport.drain() if i == len(chunks) - 1 else self.transport.receive()
            if rec:
                rec.tx.write(iq)
                rec.rx.write(got)
            frames += rx.push(got)
        frames += rx.flush()

        if rec:
            self._annotate(rec, burst, frames, order // z.shape[1], first, tx0, rx0, image_ids, labels)
        return self.receive(z, frames, rx.stats, first, first_image)

    @torch.no_grad()
    def receive(self, z: np.ndarray, frames: list[ReceivedFrame], stats: ReceiverStats, first_seq: int = 0,
                first_image: int = 0) -> LinkOutput:
        """The receiver's last steps for the frames of one run: each image's symbols reassembled
        (sequence numbers from ``first_seq``), unscrambled (images ``first_image``.. of the session),
        purified, decoded and classified; images none of whose symbols came back are blank.
        z complex64 [B, k]: the clean symbols sent, EVM's reference."""
        z_hat, no_eff, got, frame_ok = assemble(frames, first_seq, interleaver(len(z), z.shape[1], self.interleave))
        scrambling = self._scrambling(first_image, *z.shape)
        if scrambling is not None:
            z_hat, no_eff, got = (a.numpy() for a in scrambling.undo(*map(torch.from_numpy, (z_hat, no_eff, got))))
        x_hat, logits = self.defense.decode(torch.from_numpy(z_hat).to(self.device),
                                            torch.from_numpy(no_eff).to(self.device), self.rx_generator)
        x_hat[torch.from_numpy(~got.any(1)).to(self.device)] = 0.0                       # lost: blank
        return LinkOutput(z, z_hat, no_eff, got, int(frame_ok.sum()), x_hat, logits, frames, stats)

    def _scrambling(self, first_image: int, num_images: int, k: int) -> Scrambling | None:
        d = self.defense.cfg
        return Scrambling.keyed(d.key, self.generator.initial_seed(), first_image, num_images, k) if d.scramble else None


    def _annotate(self, rec, burst, frames, owner, first, tx0, rx0, image_ids, labels) -> None:
        """One annotation per frame: TX at its place in the burst, RX where the receiver found it."""
        ids = np.arange(len(owner)) if image_ids is None else np.asarray(image_ids)

        def who(j):
            rows = np.unique(owner[j])
            out = {"images": ids[rows].tolist()}
            if labels is not None:
                out["labels"] = np.asarray(labels)[rows].tolist()
            return out

        for j, (start, length) in enumerate(zip(burst.frame_starts, burst.frame_lengths)):
            seq = (first + j) & 0xFFFF
            rec.tx.annotate(tx0 + start, length, f"frame {seq}", seq=seq, **who(j), **rec.fields)
        for f in frames:
            j = (f.seq - first) & 0xFFFF
            if j < len(owner):
                rec.rx.annotate(rx0 + f.start, frame_length_samples(self.ofdm, KINDS.index(f.kind), f.length),
                                f"frame {f.seq}", seq=f.seq, snr_est_db=f.snr_db,
                                cfo_hz=f.cfo_hz, inferred=f.inferred, **who(j), **rec.fields)


def assemble(frames: list[ReceivedFrame], first: int, order: np.ndarray):
    """Put received frames' symbols back in image order: frames with sequence numbers
    ``first + j`` carry the symbols ``order[j]`` (:func:`interleaver`). Returns (z_hat complex64
    [B, k], no_eff float32 [B, k] (``LOST_NOISE_VAR`` where lost), symbol received bool [B, k],
    frame received bool [B]); the first copy of a sequence number wins."""
    n, k = order.shape
    z_hat = np.zeros(n * k, np.complex64)
    no_eff = np.full(n * k, LOST_NOISE_VAR, np.float32)
    got = np.zeros(n * k, bool)
    frame_ok = np.zeros(n, bool)
    for f in frames:
        j = (f.seq - first) & 0xFFFF
        if j < n and f.symbols.size >= k and not frame_ok[j]:
            idx = order[j]
            z_hat[idx], no_eff[idx], got[idx], frame_ok[j] = f.symbols[:k], f.no_eff[:k], True, True
    return z_hat.reshape(n, k), no_eff.reshape(n, k), got.reshape(n, k), frame_ok


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
