"""The semantic receiver as a two-stage pipeline: PHY in the caller's thread, decoder in a worker.

::

    caller:  IQ chunks -> StreamReceiver (batches of ``batch_samples``) -> frames -> reassembly
                                                                                    | images ready
                                                                                    v
    worker:  bounded queue -> decoder (blocks of ``decode_block`` images) -> outputs, row by row

The stages overlap: while the worker decodes the images of one receiver batch, the caller
receives the next. numpy, scipy and torch release the GIL in their kernels, so the two threads
use two cores. The queue is bounded (``queue_size`` releases): a receiver that gets ahead of the
decoder waits for it instead of piling up images.

What is decoded when comes from the reassembly (``assembler``, :class:`semcom_phy.link.ImageAssembler`):
``add(frames)`` returns the image rows that became ready (int64 [R]), ``rest()`` the rows not yet
released, at the end of the stream. The decoder callback ``decode(rows)`` decodes those rows
and stores their outputs; a row can come again (a frame that arrived late for an image already
decoded), and its outputs are then stored again.

``streaming=False`` (a decoder whose outputs depend on which images it decodes together, e.g. one
that draws random numbers) keeps every image for one call at the end, rows in order, as a batch
receiver would. With ``streaming=True`` rows are decoded in blocks of exactly ``decode_block``,
so an image's outputs do not depend on which images it is decoded with: the pipeline gives the
same outputs however the stream is cut and however fast each stage runs. Rows short of a whole
block wait up to ``block_wait_s`` for the next ones, then go in a block padded with copies of
its last row (at the end of the stream at once).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .phy import ReceivedFrame, StreamReceiver
from .receive_config import ReceiveConfig


@dataclass
class PipelineStats:
    """phy_cpu_s: CPU time of the caller's thread in the pipeline (receiver and reassembly);
    decoder_cpu_s: CPU time of the decoder's thread (torch threads beyond its own not counted);
    decoder_calls, images_decoded (padding excluded), images_padded; max_queue: most releases
    waiting at once."""

    phy_cpu_s: float = 0.0
    decoder_cpu_s: float = 0.0
    decoder_calls: int = 0
    images_decoded: int = 0
    images_padded: int = 0
    max_queue: int = 0


class ReceivePipeline:
    """Frames (or IQ through ``receiver``) in, ``decode(rows)`` calls in a worker thread.

    Use as a context manager: ``push(iq)`` or ``add(frames)`` for the stream, ``finish()`` at its
    end (``on_frames`` sees every batch of frames as it comes) (flushes the receiver, decodes what is left, waits for the worker, returns every frame).
    An error in the decoder is raised in the caller by the next ``push``, ``add`` or ``finish``;
    leaving the context early stops the worker."""

    def __init__(self, decode: Callable[[np.ndarray], None], assembler, cfg: ReceiveConfig = ReceiveConfig(),
                 streaming: bool = True, receiver: StreamReceiver | None = None,
                 on_frames: Callable[[list[ReceivedFrame]], None] | None = None):
        self._decode, self.assembler, self.cfg, self.on_frames = decode, assembler, cfg, on_frames
        self.streaming, self.receiver = streaming, receiver
        self.frames: list[ReceivedFrame] = []
        self.stats = PipelineStats()
        self._held: list[np.ndarray] = []               # rows kept for the end (streaming=False)
        self._queue: queue.Queue = queue.Queue(cfg.queue_size)
        self._abort = threading.Event()
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._work, name="semcom-decoder", daemon=True)
        self._worker.start()

    def __enter__(self) -> ReceivePipeline:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def push(self, iq: np.ndarray) -> None:
        """complex IQ [n] into the receiver; the images it completes go to the decoder."""
        t0 = time.thread_time()
        frames = self.receiver.push(iq)
        self.stats.phy_cpu_s += time.thread_time() - t0
        self.add(frames)

    def add(self, frames: list[ReceivedFrame]) -> None:
        """Received frames into the reassembly; the images they complete go to the decoder."""
        self._check()
        if frames and self.on_frames is not None:
            self.on_frames(frames)                # e.g. a live monitor (never blocks)
        t0 = time.thread_time()
        self.frames += frames
        rows = self.assembler.add(frames)
        self.stats.phy_cpu_s += time.thread_time() - t0
        if rows.size:
            self._release(rows)

    def finish(self) -> list[ReceivedFrame]:
        """End of stream: the receiver flushed, every image decoded; returns all frames in order."""
        if self.receiver is not None:
            t0 = time.thread_time()
            frames = self.receiver.flush()
            self.stats.phy_cpu_s += time.thread_time() - t0
            self.add(frames)
        self._release(self.assembler.rest())
        if not self.streaming:
            self._put(np.unique(np.concatenate(self._held)))
        self._put(None)
        self._worker.join()
        self._check()
        return self.frames

    def close(self) -> None:
        """Stop the worker (at once if ``finish`` was not reached)."""
        if self._worker.is_alive():
            self._abort.set()
            while True:                       # make room for the stop signal
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            self._queue.put(None)
            self._worker.join()

    # -- internals ----------------------------------------------------------------------------
    def _release(self, rows: np.ndarray) -> None:
        if not rows.size:
            return
        if self.streaming:
            self._put(rows)
        else:
            self._held.append(rows)

    def _put(self, item: np.ndarray | None) -> None:
        while True:                           # wait for room, unless the worker has failed
            self._check()
            try:
                self._queue.put(item, timeout=0.05)
                break
            except queue.Full:
                continue
        self.stats.max_queue = max(self.stats.max_queue, self._queue.qsize())

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def _work(self) -> None:
        try:
            if self.cfg.decoder_threads:
                torch.set_num_threads(self.cfg.decoder_threads)      # this thread's setting only
            waiting, deadline = np.zeros(0, np.int64), None            # rows short of a block, until when
            done = False
            while not done:
                try:
                    timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                    items = [self._queue.get(timeout=timeout)]
                except queue.Empty:                                    # the waiting rows' time is up
                    items = []
                while items and items[-1] is not None:  # take whatever else waits: larger batches when behind
                    try:
                        items.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                done = bool(items) and items[-1] is None
                if self._abort.is_set():
                    return
                rows = np.concatenate([waiting] + [r for r in items if r is not None])
                t0 = time.thread_time()
                if not self.streaming:
                    cut = rows.size
                    self._decode_rows(rows)
                else:
                    b = self.cfg.decode_block
                    late = deadline is not None and time.monotonic() >= deadline
                    cut = rows.size if done or late else rows.size - rows.size % b
                    self._decode_blocks(rows[:cut])
                self.stats.decoder_cpu_s += time.thread_time() - t0
                if cut >= waiting.size:                                # the rows that waited are done
                    deadline = time.monotonic() + self.cfg.block_wait_s if cut < rows.size else None
                waiting = rows[cut:]
        except BaseException as err:          # handed to the caller
            self._error = err

    def _decode_rows(self, rows: np.ndarray, pad: int = 0) -> None:
        """One decoder call on ``rows`` int64 [R], the last ``pad`` of them copies."""
        if rows.size:
            self.stats.images_decoded += rows.size - pad
            self.stats.images_padded += pad
            self.stats.decoder_calls += 1
            self._decode(rows)

    def _decode_blocks(self, rows: np.ndarray) -> None:
        """``rows`` in blocks of ``decode_block``, the last one padded with copies of its last row."""
        b = self.cfg.decode_block
        for s in range(0, rows.size, b):
            block = rows[s:s + b]
            pad = b - block.size
            self._decode_rows(np.concatenate([block, np.full(pad, block[-1])]) if pad else block, pad)
