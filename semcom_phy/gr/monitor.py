"""Semantic PDU Monitor: the receiver's PDUs in, streams for Qt sinks out (the equalised
constellation, per-frame SNR, frames lost so far), and a summary line on stdout."""

from __future__ import annotations

import collections
import math
import sys
import threading
import time

import numpy as np
import pmt
from gnuradio import gr

from ..transport.monitor import MonitorTally

IDLE_S = 0.002              # how long work waits when nothing is queued (messages are handled between calls)
MAX_QUEUED_FRAMES = 64      # frames of symbols held for a sink that lags; the oldest go first
MAX_QUEUED_VALUES = 4096    # per-PDU values (SNR, lost) held likewise
WORK_CALLED_PRODUCE = -2    # general_work's return when it called produce() per output (gr::block)


class pdu_monitor(gr.basic_block):
    """Semantic PDU Monitor.

    Input: message port ``pdus``, the receiver's PDUs (Semantic OFDM RX's, or a
    :class:`~semcom_phy.transport.monitor.MonitorFeed`'s copies; :mod:`semcom_phy.phy.pdu`): per
    frame ``pmt.cons(dict, c32vector)``, the vector the equalised symbols complex64 [k], the
    metadata ``seq``, ``snr_db``, ``cfo_hz`` and the receiver's counters (``header_failures``,
    ``inferred``, ``frames``...); at the end of a run ``{"eob": True, counters}`` and an empty
    vector. Anything else is dropped and counted in ``dropped``, with a log line.

    Output, three streams (every one must be connected):
      0. complex64: each frame's equalised symbols, k items per frame (a Constellation Sink);
      1. float32: per PDU the newest frame's SNR in dB (an end-of-run PDU repeats it);
      2. float32: per PDU the frames lost so far (a Number Sink, a Time Sink on 1 and 2).
    Streams 1 and 2 get one item each per PDU, so they stay aligned. A sink that lags loses the
    oldest frames' items (at most 64 frames of symbols and 4096 values are held), never the counts.

    Frames lost (:class:`~semcom_phy.transport.monitor.MonitorTally`): ``gaps + pending``, where
    ``gaps`` are the sequence numbers missing between consecutive frame PDUs (mod 2^16; a step
    back, a repeat or a jump of 2^15 or more counts nothing) and ``pending`` the receiver's header
    failures (less its inferred frames) that no gap has accounted for yet: a header failure is a
    lost frame, and shows as a gap once a later frame arrives, so a gap takes as many off
    ``pending`` as it can (never counted twice). Counters that go down mean a new receiver (a new
    run): its counts add to the old one's.

    stdout: ``monitor: <frames> frames, <lost> lost, SNR <x> dB (last), CFO <y> Hz``, at most once
    every ``report_s`` seconds while PDUs come, and once when the flowgraph stops.

    report_s : seconds between summary lines at most (0: after every PDU)."""

    def __init__(self, report_s: float = 1.0):
        gr.basic_block.__init__(self, name="semcom_pdu_monitor", in_sig=None,
                                out_sig=[np.complex64, np.float32, np.float32])
        self.report_s = float(report_s)
        self.port = pmt.intern("pdus")
        self.message_port_register_in(self.port)
        self.set_msg_handler(self.port, self._on_pdu)
        self.tally = MonitorTally()
        self.dropped = 0
        self._lock = threading.Lock()
        self._symbols: collections.deque = collections.deque()      # frames' symbols, to go out
        self._values: collections.deque = collections.deque(maxlen=MAX_QUEUED_VALUES)   # (snr_db, lost)
        self._sent = 0                       # symbols of the head frame already out
        self._reported = self.tally.summary()   # the summary last printed (none yet: nothing to say)
        self._last_report = -math.inf

    def _on_pdu(self, msg) -> None:
        try:
            if not (pmt.is_pair(msg) and pmt.is_c32vector(pmt.cdr(msg))):
                raise ValueError("not a PDU of complex64 symbols (pmt.cons(dict, c32vector))")
            meta = pmt.to_python(pmt.car(msg)) if pmt.is_dict(pmt.car(msg)) else None
            if not isinstance(meta, dict):
                raise ValueError("its metadata is not a dict")
            symbols = np.asarray(pmt.c32vector_elements(pmt.cdr(msg)), np.complex64)
            with self._lock:
                if self.tally.add(meta) and symbols.size:
                    if len(self._symbols) >= MAX_QUEUED_FRAMES:      # a sink that lags: the oldest go
                        self._symbols.popleft()
                        self._sent = 0
                    self._symbols.append(symbols)
                self._values.append((self.tally.snr_db, float(self.tally.lost)))
        except Exception as err:             # a bad PDU must not stop the flowgraph: dropped and said
            self.dropped += 1
            gr.log.error(f"semcom_pdu_monitor: PDU dropped: {err}")
            return
        self._report()

    def _report(self, force: bool = False) -> None:
        """Print the summary when it changed and ``report_s`` has passed (or ``force``)."""
        now = time.monotonic()
        with self._lock:
            line = self.tally.summary()
            if not force and (line == self._reported or now - self._last_report < self.report_s):
                return
            self._reported, self._last_report = line, now
        print(line, flush=True)
        sys.stdout.flush()

    def general_work(self, input_items, output_items):
        sym, snr, lost = output_items
        with self._lock:
            n = 0
            while n < len(sym) and self._symbols:
                head = self._symbols[0]
                take = min(len(sym) - n, head.size - self._sent)
                sym[n:n + take] = head[self._sent:self._sent + take]
                n += take
                self._sent += take
                if self._sent == head.size:
                    self._symbols.popleft()
                    self._sent = 0
            m = min(len(snr), len(lost), len(self._values))
            for i in range(m):
                snr[i], lost[i] = self._values.popleft()
        if n:
            self.produce(0, n)
        if m:
            self.produce(1, m)
            self.produce(2, m)
        if not (n or m):
            self._report()
            time.sleep(IDLE_S)
            return 0
        return WORK_CALLED_PRODUCE

    def stop(self) -> bool:
        self._report(force=True)
        return True
