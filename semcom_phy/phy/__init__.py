"""OFDM physical layer: resource grid, preamble, framing, QAM, transmitter and stream receiver."""

from .ofdm import map_resource_grid, ofdm_demodulate, ofdm_modulate, split_symbols
from .receiver import ReceivedFrame, ReceiverStats, StreamReceiver, receive
from .transmitter import TxBurst, transmit

__all__ = ["map_resource_grid", "ofdm_demodulate", "ofdm_modulate", "split_symbols", "ReceivedFrame",
           "ReceiverStats", "StreamReceiver", "receive", "TxBurst", "transmit"]
