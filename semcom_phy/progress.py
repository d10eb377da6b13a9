"""Progress reports that suit where they go: a tqdm bar on a terminal, a few plain lines in a log.

:func:`progress` returns something used like a tqdm bar (iterate over it, or ``update(n)``;
``set_postfix``, ``set_postfix_str``, ``write``, ``close``, ``with``). When its stream
(``sys.stderr`` by default) is a terminal that is a tqdm bar; otherwise (a redirected log, a CI
job) it writes one line when it starts, then at most one line every ``every_s`` seconds plus one
at 25, 50 and 75 % when the total is known, and one line at the end::

    loopback awgn: 0/5 run (0%), 0.0 s elapsed
    loopback awgn: 3/5 run (60%), 12.3 s elapsed, ~8 s left
    loopback awgn: 5/5 run (100%), 20.4 s elapsed, done

``SEMCOM_PROGRESS=bar|lines|off`` overrides the choice (``auto``, or unset: by the stream).
tqdm is imported only for a bar.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

__all__ = ["MODES", "progress"]

MODES = ("auto", "bar", "lines", "off")
ENV = "SEMCOM_PROGRESS"


def progress(iterable=None, *, total: int | float | None = None, desc: str = "", unit: str = "it",
             every_s: float = 30.0, file=None, leave: bool = True, disable: bool = False):
    """A progress report over ``iterable`` (or updated by hand with ``update(n)``).

    total: the number of steps (default ``len(iterable)`` when it has one); desc: what runs (the
    line's prefix); unit: what a step is; every_s: the most frequent time-driven line, in seconds
    (lines mode); file: the stream (default ``sys.stderr``); leave: keep the bar after it ends (bar
    mode); disable: report nothing (as ``SEMCOM_PROGRESS=off``).
    Returns a tqdm bar (a terminal, or ``SEMCOM_PROGRESS=bar``) or an object with the same methods
    that writes lines (or nothing)."""
    stream = sys.stderr if file is None else file
    if total is None and iterable is not None:
        try:
            total = len(iterable)
        except (TypeError, AttributeError):
            total = None
    mode = "off" if disable else _mode(stream)
    if mode == "bar":
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream, leave=leave)
    return _Lines(iterable, total, desc, unit, every_s, stream if mode == "lines" else None)


def _mode(stream) -> str:
    mode = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if mode not in MODES:
        warnings.warn(f"{ENV}={mode!r}: allowed values are {', '.join(map(repr, MODES))}; using 'auto'",
                      stacklevel=3)
        mode = "auto"
    if mode == "auto":
        try:
            mode = "bar" if stream.isatty() else "lines"
        except (AttributeError, ValueError, OSError):          # no isatty, or a closed stream
            mode = "lines"
    return mode


def _duration(seconds: float, digits: int = 1) -> str:
    """12.3 s (``digits`` decimals), 4 min 05 s, 2 h 03 min."""
    if seconds < 100:
        return f"{seconds:.{digits}f} s"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


class _Lines:
    """tqdm's interface, reporting in lines to ``file`` (None: nothing)."""

    def __init__(self, iterable, total, desc: str, unit: str, every_s: float, file):
        self.iterable, self.total, self.desc, self.unit, self.file = iterable, total, desc, unit, file
        self.every_s = float(every_s)
        self.n = 0
        self.postfix = ""
        self.start_t = self._last_t = time.monotonic()
        self._quarter = 1                      # the next of 25/50/75 % that gets a line
        self.closed = False
        self._emit()

    # what the lines say
    def _line(self, end: bool) -> str:
        elapsed = time.monotonic() - self.start_t
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            frac = self.n / self.total
            text = f"{head}{self.n:g}/{self.total:g} {self.unit} ({100 * frac:.0f}%), {_duration(elapsed)} elapsed"
            if not end and 0 < self.n < self.total:
                text += f", ~{_duration(elapsed * (self.total - self.n) / self.n, 0)} left"
        else:
            text = f"{head}{self.n:g} {self.unit}, {_duration(elapsed)} elapsed"
            if self.n and elapsed > 0:
                text += f" ({self.n / elapsed:.3g} {self.unit}/s)"
        if end:
            text += ", done"
        return text + (f", {self.postfix}" if self.postfix else "")

    def _emit(self, end: bool = False) -> None:
        self._last_t = time.monotonic()
        if self.file is not None:
            print(self._line(end), file=self.file, flush=True)

    # tqdm's interface
    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        return int(self.total) if self.total is not None else len(self.iterable)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int | float = 1) -> None:
        if self.closed:
            return
        self.n += n
        due = time.monotonic() - self._last_t >= self.every_s
        if self.total:
            crossed = False
            while self._quarter <= 3 and 4 * self.n >= self._quarter * self.total:
                self._quarter, crossed = self._quarter + 1, True
            due = (due or crossed) and self.n < self.total          # the end line says 100 %
        if due:
            self._emit()

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **kwargs) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in items.items())

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = str(s)

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""

    def refresh(self) -> None:
        pass

    @staticmethod
    def write(s: str, file=None, end: str = "\n") -> None:
        """Print a message (tqdm.write's stand-in: ``sys.stdout`` by default)."""
        print(s, file=sys.stdout if file is None else file, end=end, flush=True)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._emit(end=True)
