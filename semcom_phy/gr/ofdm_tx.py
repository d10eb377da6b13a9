"""Semantic OFDM TX: PDUs of semantic symbols in, tagged bursts of complex64 IQ out."""

from __future__ import annotations

import collections
import threading
import time

import numpy as np
import pmt
from gnuradio import gr

from ..phy.pdu import frame_bursts, parse_phy

IDLE_S = 0.002          # how long work waits when no burst is queued (messages are handled between calls)
SETTLE_SAMPLES = 64     # zeros after a run's burst: a channel model's resampler holds back a few samples


class semantic_ofdm_tx(gr.basic_block):
    """Semantic OFDM TX.

    Input: message port ``pdus``, one PDU per frame: metadata ``seq`` (int 0..65535) and
    optionally ``last`` (bool: the run's last frame), vector complex64 [k] (the payload, analog
    semantic symbols; :mod:`semcom_phy.phy.pdu`).
    Output: complex64 IQ, per PDU ``modem.gap_samples`` zeros then the frame (the last frame of a
    run also gets the last gap and 4 symbols of silence), a ``packet_len`` tag (its length) on its
    first sample; a run's frames form one burst, ``tx_sob`` on its first sample and ``tx_eob`` on
    the last sample of its ``last`` frame (a gr-uhd sink sends the run as one burst; a sink
    given the length tag ``packet_len`` sends each frame as one), then 64 zeros outside the burst
    (a channel model's resampler holds back a few samples: they let the burst's end through to a
    receiver downstream). Frames follow each other as
    PDUs come; without one queued, nothing is produced (a radio sink sends nothing).

    phy : the grid and modem as JSON (``semcom_phy.phy.pdu.phy_text``; empty: the link's
        defaults). A PDU that is not one (wrong types, a size the modem refuses) is dropped and
        counted in ``dropped``, with a log line."""

    def __init__(self, phy: str = ""):
        gr.basic_block.__init__(self, name="semcom_ofdm_tx", in_sig=None, out_sig=[np.complex64])
        self.ofdm, self.modem = parse_phy(phy)
        self.port = pmt.intern("pdus")
        self.message_port_register_in(self.port)
        self.set_msg_handler(self.port, self._on_pdu)
        self._pending: collections.deque = collections.deque()   # (seq, payload, last) as they came
        self._bursts: collections.deque = collections.deque()    # (iq, last) framed, to go out
        self._lock = threading.Lock()
        self._sent = 0                  # samples of the head frame already out
        self._in_run = False            # a burst is open (tx_sob sent, its tx_eob not yet)
        self.frames = self.dropped = 0

    def _on_pdu(self, msg) -> None:
        try:
            if not (pmt.is_pair(msg) and pmt.is_dict(pmt.car(msg)) and pmt.is_c32vector(pmt.cdr(msg))):
                raise ValueError("not a PDU of complex64 symbols (pmt.cons(dict, c32vector))")
            meta = pmt.to_python(pmt.car(msg))
            seq = meta.get("seq")
            if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= 0xFFFF:
                raise ValueError(f"seq = {seq!r}: an int in [0, 65535] expected")
            payload = np.asarray(pmt.to_python(pmt.cdr(msg)), np.complex64)
            if not 1 <= payload.size <= 8191:
                raise ValueError(f"{payload.size} symbols: a frame carries 1..8191")
        except Exception as err:        # a bad PDU must not stop the flowgraph: dropped and said
            self.dropped += 1
            gr.log.error(f"semcom_ofdm_tx: PDU dropped: {err}")
            return
        with self._lock:
            self._pending.append((seq, payload, bool(meta.get("last", False))))

    def _frame_pending(self) -> None:
        """The PDUs that came, framed: runs of consecutive sequence numbers and equal sizes in one
        batch (what the Python link does for a whole run), each ending at a ``last``."""
        while self._pending:
            group = [self._pending.popleft()]
            while (self._pending and not group[-1][2] and self._pending[0][0] == (group[-1][0] + 1) & 0xFFFF
                   and self._pending[0][1].size == group[0][1].size):
                group.append(self._pending.popleft())
            last = group[-1][2]
            iqs = frame_bursts([p for _, p, _ in group], group[0][0], self.ofdm, self.modem, last)
            self._bursts.extend((iq, i == len(iqs) - 1 and last) for i, iq in enumerate(iqs))
            if last:
                self._bursts.append((np.zeros(SETTLE_SAMPLES, np.complex64), None))

    def general_work(self, input_items, output_items):
        out = output_items[0]
        with self._lock:
            if not self._bursts:
                self._frame_pending()
            if not self._bursts:
                idle = True
            else:
                idle = False
                n, base = 0, self.nitems_written(0)
                while n < len(out) and self._bursts:
                    iq, last = self._bursts[0]
                    take = min(len(out) - n, iq.size - self._sent)
                    if self._sent == 0 and last is not None:
                        if not self._in_run:
                            self.add_item_tag(0, base + n, pmt.intern("tx_sob"), pmt.PMT_T)
                            self._in_run = True
                        self.add_item_tag(0, base + n, pmt.intern("packet_len"), pmt.from_long(iq.size))
                    out[n:n + take] = iq[self._sent:self._sent + take]
                    n += take
                    self._sent += take
                    if self._sent == iq.size:
                        if last:
                            self.add_item_tag(0, base + n - 1, pmt.intern("tx_eob"), pmt.PMT_T)
                            self._in_run = False
                        self._bursts.popleft()
                        self._sent = 0
                        self.frames += last is not None
        if idle:
            time.sleep(IDLE_S)
            return 0
        return n
