"""The simulated transport: IQ goes through :class:`~semcom_phy.channel.SimChannel`."""

from __future__ import annotations

import numpy as np

from ..channel import SimChannel
from ..config import ChannelConfig, OfdmConfig
from .base import Transport, as_iq


class SimTransport(Transport):
    """Every ``send`` passes through the channel chain (block fading is redrawn per call, CFO and
    phase noise run on continuously) and lands in a receive queue. Nothing is lost and nothing
    waits: ``receive`` returns what is queued at once. The channel's timing and SFO stages hold
    up to about 16 samples back, as a radio's filters would: send some silence at the end."""

    def __init__(self, channel: ChannelConfig, ofdm: OfdmConfig, rng: np.random.Generator):
        self.channel = SimChannel(channel, ofdm, rng)
        self._queue: list[np.ndarray] = []
        self._closed = False
        self.samples_sent = 0
        self.samples_received = 0

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("SimTransport is closed")

    def send(self, iq: np.ndarray) -> None:
        self._check_open()
        iq = as_iq(iq)
        self.samples_sent += iq.size
        self._queue.append(self.channel(iq))

    def receive(self, timeout_s: float = 0.0) -> np.ndarray:
        self._check_open()
        out = np.concatenate(self._queue) if self._queue else np.zeros(0, np.complex64)
        self._queue = []
        self.samples_received += out.size
        return out

    def close(self) -> None:
        self._closed = True
        self._queue = []
