"""The transport protocol: how IQ leaves the modem and comes back.

Every transport (simulated channel, ZeroMQ to a GNU Radio flowgraph, PlutoSDR) moves complex64
baseband samples at the modem's sample rate and implements the same calls (send, receive, drain,
close), so the link and the scripts do not care which one they drive.
"""

from __future__ import annotations

import abc

import numpy as np


class Transport(abc.ABC):
    """send IQ, receive IQ, close; usable as a context manager."""

    @abc.abstractmethod
    def send(self, iq: np.ndarray) -> None:
        """Queue complex64 [n] samples for transmission (returns without waiting for the air)."""

    @abc.abstractmethod
    def receive(self, timeout_s: float = 0.0) -> np.ndarray:
        """complex64 [m]: the samples received since the last call (m may be 0), waiting at most
        ``timeout_s`` for the first of them."""

    def drain(self, timeout_s: float = 5.0) -> np.ndarray:
        """complex64 [m]: everything still on the way back after the last ``send`` (a real channel
        has latency: waits until the samples sent are back or stop arriving, within ``timeout_s``).
        The simulated transport returns at once."""
        return self.receive()

    @abc.abstractmethod
    def close(self) -> None:
        """Release sockets, processes or radios; later calls raise."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def as_iq(iq) -> np.ndarray:
    """Validate and return a 1-D complex64 array (a copy only when the dtype differs)."""
    arr = np.asarray(iq)
    if arr.ndim != 1 or not np.iscomplexobj(arr):
        raise ValueError(f"IQ must be a 1-D complex array, got {arr.dtype} with shape {arr.shape}")
    return arr.astype(np.complex64, copy=False)
