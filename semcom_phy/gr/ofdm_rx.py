"""Semantic OFDM RX: complex64 IQ in, one PDU per received frame out, the IQ passed through with
``frame_start`` tags."""

from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from ..phy import StreamReceiver
from ..phy.frame import frame_length_samples
from ..phy.pdu import counters, frame_meta, parse_phy

MAX_PAYLOAD_SYMBOLS = 8191      # the header's length field: the longest frame the receiver may report


def _pmt(meta: dict):
    """A metadata dict as a PMT dict (numpy arrays as uniform vectors, str as symbols)."""
    d = pmt.make_dict()
    for k, v in meta.items():
        d = pmt.dict_add(d, pmt.intern(k), pmt.to_pmt(v))
    return d


class semantic_ofdm_rx(gr.basic_block):
    """Semantic OFDM RX.

    Input: complex64 IQ (any source: a radio, a channel model, a file).
    Output: the same IQ, ``delay`` samples later (long enough that a frame is decoded before its
    first sample goes out), a ``frame_start`` tag (value: the sequence number) on each decoded
    frame's first sample; message port ``pdus``: one PDU per frame, the equalised symbols
    complex64 [k] with ``seq``, ``kind``, ``start``, ``snr_db``, ``cfo_hz``, ``sfo_ppm``,
    ``no_eff`` float32 [k] and the receiver's counters (:mod:`semcom_phy.phy.pdu`). A ``tx_eob``
    tag in the input (a transmitter's end of burst, carried through a channel model) ends the
    stream for the receiver: it decodes what is left at once and publishes ``{"eob": True, ...}``
    with an empty vector; from a radio source the samples keep coming and no flush is needed.

    phy : the grid and modem as JSON (``semcom_phy.phy.pdu.phy_text``; empty: the link's
        defaults); batch_samples : samples the receiver takes at a time (latency against cost)."""

    def __init__(self, phy: str = "", batch_samples: int = 32768):
        gr.basic_block.__init__(self, name="semcom_ofdm_rx", in_sig=[np.complex64], out_sig=[np.complex64])
        self.ofdm, self.modem = parse_phy(phy)
        self.rx = StreamReceiver(self.ofdm, self.modem, int(batch_samples))
        self.port = pmt.intern("pdus")
        self.message_port_register_out(self.port)
        longest = frame_length_samples(self.ofdm, 0, MAX_PAYLOAD_SYMBOLS)
        self.delay = int(batch_samples) + 2 * longest + 4 * self.ofdm.symbol_length_samples
        self._held = np.zeros(0, np.complex64)      # input not yet passed through
        self._release_all = False
        self._tags: list[tuple[int, int]] = []      # (offset, seq) of frame_start tags not yet out
        self._out_start = 0                          # offset of the next sample out
        self.frames = self.late_tags = 0

    def _publish(self, frames) -> None:
        for f in frames:
            self.message_port_pub(self.port, pmt.cons(_pmt(frame_meta(f, self.rx.stats)),
                                                      pmt.to_pmt(np.asarray(f.symbols, np.complex64))))
            if f.start >= self._out_start:
                self._tags.append((f.start, f.seq))      # tagged when its sample goes out
            else:
                self.late_tags += 1
            self.frames += 1

    def forecast(self, noutput_items, ninputs):
        """Any input will do (the block keeps what it cannot pass yet); none while it has held
        samples to let out after an end of stream."""
        return [0 if self._release_all and self._held.size else 1]

    def general_work(self, input_items, output_items):
        x = np.array(input_items[0])                 # our own copy: the receiver keeps samples across calls
        read = self.nitems_read(0)
        eobs = sorted(t.offset for t in self.get_tags_in_range(0, read, read + len(x), pmt.intern("tx_eob")))
        done = 0
        for offset in eobs:                          # the stream ends there: decode what is left
            cut = int(offset - read) + 1
            self._publish(self.rx.push(x[done:cut]) + self.rx.flush())
            self.message_port_pub(self.port, pmt.cons(_pmt({"eob": True, **counters(self.rx.stats)}),
                                                      pmt.init_c32vector(0, [])))
            done = cut
            self._release_all = True
        if done < len(x):
            self._publish(self.rx.push(x[done:]))
        self._held = np.concatenate([self._held, x])
        self.consume(0, len(x))
        out = output_items[0]
        ready = self._held.size if self._release_all else max(0, self._held.size - self.delay)
        n = min(ready, len(out))
        out[:n] = self._held[:n]
        self._held = self._held[n:]
        self._out_start += n
        for offset, seq in [t for t in self._tags if t[0] < self._out_start]:
            self.add_item_tag(0, offset, pmt.intern("frame_start"), pmt.from_long(seq))
        self._tags = [t for t in self._tags if t[0] >= self._out_start]
        if n == ready:
            self._release_all = False
        return n

    def stop(self) -> bool:
        self._publish(self.rx.flush())
        return True
