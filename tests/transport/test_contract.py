"""One contract for every transport: the simulated channel, GNU Radio over ZeroMQ and the PlutoSDR
transport (over the virtual Pluto). Frames sent through any of them come back whole, in order,
with the symbols they carried; counts add up; a closed transport refuses work."""

import numpy as np
import pytest
import torch

from semcom_phy.config import ChannelConfig, ModemConfig, OfdmConfig
from semcom_phy.link import SemanticLink
from semcom_phy.semantic import CodecConfig, SemanticCodec
from semcom_phy.transport import SimTransport
from semcom_phy.transport.pluto import PlutoConfig, open_pluto
from semcom_phy.transport.zmq import channel_emulator, gnuradio_available

OFDM = OfdmConfig()
GR = gnuradio_available()


def _sim():
    return SimTransport(ChannelConfig(snr_db=30.0), OFDM, np.random.default_rng(0))


def _gnuradio():
    if GR:
        pytest.skip(GR)
    return channel_emulator(ChannelConfig(snr_db=30.0), OFDM)


def _pluto():
    return open_pluto(PlutoConfig(tx_uri="virtual:a", rx_uri="virtual:b", tx_attenuation_db=0.0), OFDM)


TRANSPORTS = [pytest.param(_sim, id="sim"), pytest.param(_gnuradio, id="gnuradio", marks=pytest.mark.gnuradio),
              pytest.param(_pluto, id="pluto-virtual")]


@pytest.fixture(scope="module")
def codec():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return SemanticCodec(CodecConfig()).eval()


@pytest.mark.parametrize("make", TRANSPORTS)
def test_frames_come_back_whole_with_their_symbols(make, codec):
    x = torch.rand(20, 1, 28, 28)
    with make() as t:
        out = SemanticLink(codec, t, OFDM, ModemConfig(mode="analog", gap_samples=256)).run(x)
        sent = t.samples_sent
    assert out.received.all() and out.frames_received == 20
    err = np.mean(np.abs(out.z_hat - out.z) ** 2) / np.mean(np.abs(out.z) ** 2)
    assert 10 * np.log10(err) < -15                                   # EVM at a clean channel
    assert sent > 20 * 10 * OFDM.symbol_length_samples                # 20 frames of 10+ OFDM symbols


@pytest.mark.parametrize("make", TRANSPORTS)
def test_a_closed_transport_refuses_work(make):
    t = make()
    t.send(np.zeros(100, np.complex64))
    t.drain()
    t.close()
    t.close()                                                         # closing twice is harmless
    for call in (lambda: t.send(np.zeros(8, np.complex64)), t.receive):
        with pytest.raises(RuntimeError, match="closed"):
            call()
    with make() as t, pytest.raises(ValueError, match="1-D complex"):
        t.send(np.zeros((2, 2)))
