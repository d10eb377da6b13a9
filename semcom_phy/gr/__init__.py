"""GNU Radio blocks of the semantic PHY (import under GNU Radio's Python, ``/usr/bin/python3``).

* :class:`semantic_ofdm_tx` (**Semantic OFDM TX**): PDUs of payload symbols in (message port
  ``pdus``) -> complex64 IQ out, one tagged burst per frame (``tx_sob``, ``tx_eob``,
  ``packet_len``: what gr-uhd's and gr-soapy's sinks take for bursts);
* :class:`semantic_ofdm_rx` (**Semantic OFDM RX**): complex64 IQ in -> one PDU per frame found
  (message port ``pdus``: equalised symbols, ``no_eff``, SNR, CFO, SFO, sequence number) and the
  IQ passed through, a ``frame_start`` tag on each frame's first sample;
* :class:`pdu_monitor` (**Semantic PDU Monitor**): the receiver's PDUs in (message port ``pdus``)
  -> streams for Qt sinks out (the equalised symbols complex64; per PDU the SNR in dB and the
  frames lost so far, float32) and a summary line on stdout (the ``monitor`` flowgraph).

TX and RX are the project's own PHY (:mod:`semcom_phy.phy`: :func:`~semcom_phy.phy.pdu.frame_burst`
and :class:`~semcom_phy.phy.StreamReceiver`), the same code the Python link runs; the PDU format
is :mod:`semcom_phy.phy.pdu`'s. GRC finds the blocks through their YAML in ``grc/`` (``make
gr-blocks`` installs them, see the README).
"""

from .monitor import pdu_monitor
from .ofdm_rx import semantic_ofdm_rx
from .ofdm_tx import semantic_ofdm_tx

__all__ = ["pdu_monitor", "semantic_ofdm_rx", "semantic_ofdm_tx"]
