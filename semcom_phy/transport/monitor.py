"""A live monitor of a run: the receiver's PDUs, copied to the ``monitor`` flowgraph (Qt: the
equalised constellation, per-frame SNR, frames lost), without ever slowing the link.

* :class:`MonitorFeed` (this process, the venv): binds a ZeroMQ PUSH socket on a private
  ``ipc://`` endpoint and sends each frame the link's receiver found as the receiver's PDU
  (:func:`~semcom_phy.phy.pdu.frame_meta` + :func:`.pmt.pdu`, exactly what Semantic OFDM RX
  publishes), non-blocking: a copy the monitor cannot take at once is dropped and counted.
* :func:`open_monitor`: starts ``semcom_phy/flowgraphs/monitor.py`` (GNU Radio, Debian's Python)
  connected to a feed: ZMQ PULL Message Source -> Semantic PDU Monitor
  (:class:`semcom_phy.gr.monitor.pdu_monitor`) -> Qt sinks.
* :class:`MonitorTally`: what the monitor counts from the PDUs (frames, frames lost, the last SNR
  and CFO); pure Python, shared by the GNU Radio block and the tests.

The standard library only at import (numpy, pyzmq and the flowgraph machinery are imported when
used), so GNU Radio's Python imports :class:`MonitorTally` from here.
"""

from __future__ import annotations

import math
import numbers
import shutil
import threading

SEQ_MODULUS = 1 << 16
"""Sequence numbers count modulo 2^16 (the frame header's field)."""

REORDER_SPAN = 1 << 15
"""A step of the sequence number by this much or more (modulo 2^16) is a reordered or repeated
frame or a restarted numbering, not 2^15 or more frames lost."""

EPOCH_COUNTERS = ("frames", "header_failures", "inferred")
"""The receiver's counters the monitor follows; any of them going down means a new receiver."""

FEED_HWM = 256
"""PDUs the feed's PUSH socket queues for a monitor that lags; beyond that copies are dropped."""


def summary_line(frames: int, lost: int, snr_db: float, cfo_hz: float) -> str:
    """The monitor's report: ``monitor: <frames> frames, <lost> lost, SNR <x> dB (last), CFO <y> Hz``."""
    return f"monitor: {frames} frames, {lost} lost, SNR {snr_db:.1f} dB (last), CFO {cfo_hz:.1f} Hz"


class MonitorTally:
    """What the monitor counts from a stream of the receiver's PDUs (:mod:`semcom_phy.phy.pdu`),
    in the order the receiver published them (stream order).

    frames : frame PDUs seen (every frame the receiver decoded, inferred ones included; an
        end-of-run PDU, ``eob``, is not a frame)
    gaps : frames missing between consecutive frame PDUs: for sequence numbers a then b,
        ``(b - a - 1) mod 2^16``, where ``b - a`` (mod 2^16) of 2^15 or more (a frame repeated
        or out of order, a numbering that started again) counts 0 and the count goes on from b.
        Nothing is counted before the first frame; end-of-run PDUs do not break the sequence (a
        link numbers its runs on).
    pending : header failures no gap has accounted for yet. A header failure is a frame whose
        preamble the receiver confirmed and whose header failed: unless inference put it back
        (``inferred``) it is lost, and a gap shows it once a later frame arrives. So each PDU adds
        the rise of the receiver's ``header_failures - inferred`` since the previous PDU
        (``pending`` stays at least 0), then a frame's gap of g takes ``min(pending, g)`` off it:
        those header failures are the gap's frames, and counting both would count them twice.
        The receiver counts a header failure no later than the PDU of the next frame it decodes,
        so the counters come first. When any of ``frames``, ``header_failures``, ``inferred`` is
        lower than in the previous PDU, a new receiver started (a new run of the Python link, a
        restarted flowgraph): its counts add to the old one's. A missing counter keeps its value.
    lost : ``gaps + pending``: frames that never came out of the receiver, those between received
        ones and those after the newest one whose header failed. Frames lost without a trace
        after the newest frame or before the first are not seen; a preamble falsely confirmed
        counts until a gap absorbs it.
    snr_db, cfo_hz : the newest frame's (NaN before the first)."""

    def __init__(self):
        self.frames = self.gaps = self.pending = self.runs = 0
        self.snr_db = self.cfo_hz = math.nan
        self._seq: int | None = None
        self._base = dict.fromkeys(EPOCH_COUNTERS, 0)      # counts of the receivers before this one
        self._last = dict.fromkeys(EPOCH_COUNTERS, 0)      # this receiver's, in the newest PDU

    def _unrecovered(self) -> int:
        """Header failures less inferred frames, over every receiver so far."""
        return (self._base["header_failures"] + self._last["header_failures"]
                - self._base["inferred"] - self._last["inferred"])

    @property
    def lost(self) -> int:
        return self.gaps + self.pending

    def add(self, meta: dict) -> bool:
        """Count one PDU's metadata (a dict: a frame's ``seq``, ``snr_db``, ``cfo_hz``, and the
        counters; or ``eob`` and the counters). Returns True for a frame, False for an end of
        run; ValueError (nothing counted) when a frame has no valid ``seq``."""
        eob = bool(meta.get("eob", False))
        if not eob:
            seq = meta.get("seq")
            if not isinstance(seq, numbers.Integral) or isinstance(seq, bool) or not 0 <= seq < SEQ_MODULUS:
                raise ValueError(f"seq = {seq!r}: an int in [0, 65535] expected (not a receiver's PDU?)")
            seq = int(seq)
        before = self._unrecovered()
        now = {k: int(meta[k]) if isinstance(meta.get(k), numbers.Real) else self._last[k] for k in EPOCH_COUNTERS}
        if any(now[k] < self._last[k] for k in EPOCH_COUNTERS):     # a new receiver counts from 0
            self._base = {k: self._base[k] + self._last[k] for k in EPOCH_COUNTERS}
        self._last = now
        self.pending = max(0, self.pending + self._unrecovered() - before)
        if eob:
            self.runs += 1
            return False
        if self._seq is not None:
            step = (seq - self._seq - 1) % SEQ_MODULUS
            gap = step if step < REORDER_SPAN - 1 else 0
            self.gaps += gap
            self.pending -= min(self.pending, gap)
        self._seq = seq
        self.frames += 1
        self.snr_db = _real(meta.get("snr_db"))
        self.cfo_hz = _real(meta.get("cfo_hz"))
        return True

    def summary(self) -> str:
        return summary_line(self.frames, self.lost, self.snr_db + 0.0, self.cfo_hz + 0.0)


def _real(value) -> float:
    return float(value) if isinstance(value, numbers.Real) else math.nan


class MonitorFeed:
    """Copies of the receiver's frames, as its PDUs, to a live monitor (:func:`open_monitor`).

    Binds a ZeroMQ PUSH socket at :attr:`address`, an ``ipc://`` endpoint in a new folder only
    this user can enter (:func:`~semcom_phy.transport.zmq.private_endpoints`; removed by
    :meth:`close`). The monitor flowgraph's PULL Message Source connects there.

    The feed never slows or stops the link: :meth:`publish` sends without blocking; a copy that
    cannot go at once (no monitor connected, or one that lags :data:`FEED_HWM` PDUs behind) is
    dropped and counted in :attr:`dropped`, and nothing it does raises (a frame it cannot
    serialize is dropped too, its error kept in :attr:`last_error`). Thread-safe: the link's
    receiver may publish from its own thread.

    hwm : PDUs queued for a lagging monitor before copies are dropped
    Attributes: ``address`` (str), ``sent`` / ``dropped`` (PDUs), ``last_error`` (str or None),
    ``flowgraph`` (the monitor :func:`open_monitor` started for it, stopped by :meth:`close`)."""

    def __init__(self, hwm: int = FEED_HWM):
        import zmq

        from .zmq import private_endpoints

        self._zmq = zmq
        self._folder, _, _ = private_endpoints()
        self.address = f"ipc://{self._folder}/monitor"
        self.sent = self.dropped = 0
        self.last_error: str | None = None
        self.flowgraph = None
        self._lock = threading.Lock()
        self._peers = 0
        self._ctx = zmq.Context()
        try:
            self._push = self._ctx.socket(zmq.PUSH)
            self._push.setsockopt(zmq.LINGER, 0)
            self._push.setsockopt(zmq.SNDHWM, int(hwm))
            self._push.bind(self.address)
            self._events = self._push.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED)
        except BaseException:
            self._ctx.destroy(linger=0)
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        self._closed = False

    @property
    def peers(self) -> int:
        """Monitors connected now (a PUSH socket takes a message only once one is)."""
        from zmq.utils.monitor import recv_monitor_message

        zmq = self._zmq
        with self._lock:
            if not self._closed:
                while self._events.poll(0):
                    event = recv_monitor_message(self._events, zmq.NOBLOCK)["event"]
                    self._peers += {zmq.EVENT_HANDSHAKE_SUCCEEDED: 1, zmq.EVENT_DISCONNECTED: -1}.get(event, 0)
            return self._peers

    def wait_connected(self, timeout_s: float = 5.0) -> bool:
        """Wait until a monitor is connected (at most ``timeout_s``); True when one is."""
        import time

        deadline = time.monotonic() + timeout_s
        while self.peers < 1:
            if self._closed or time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def publish(self, frames, stats, end: bool = False) -> int:
        """Send copies of one batch of received frames to the monitor.

        Input: frames, a list of :class:`~semcom_phy.phy.ReceivedFrame` (what the link's receiver
        just found: a :class:`~semcom_phy.phy.StreamReceiver`'s ``push``/``flush``, a batch from
        :meth:`~semcom_phy.transport.pdu.PduTransport.frames`; any size, empty too); stats, the
        :class:`~semcom_phy.phy.ReceiverStats` of the receiver that found them, as they stand now
        (counting since that receiver started: a new receiver per run is fine, see
        :class:`MonitorTally`); end, the run is over: an end-of-run PDU (``{"eob": True}``, the
        counters, no symbols) follows the frames.
        Output: the number of PDUs sent; those not sent are added to :attr:`dropped`. Never blocks,
        never raises."""
        import numpy as np

        from ..phy.pdu import counters, frame_meta
        from .pmt import pdu

        messages, failed = [], 0
        try:
            for f in frames:
                try:
                    messages.append(pdu(frame_meta(f, stats), np.asarray(f.symbols, np.complex64).ravel()))
                except Exception as err:          # noqa: BLE001 - a monitor must not break the link
                    failed += 1
                    self.last_error = f"{type(err).__name__}: {err}"
            if end:
                try:
                    messages.append(pdu({"eob": True, **counters(stats)}, np.zeros(0, np.complex64)))
                except Exception as err:          # noqa: BLE001
                    failed += 1
                    self.last_error = f"{type(err).__name__}: {err}"
        except Exception as err:                  # noqa: BLE001 - frames not iterable
            self.last_error = f"{type(err).__name__}: {err}"
            with self._lock:
                self.dropped += 1
            return 0
        sent = 0
        with self._lock:
            for message in messages:
                if self._closed:
                    break
                try:
                    self._push.send(message, self._zmq.NOBLOCK, copy=False)
                    sent += 1
                except self._zmq.Again:           # no monitor, or its queue is full: so for the rest
                    break
                except Exception as err:          # noqa: BLE001
                    self.last_error = f"{type(err).__name__}: {err}"
            self.sent += sent
            self.dropped += failed + len(messages) - sent
        return sent

    def close(self) -> None:
        """Stop the monitor :func:`open_monitor` started for this feed (if any), close the
        socket and remove its folder. Publishing afterwards drops everything."""
        if self.flowgraph is not None:
            self.flowgraph.stop()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._ctx.destroy(linger=0)
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_ENV_LOCK = threading.Lock()


def open_monitor(feed: MonitorFeed, report_s: float = 1.0, history: int = 200, show: bool | None = None,
                 python: str | None = None, connect_timeout_s: float = 5.0):
    """Start the ``monitor`` flowgraph (Qt GUI) connected to ``feed``.

    Input: feed, the :class:`MonitorFeed` it shows; report_s, how often at most it prints its
    summary line (:func:`summary_line`) to stdout (and once when it stops); history, the frames
    its SNR plot spans; show, open its window: None (default) when there is a display
    (``$DISPLAY``: Qt platform ``xcb``, ``$WAYLAND_DISPLAY``: ``wayland``), False offscreen (what
    :class:`~semcom_phy.transport.zmq.Flowgraph` does by default); a ``QT_QPA_PLATFORM`` already
    set in the environment wins either way; with show None, a window that cannot open (a display
    it cannot reach) falls back to offscreen; python, GNU Radio's Python (default Debian's);
    connect_timeout_s, how long to wait for it to connect to the feed.
    Output: the running :class:`~semcom_phy.transport.zmq.Flowgraph` (its ``log`` holds the
    summary lines), also kept as ``feed.flowgraph``: ``feed.close()`` or its ``stop()`` stops it.
    Raises :class:`~semcom_phy.transport.zmq.FlowgraphError` when it does not start or connect."""
    import os

    from .zmq import GR_PYTHON, Flowgraph, FlowgraphError

    fg = Flowgraph("monitor", {"address": feed.address, "report_s": float(report_s), "history": int(history)},
                   python=python or GR_PYTHON, blocks=True)
    platform = None
    if "QT_QPA_PLATFORM" not in os.environ and show is not False:
        platform = "xcb" if os.environ.get("DISPLAY") else "wayland" if os.environ.get("WAYLAND_DISPLAY") else None
        if show and platform is None:
            raise FlowgraphError("show=True but there is no display ($DISPLAY, $WAYLAND_DISPLAY): the monitor "
                                 "can only run offscreen here")
    with _ENV_LOCK:                   # Flowgraph takes QT_QPA_PLATFORM from the environment as it starts
        if platform:
            os.environ["QT_QPA_PLATFORM"] = platform
        try:
            fg.start()
        except FlowgraphError:
            if not platform or show:      # a display that would not open: offscreen, unless asked for
                raise
            fg = Flowgraph("monitor", fg.params, python=fg.python, blocks=True)
            os.environ.pop("QT_QPA_PLATFORM", None)
            fg.start()
        finally:
            if platform:
                os.environ.pop("QT_QPA_PLATFORM", None)
    if not feed.wait_connected(connect_timeout_s):
        fg.stop()
        raise FlowgraphError(f"the monitor did not connect to {feed.address} within {connect_timeout_s:g} s; "
                             f"its log:\n{fg.log[-2000:]}")
    feed.flowgraph = fg
    return fg
