"""Transports: one protocol (send, receive, drain, close) for the simulated channel, ZeroMQ/GNU
Radio and PlutoSDR (factories by name: :mod:`semcom_phy.transports`). Nothing heavy is imported
until used (``import zmq`` / ``import adi`` inside their own modules)."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "Transport": ".base", "as_iq": ".base", "SimTransport": ".sim",
    "PlutoConfig": ".pluto", "PlutoError": ".pluto", "PlutoTransport": ".pluto",
    "FlowgraphError": ".zmq", "ZmqTransport": ".zmq",
})
