"""Lost-frame inference: frames missing from a regular train are decoded where the train puts them.

Between two accepted frames of one kind and length whose sequence numbers differ by d
(2 <= d <= ``ModemConfig.max_inferred_frames`` + 1) and whose starts differ by d frame periods
(frame + ``gap_samples``, within a CP), the d - 1 frames the transmitter sent in between are
decoded where they must be, with the CFO interpolated, whether or not their preamble was
detected or their header decoded. The receiver keeps one only if its own channel estimate shows
a signal and its header symbols match the header the train implies (a tone, a burst of
interference or silence in the slot does not).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple


class Anchor(NamedTuple):
    """An accepted frame, as the inference of missing frames needs it (``start`` absolute)."""
    seq: int
    start: int
    kind: int
    length: int
    period: int              # frame + gap samples: where the next frame of the train starts
    eps: float               # CFO, subcarriers
    backoff: int             # its FFT windows' backoff (samples)


class Implied(NamedTuple):
    """A frame the train implies: header fields, absolute start and the neighbours' timing."""
    seq: int
    kind: int
    length: int
    start: int
    eps: float
    backoff: int


def implied_frames(anchors: list[Anchor], max_inferred: int, cp: int) -> list[Implied]:
    """The frames missing between consecutive ``anchors`` (in stream order) of a regular train."""
    out = []
    for a, b in itertools.pairwise(anchors):
        d = (b.seq - a.seq) & 0xFFFF
        if not 2 <= d <= max_inferred + 1 or (a.kind, a.length) != (b.kind, b.length) \
                or abs(b.start - a.start - d * a.period) > cp:
            continue
        for j in range(1, d):
            start = min(a.start + j * a.period, b.start - (d - j) * a.period)     # the earlier path's timing
            out.append(Implied((a.seq + j) & 0xFFFF, a.kind, a.length, start, a.eps + (b.eps - a.eps) * j / d,
                               min(a.backoff, b.backoff)))
    return out
