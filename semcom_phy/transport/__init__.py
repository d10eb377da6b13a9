"""Transports: one protocol (send, receive, close) for the simulated channel, ZeroMQ/GNU Radio
and PlutoSDR. ``import zmq`` / ``import adi`` happen inside their own modules."""

from .base import Transport, as_iq
from .sim import SimTransport

__all__ = ["Transport", "SimTransport", "as_iq"]
