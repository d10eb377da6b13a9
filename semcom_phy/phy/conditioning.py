"""Input conditioning ahead of the receiver: DC removal and stream faults.

* **DC** (a direct-conversion receiver's LO leakage) sits at 0 Hz *before* any CFO correction;
  once the receiver turns a frame by its CFO it would land on a data carrier. It is estimated
  from the stream itself, in blocks of ``DC_BLOCK_SAMPLES`` counted from the start of the stream
  (an exponential average of the block means, the current block included) and removed before
  detection, where it is significant: an OFDM signal's own block mean is about its RMS over
  sqrt(samples), and a DC below ``DC_SIGNIFICANCE`` times that level is left alone (it costs less
  than the estimate's own noise would), so a DC-free stream comes through bit for bit.
* **Faults**: non-finite samples (NaN, inf) are set to 0 before anything else sees them, and
  every run of them, or of ``ZERO_RUN_SAMPLES`` or more exact zeros (what a driver writes for
  samples it lost; a receiver's noise never does), is remembered as a fault interval, so frames
  that overlap one are refused, not decoded.

Both are exact functions of the stream: any chunking gives the same output.

Input/Output: :meth:`InputConditioner.push` takes complex [n] samples and returns the complex64
samples it can release (the last incomplete DC block is held back, at most ``DC_BLOCK_SAMPLES``).
"""

from __future__ import annotations

import numpy as np

DC_BLOCK_SAMPLES = 2048
DC_TIME_CONSTANT_SAMPLES = 1 << 16
DC_SIGNIFICANCE = 30.0     # remove a DC whose power exceeds this many times what a DC-free signal's average shows
ZERO_RUN_SAMPLES = 4


class InputConditioner:
    """DC removal and fault intervals for one stream; ``dc_block`` False passes the samples through."""

    def __init__(self, dc_block: bool = True):
        self.dc_block = dc_block
        self.reset(0)

    def reset(self, at: int) -> None:
        """A new stream whose first sample has absolute index ``at``."""
        self._at = at                       # absolute index of the first held sample
        self._held = np.zeros(0, np.complex64)
        self._dc, self._power, self._blocks = 0j, 0.0, 0.0
        self._run = None                    # absolute start of a fault run still open at the end
        self._run_bad = False               # it holds a non-finite sample
        self.faults: list[tuple[int, int]] = []
        self.nonfinite = 0

    def push(self, chunk: np.ndarray) -> np.ndarray:
        x = chunk.astype(np.complex64)      # a copy: callers may reuse buffers
        start = self._at + self._held.size
        f = x.view(np.float32)              # float views: ~6x faster than complex comparisons
        finite = np.isfinite(f)
        bad = np.zeros(x.size, bool)
        if not finite.all():
            bad = ~(finite[0::2] & finite[1::2])
            self.nonfinite += int(bad.sum())
            x[bad] = 0
        zero = f == 0
        self._find_runs(zero[0::2] & zero[1::2] if zero.any() else np.zeros(x.size, bool), bad, start)
        self._held = np.concatenate([self._held, x]) if self._held.size else x
        if not self.dc_block:
            return self._release(self._held.size)
        full = (self._held.size // DC_BLOCK_SAMPLES) * DC_BLOCK_SAMPLES
        return self._release(full)

    def flush(self) -> np.ndarray:
        """The samples still held (the last, incomplete DC block)."""
        if self._run is not None:
            self._close_run(self._at + self._held.size)
        return self._release(self._held.size)

    def faults_in(self, start: int, end: int) -> bool:
        """Whether a fault interval overlaps absolute samples [start, end)."""
        open_run = self._run is not None and self._run < end
        return open_run or any(a < end and b > start for a, b in self.faults)

    def forget_before(self, at: int) -> None:
        self.faults = [(a, b) for a, b in self.faults if b > at]

    def _release(self, n: int) -> np.ndarray:
        out, self._held = self._held[:n], self._held[n:]
        self._at += n
        if self.dc_block and n:
            # per-block sums (each block reduced on its own, in float64: any chunking adds the same
            # numbers), then the (scalar) recursion over the blocks
            edges = list(range(0, n, DC_BLOCK_SAMPLES)) + [n]
            full = (n // DC_BLOCK_SAMPLES) * DC_BLOCK_SAMPLES
            sums = list(out[:full].reshape(-1, DC_BLOCK_SAMPLES).sum(axis=1, dtype=np.complex128))
            energy = list(np.square(out[:full].view(np.float32)).reshape(-1, 2 * DC_BLOCK_SAMPLES)
                          .sum(axis=1, dtype=np.float64))
            if full < n:
                sums.append(out[full:].sum(dtype=np.complex128))
                energy.append(np.square(out[full:].view(np.float32)).sum(dtype=np.float64))
            dc = []
            for a, b, total, e in zip(edges[:-1], edges[1:], sums, energy):
                size = b - a
                frac = size / DC_BLOCK_SAMPLES
                self._blocks += frac
                w = max(frac / self._blocks, frac * DC_BLOCK_SAMPLES / DC_TIME_CONSTANT_SAMPLES)
                self._dc += w * (complex(total) / size - self._dc)
                self._power += w * (float(e) / size - self._power)
                floor = self._power / DC_BLOCK_SAMPLES * w / (2 - w)       # the average's power without a DC
                dc.append(self._dc if abs(self._dc) ** 2 > DC_SIGNIFICANCE * floor else 0j)
            if any(dc):
                out -= np.repeat(np.array(dc, np.complex64), DC_BLOCK_SAMPLES)[:n]
        return out

    def _find_runs(self, zero: np.ndarray, bad: np.ndarray, start: int) -> None:
        """Fault runs in this chunk, joined to a run still open from the last one."""
        if self._run is not None and (not zero.size or not zero[0]):
            self._close_run(start)
        edges = np.flatnonzero(np.diff(np.concatenate([[False], zero, [False]]).astype(np.int8)))
        for a, b in zip(edges[::2], edges[1::2]):
            if not (a == 0 and self._run is not None):
                self._run, self._run_bad = start + int(a), False
            self._run_bad |= bool(bad[a:b].any())
            if b < zero.size:               # else it may go on in the next chunk
                self._close_run(start + int(b))

    def _close_run(self, end: int) -> None:
        if self._run_bad or end - self._run >= ZERO_RUN_SAMPLES:
            self.faults.append((self._run, end))
        self._run, self._run_bad = None, False
