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

The sender's and the receiver's semantic steps (defense, scrambling, air perturbation; unscrambling,
purification, decoder, classifier, lost images blanked) are :mod:`semcom_phy.endpoints`, the same
ones the symbol-level model the attacks use is built of (:class:`~semcom_phy.symbol_link.SymbolLink`).

The receiver runs as a pipeline (:mod:`semcom_phy.pipeline`): the stream receiver in the caller's
thread, the decoder and classifier in a worker that decodes each group of G images as soon as its
frames are in (:class:`ImageAssembler`), while the next samples are received.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import ModemConfig, OfdmConfig
from .endpoints import Receiver, Sender
from .metrics import mmse_scaled, power_ratio_db, psnr_db, ssim
from .phy import ReceivedFrame, ReceiverStats, StreamReceiver, transmit
from .phy.frame import KINDS, frame_length_samples
from .phy.pdu import FLUSH_SYMBOLS
from .pipeline import PipelineStats, ReceiveConfig, ReceivePipeline
from .certify.smoothing import ABSTAIN
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
    x_hat : float [B, 1, 28, 28]; logits : float [B, 10] (the defense's scores)
    stats : the stream receiver's counters; pipeline : the receiver pipeline's (CPU time per stage)
    prediction : long [B], the class of each image (``ABSTAIN`` -1 where the smoothed receiver
             abstained; :meth:`~semcom_phy.purify.Defense.predictions`); None: ``logits.argmax(-1)``
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
    pipeline: PipelineStats = field(default_factory=PipelineStats, repr=False)
    prediction: torch.Tensor | None = None

    @property
    def received(self) -> np.ndarray:
        return self.symbol_received.any(axis=1)

    @property
    def predicted(self) -> torch.Tensor:
        """long [B]: ``prediction``, or the argmax of the logits without one."""
        return self.logits.argmax(dim=-1) if self.prediction is None else self.prediction

    def metrics(self, x: torch.Tensor, labels: torch.Tensor) -> dict:
        """The batch's metrics against the clean images x float [B, 1, 28, 28] and labels long [B]
        (:class:`RunMetrics` of this one batch)."""
        return RunMetrics().add(self, x, labels).result()


class RunMetrics:
    """A run's metrics summed over its batches of images (``add`` each :class:`LinkOutput`), so a
    run of any length keeps a few numbers; ``result()`` gives them as a dict:

    * ``num_images``, ``frames_sent`` (one frame's worth per image), ``frames_received``,
      ``images_lost``; ``accuracy`` (lost = wrong, abstained = wrong), ``psnr_db`` and ``ssim``
      (per-image means; lost = blank image); ``images_abstained``, the received images the
      smoothed receiver (``--defense smoothed``) abstained on (0 for the other defenses; a lost
      image counts as lost only), and ``abstain_rate``, their share of ``num_images``;
    * over the symbols that came back two EVMs against the clean symbols z (None when none came
      back): ``evm_db``, the raw EVM of the ZF-equalised symbols (under fading dominated by ZF
      noise enhancement on faded carriers, error no_eff = N0 / |H|^2, unbounded, so it does not
      track link quality), and ``evm_mmse_db``, the EVM of the MMSE-scaled symbols
      ``z_hat / (1 + no_eff)`` (:func:`~semcom_phy.metrics.evm_mmse_db`): a faded carrier's
      error is at most about 1, so it falls with SNR under fading too, and equals the raw EVM on
      AWGN at high SNR;
    * ``snr_est_db``, ``cfo_est_hz``: the receiver's estimates averaged over the frames found
      (None without any); the receiver's counters ``header_failures``, ``frames_inferred``,
      ``frames_damaged``.
    """

    def __init__(self):
        self.images = self.frames_received = self.lost = self.correct = self.abstained = 0
        self.psnr = self.ssim = 0.0
        self.symbols, self.power, self.err, self.err_mmse = 0, 0.0, 0.0, 0.0
        self.frames, self.snr, self.cfo = 0, 0.0, 0.0
        self.header_failures = self.inferred = self.damaged = 0

    def add(self, out: LinkOutput, x: torch.Tensor, labels: torch.Tensor) -> RunMetrics:
        """Count the batch ``out`` (against its clean images x and labels); returns self."""
        received = out.received
        valid = torch.as_tensor(received, device=out.logits.device)
        got = out.symbol_received
        z, z_hat = out.z[got].astype(np.complex128), out.z_hat[got].astype(np.complex128)
        self.images += len(x)
        self.frames_received += out.frames_received
        self.lost += int((~received).sum())
        predicted = out.predicted.to(valid.device)
        self.correct += int(((predicted == labels.to(valid.device)) & valid).sum())
        self.abstained += int(((predicted == ABSTAIN) & valid).sum())
        self.psnr += float(psnr_db(out.x_hat, x).double().sum())
        self.ssim += float(ssim(out.x_hat, x).double().sum())
        self.symbols += z.size
        self.power += float(np.sum(np.abs(z) ** 2))
        self.err += float(np.sum(np.abs(z_hat - z) ** 2))
        self.err_mmse += float(np.sum(np.abs(mmse_scaled(z_hat, out.no_eff[got]) - z) ** 2))
        self.frames += len(out.frames)
        self.snr += float(sum(f.snr_db for f in out.frames))
        self.cfo += float(sum(f.cfo_hz for f in out.frames))
        self.header_failures += out.stats.header_failures
        self.inferred += out.stats.inferred
        self.damaged += out.stats.damaged
        return self

    def result(self) -> dict:
        n, s, f = self.images, self.symbols, self.frames
        return {
            "num_images": n, "frames_sent": n, "frames_received": self.frames_received, "images_lost": self.lost,
            "accuracy": self.correct / n if n else float("nan"),
            "images_abstained": self.abstained, "abstain_rate": self.abstained / n if n else float("nan"),
            "psnr_db": self.psnr / n if n else float("nan"), "ssim": self.ssim / n if n else float("nan"),
            "evm_db": power_ratio_db(self.err / s, self.power / s) if s else None,
            "evm_mmse_db": power_ratio_db(self.err_mmse / s, self.power / s) if s else None,
            "snr_est_db": self.snr / f if f else None, "cfo_est_hz": self.cfo / f if f else None,
            "header_failures": self.header_failures, "frames_inferred": self.inferred, "frames_damaged": self.damaged,
        }


class Link:
    """Images through a transport and back: the semantic link over OFDM.

    Build one from a :class:`~semcom_phy.experiments.LinkConfig` with :meth:`from_config` (it
    loads the codec and the defense's models), or from loaded models with the constructor:

    codec : the :class:`~semcom_phy.semantic.SemanticCodec`; transport : a
        :class:`~semcom_phy.transport.Transport` (:mod:`semcom_phy.transports`: ``sim``,
        ``gnuradio``, ``pluto``: IQ, the PHY in this process) or a
        :class:`~semcom_phy.transport.pdu.PduTransport` (``flowgraph``: frames as PDUs, the PHY
        in GNU Radio's blocks, with the same outputs); ofdm, modem : the grid and the modem (analog payloads, ZF)
    defense : sender diffusion and receiver purification (default: none)
    generator : the torch generator of the sender's randomness (default: seeded 0, so runs
        repeat); the receiver draws from its own generator, seeded ``generator.initial_seed() + 1``
        when the link is made, so decoding a run's received IQ again (a replay) repeats its draws
        whatever the sender drew
    interleave : the frames each image's symbols are spread over (1: one image per frame; see the
        module doc)
    recorder : a :class:`~semcom_phy.io.sigmf_io.LinkRecorder` that records the TX and RX IQ with
        one SigMF annotation per frame
    receive : how the receiver pipeline runs (its batching, decoder blocks and threads, the
        decoder's precision)
    monitor : a :class:`~semcom_phy.transport.monitor.MonitorFeed` that gets every frame the
        receiver finds as the receiver's PDU (the live monitor flowgraph shows them), any transport

    ``link.config`` is the link's :class:`~semcom_phy.experiments.LinkConfig` (validated there:
    one set of rules for the config and the link)."""

    def __init__(self, codec: SemanticCodec, transport: Transport, ofdm: OfdmConfig = OfdmConfig(),
                 modem: ModemConfig = ModemConfig(mode="analog", gap_samples=256), defense: Defense | None = None,
                 generator: torch.Generator | None = None, interleave: int = 1, recorder=None,
                 receive: ReceiveConfig = ReceiveConfig(), monitor=None):
        from .experiments.config import LinkConfig

        defense = defense or Defense(DefenseConfig(), codec)
        self.config = LinkConfig(codec=getattr(codec, "name", None) or "codec", defense=defense.cfg,
                                 interleave=interleave, ofdm=ofdm, modem=modem)
        self.codec, self.transport, self.ofdm, self.modem = codec, transport, ofdm, modem
        self.interleave, self.recorder, self.receive_cfg, self.monitor = interleave, recorder, receive, monitor
        self.defense = defense
        self.sender = Sender(self.defense)
        self.device = next(codec.parameters()).device
        self.generator = generator or torch.Generator(self.device).manual_seed(0)
        self.rx_generator = torch.Generator(self.device).manual_seed(self.generator.initial_seed() + 1)
        self._seq = 0
        self._images = 0                # images sent in this session: the scrambling's image index
        if recorder is not None and hasattr(transport, "exchange"):
            raise ValueError("a flowgraph that runs the PHY keeps the IQ: record it there (a File Sink or a SigMF "
                             "sink on the Semantic OFDM RX's input), or record over --link gnuradio")

    @classmethod
    def from_config(cls, config=None, transport: Transport | None = None, *, device: str | torch.device = "auto",
                    seed: int = 0, codec: SemanticCodec | None = None, recorder=None,
                    receive: ReceiveConfig = ReceiveConfig()) -> Link:
        """The link a :class:`~semcom_phy.experiments.LinkConfig` describes (default: the shipped
        codec, no defense, interleave 8) over ``transport`` (default: the noiseless simulated
        channel), its models loaded and checked against their manifests on ``device`` (``auto``:
        CUDA when there is one); ``seed`` seeds the sender's (and so the receiver's) draws;
        ``codec``: an already loaded codec instead of ``config.codec``."""
        from .experiments.config import LinkConfig
        from .purify import load_defense
        from .semantic.weights import load_codec, pick_device
        from .transports import sim

        config = config if config is not None else LinkConfig()
        device = device if isinstance(device, torch.device) else pick_device(device)
        codec = codec if codec is not None else load_codec(config.codec, device)
        defense = load_defense(config.defense, codec, device)
        return cls(codec, transport if transport is not None else sim(ofdm=config.ofdm), config.ofdm, config.modem,
                   defense, torch.Generator(device).manual_seed(seed), config.interleave, recorder, receive)

    @torch.no_grad()
    def run(self, x: torch.Tensor, image_ids=None, labels=None, x_sent: torch.Tensor | None = None,
            delta_air: torch.Tensor | None = None) -> LinkOutput:
        """Send images x float [B, 1, 28, 28] in [0, 1]; returns what the receiver made of them.
        ``image_ids``, ``labels`` [B]: what a recording's annotations name (default: 0..B-1, none).
        An attack (:func:`~semcom_phy.attacks.live.craft`): the sender encodes ``x_sent`` instead of
        x (with the same draws of its diffusion noise) and ``delta_air`` complex [B, k] is added to
        its symbols; x stays the reference. Runs of one link carry on from each other (sequence
        numbers, the scrambling's image index, the random draws): a long run is a series of calls,
        each a capture segment of the recording."""
        if not 1 <= len(x) <= 0xFFFF:
            raise ValueError(f"{len(x)} images in one run: allowed 1..65535 (16-bit sequence numbers)")
        before = self.generator.get_state()
        z = self.sender.encode(x.to(self.device), self.generator).cpu().numpy().astype(np.complex64)  # [B, k]
        sent = z
        if x_sent is not None:              # the same sender draws as z: the difference is the attack's
            after = self.generator.get_state()
            self.generator.set_state(before)
            sent = self.sender.encode(x_sent.to(self.device), self.generator).cpu().numpy().astype(np.complex64)
            self.generator.set_state(after)
        first_image, self._images = self._images, self._images + len(z)
        sent = self.sender.transmit(torch.from_numpy(sent), self._scrambling(first_image, *z.shape), delta_air).numpy()
        first = self._seq
        self._seq = (self._seq + len(z)) & 0xFFFF
        order = interleaver(len(z), z.shape[1], self.interleave)                    # frame slot -> z.ravel()
        if hasattr(self.transport, "exchange"):     # a flowgraph that runs the PHY: frames as PDUs
            return self._exchange(z, sent.ravel()[order], first, first_image)
        burst = transmit(list(sent.ravel()[order]), self.ofdm, self.modem, first_seq=first)
        edges = np.append(burst.frame_starts - self.modem.gap_samples, burst.iq.size)
        rec = self.recorder
        tx0, rx0 = (rec.tx.num_samples, rec.rx.num_samples) if rec else (0, 0)
        if rec:                                     # one capture segment per run: a replay takes it as sent
            for r in (rec.tx, rec.rx):
                r.segment(first_image=first_image, first_seq=first, images=len(z))

        def received():
            """One send per frame, as a radio streams, then silence that flushes the channel's delay."""
            chunks = [burst.iq[a:b] for a, b in zip(edges[:-1], edges[1:])]
            chunks.append(np.zeros(FLUSH_SYMBOLS * self.ofdm.symbol_length_samples, np.complex64))
            for i, iq in enumerate(chunks):
                self.transport.send(iq)
                got = self.transport.drain() if i == len(chunks) - 1 else self.transport.receive()
                if rec:
                    rec.tx.write(iq)
                    rec.rx.write(got)
                yield got

        out = self.receive_stream(z, received(), first, first_image)
        if rec:
            self._annotate(rec, burst, out.frames, order // z.shape[1], first, tx0, rx0, image_ids, labels)
        return out

    def receive_stream(self, z: np.ndarray, stream: Iterable[np.ndarray], first_seq: int = 0,
                       first_image: int = 0) -> LinkOutput:
        """The receiver on IQ as it arrives: complex chunks [n] of any size from ``stream`` go
        through a stream receiver in this thread (``receive.batch_samples`` at a time) while a
        worker decodes the images they complete (:mod:`semcom_phy.pipeline`); the same outputs as
        :meth:`receive` on the frames found. Arguments as for :meth:`receive`."""
        rx = StreamReceiver(self.ofdm, self.modem, self.receive_cfg.batch_samples)
        decoding = self._decoding(len(z), z.shape[1], first_seq, first_image)
        with self._pipeline(decoding, rx, lambda: rx.stats) as pipe:
            for iq in stream:
                pipe.push(iq)
            frames = pipe.finish()
        self._end_of_run(rx.stats)
        return decoding.output(z, frames, rx.stats, pipe.stats)

    def receive(self, z: np.ndarray, frames: list[ReceivedFrame], stats: ReceiverStats, first_seq: int = 0,
                first_image: int = 0) -> LinkOutput:
        """The receiver's last steps for the frames of one run: each image's symbols reassembled
        (sequence numbers from ``first_seq``), unscrambled (images ``first_image``.. of the session),
        purified, decoded and classified; images none of whose symbols came back are blank.
        z complex64 [B, k]: the clean symbols sent, EVM's reference."""
        decoding = self._decoding(len(z), z.shape[1], first_seq, first_image)
        with self._pipeline(decoding) as pipe:
            pipe.add(frames)
            pipe.finish()
        return decoding.output(z, frames, stats, pipe.stats)

    def _exchange(self, z: np.ndarray, payloads: np.ndarray, first_seq: int, first_image: int) -> LinkOutput:
        """The run through a flowgraph that runs the PHY: the frames' payloads out as PDUs, the
        frames its receiver finds decoded as they come back (the decoder overlaps the flowgraph)."""
        self.transport.send_frames(payloads, first_seq)
        decoding = self._decoding(len(z), z.shape[1], first_seq, first_image)
        with self._pipeline(decoding, stats=lambda: self.transport.latest_stats) as pipe:
            for frames in self.transport.frames(len(payloads), first_seq):
                pipe.add(frames)
            frames = pipe.finish()
        self._end_of_run(self.transport.latest_stats)
        return decoding.output(z, frames, self.transport.stats, pipe.stats)

    def _pipeline(self, decoding: _Decoding, receiver: StreamReceiver | None = None, stats=None) -> ReceivePipeline:
        """The decoder streams unless the defense draws random numbers; then it decodes every
        image in one call at the end, so that its draws are a batch receiver's. With a monitor,
        every batch of frames goes to it with the receiver's counters (``stats()``)."""
        feed = None if self.monitor is None or stats is None else \
            (lambda frames: self.monitor.publish(frames, stats()))
        return ReceivePipeline(decoding.decode, decoding.assembler, self.receive_cfg,
                               streaming=not self.defense.draws_at_receiver, receiver=receiver, on_frames=feed)

    def _end_of_run(self, stats: ReceiverStats) -> None:
        if self.monitor is not None:
            self.monitor.publish([], stats, end=True)

    def _decoding(self, num_images: int, k: int, first_seq: int, first_image: int) -> _Decoding:
        assembler = ImageAssembler(num_images, k, first_seq, self.interleave, self.modem.max_inferred_frames + 1)
        return _Decoding(assembler, Receiver(self.defense.for_inference(self.receive_cfg.precision), self.device),
                         self._scrambling(first_image, num_images, k), self.rx_generator)

    def _scrambling(self, first_image: int, num_images: int, k: int) -> Scrambling | None:
        d = self.defense.cfg
        return Scrambling.keyed(d.key, self.generator.initial_seed(), first_image, num_images, k,
                                mode=d.scramble_mode) if d.scramble else None

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
        for f in sorted(frames, key=lambda f: f.start):          # SigMF: annotations in sample order
            j = (f.seq - first) & 0xFFFF
            if j < len(owner):
                rec.rx.annotate(rx0 + f.start, frame_length_samples(self.ofdm, KINDS.index(f.kind), f.length),
                                f"frame {f.seq}", seq=f.seq, snr_est_db=f.snr_db,
                                cfo_hz=f.cfo_hz, sfo_ppm=f.sfo_ppm, inferred=f.inferred, **who(j), **rec.fields)


class ImageAssembler:
    """Received frames' symbols put back in image order as they arrive, and which images are ready.

    Frames with sequence numbers ``first + j`` (j < num_images) carry the symbols ``order[j]`` of
    :func:`interleaver` (depth ``interleave``), so the frames of a group of ``interleave`` images
    carry those images. The arrays, filled frame by frame: z_hat complex64 [B, k], no_eff float32
    [B, k] (``LOST_NOISE_VAR`` where lost), got bool [B, k] (symbol received), frame_ok bool [B]
    (frame received); the first copy of a sequence number wins. A group's images are ready when
    all its frames are in, or, with frames missing, once a frame ``horizon`` frames past its last
    one has arrived (the receiver fills gaps from later frames: ``max_inferred_frames`` + 1 is
    enough); a frame that still arrives for a group already released releases it again."""

    def __init__(self, num_images: int, k: int, first: int, interleave: int, horizon: int):
        self.order, self.first, self.depth, self.horizon = interleaver(num_images, k, interleave), first, interleave, horizon
        self.z_hat = np.zeros((num_images, k), np.complex64)
        self.no_eff = np.full((num_images, k), LOST_NOISE_VAR, np.float32)
        self.got = np.zeros((num_images, k), bool)
        self.frame_ok = np.zeros(num_images, bool)
        starts = np.arange(0, num_images, interleave)
        self._last = np.minimum(starts + interleave, num_images) - 1          # last frame of each group
        self._missing = self._last - starts + 1                              # frames not yet in
        self._released = np.zeros(starts.size, bool)
        self._latest = -1                                                    # largest j received

    def add(self, frames: list[ReceivedFrame]) -> np.ndarray:
        """Put ``frames`` in; returns the rows (int64 [R], group by group) of images ready since
        the last call."""
        n, k = self.order.shape
        again = []
        z_hat, no_eff, got = self.z_hat.reshape(-1), self.no_eff.reshape(-1), self.got.reshape(-1)
        for f in frames:
            j = (f.seq - self.first) & 0xFFFF
            if j < n and f.symbols.size >= k and not self.frame_ok[j]:
                idx = self.order[j]
                z_hat[idx], no_eff[idx], got[idx], self.frame_ok[j] = f.symbols[:k], f.no_eff[:k], True, True
                g = j // self.depth
                self._missing[g] -= 1
                if self._released[g]:
                    again.append(g)
                self._latest = max(self._latest, j)
        ready = ~self._released & ((self._missing == 0) | (self._last + self.horizon <= self._latest))
        return self._rows(np.union1d(np.flatnonzero(ready), np.asarray(again, np.int64)))

    def rest(self) -> np.ndarray:
        """The rows of every image not released yet (the end of the stream)."""
        return self._rows(np.flatnonzero(~self._released))

    def _rows(self, groups: np.ndarray) -> np.ndarray:
        self._released[groups] = True
        return np.concatenate([np.arange(g * self.depth, self._last[g] + 1) for g in groups] + [np.zeros(0, np.int64)])


class _Decoding:
    """One run's decoder stage: ``decode(rows)`` unscrambles, purifies, decodes and classifies the
    images ``rows`` int64 [R] of ``assembler`` with ``receiver`` and stores the results by row;
    ``output`` makes the run's :class:`LinkOutput` of them."""

    def __init__(self, assembler: ImageAssembler, receiver: Receiver, scrambling: Scrambling | None,
                 generator: torch.Generator):
        self.assembler, self.receiver, self.scrambling, self.generator = assembler, receiver, scrambling, generator
        a = assembler
        self.z_hat, self.no_eff, self.got = (a.z_hat, a.no_eff, a.got) if scrambling is None else \
            (np.zeros_like(a.z_hat), np.zeros_like(a.no_eff), np.zeros_like(a.got))
        self.x_hat: torch.Tensor | None = None
        self.logits: torch.Tensor | None = None

    @torch.no_grad()
    def decode(self, rows: np.ndarray) -> None:
        a, sc = self.assembler, self.scrambling
        picked = None if sc is None else Scrambling(sc.perm[rows], sc.phase[rows])
        r = self.receiver(*(torch.from_numpy(v[rows]) for v in (a.z_hat, a.no_eff)), picked,
                          torch.from_numpy(a.got[rows]), self.generator)
        if picked is not None:
            self.z_hat[rows], self.no_eff[rows], self.got[rows] = r.z_hat.numpy(), r.no_eff.numpy(), r.got.numpy()
        if self.x_hat is None:
            n = len(a.frame_ok)
            self.x_hat = torch.zeros((n, *r.x_hat.shape[1:]), dtype=r.x_hat.dtype, device=r.x_hat.device)
            self.logits = torch.zeros((n, *r.scores.shape[1:]), dtype=r.scores.dtype, device=r.scores.device)
        idx = torch.from_numpy(rows).to(r.x_hat.device)
        self.x_hat[idx], self.logits[idx] = r.x_hat, r.scores

    def output(self, z: np.ndarray, frames: list[ReceivedFrame], stats: ReceiverStats,
               pipeline: PipelineStats) -> LinkOutput:
        return LinkOutput(z, self.z_hat, self.no_eff, self.got, int(self.assembler.frame_ok.sum()), self.x_hat,
                          self.logits, frames, stats, pipeline, self.receiver.defense.predictions(self.logits))


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


SemanticLink = Link
"""The name :class:`Link` had before the library API (kept for existing code)."""
