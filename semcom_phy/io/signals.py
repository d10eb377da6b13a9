"""Interruptions that never leave a half-written dataset: SIGTERM as an exception, and short
sections that a signal waits for.

A command line stopped with Ctrl-C (SIGINT) or ``kill`` (SIGTERM) should stop at once, yet the
few steps that make files final (renaming a recording's pair into place, rewriting an index)
must not be cut in two. :func:`terminate_raises` makes SIGTERM raise :class:`Terminated` (a
``KeyboardInterrupt``) like SIGINT does, so the same cleanup runs for both (partial files are
removed on the way out). :func:`deferred_signals` is a section during which SIGINT and SIGTERM
are held: the handler notes the signal and the section raises it when it ends. Python runs signal
handlers in the main thread only, whichever thread the kernel delivered the signal to, so this
holds in a process with worker threads too (blocking the signal with ``pthread_sigmask`` would
not). Outside the main thread both are no-ops.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as an exception (exit status 143 by convention)."""


def _raise_terminated(signum, frame):
    raise Terminated(f"signal {signal.Signals(signum).name}")


def terminate_raises() -> None:
    """Make SIGTERM raise :class:`Terminated` in the main thread (a command line's first step);
    SIGINT already raises ``KeyboardInterrupt``."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def end_quietly(status: int | None = None) -> None:
    """A command line's last step: its work is done and its files are final, so a signal that
    comes while the interpreter shuts down takes its default action (the process ends) instead
    of raising into the exit handlers (``Exception ignored in atexit callback``). ``status``
    130 or 143 (it was interrupted): the process ends here with it, skipping the interpreter's
    finalisation, which an extension module interrupted mid-way (torch's C++ threads) can turn
    into an abort (``terminate called without an active exception``)."""
    if threading.current_thread() is threading.main_thread():
        for s in SIGNALS:
            signal.signal(s, signal.SIG_DFL)
    if status in (130, 143):
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


_held: list[int] = []          # signals that came during the sections now open
_depth = 0


def _hold(signum, frame):
    _held.append(signum)


@contextlib.contextmanager
def deferred_signals():
    """A section that SIGINT and SIGTERM do not cut: a signal that comes during it is delivered
    as it ends (to the handler that was in place before: ``KeyboardInterrupt`` for SIGINT,
    :class:`Terminated` after :func:`terminate_raises`, the default action otherwise). Sections
    nest; keep them short (renames, small writes)."""
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS} if _depth == 0 else None
    if previous:
        for s in SIGNALS:
            signal.signal(s, _hold)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if previous:
            for s, handler in previous.items():
                signal.signal(s, handler)
            held, _held[:] = list(_held), []
            for s in dict.fromkeys(held):          # each signal once, in the order they came
                handler = previous[s]
                if callable(handler):
                    handler(s, None)
                elif handler == signal.SIG_DFL:
                    os.kill(os.getpid(), s)       # its default action, now the section is done
