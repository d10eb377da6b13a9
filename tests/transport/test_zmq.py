"""The ZeroMQ transport through a real GNU Radio flowgraph (semcom_phy/flowgraphs/channel_emulator.py
under Debian's Python): the transport contract, the link through GNU Radio's channel blocks, and the
failures a user meets (GNU Radio missing, a port taken, a dead flowgraph, a silent peer)."""

import os
import signal
import time

import numpy as np
import pytest
import torch

from semcom_phy.channel import channel_profile
from semcom_phy.config import ChannelConfig, ModemConfig, OfdmConfig
from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.transport.zmq import (Flowgraph, FlowgraphError, ZmqTransport, channel_emulator,
                                      channel_emulator_params, free_tcp_address, gnuradio_available)

REASON = gnuradio_available()
needs_gr = [pytest.mark.gnuradio, pytest.mark.skipif(REASON is not None, reason=str(REASON))]
OFDM = OfdmConfig()


def _signal(n: int, seed: int = 0) -> np.ndarray:
    g = np.random.default_rng(seed)
    return ((g.standard_normal(n) + 1j * g.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


@pytest.mark.parametrize("mark", needs_gr)
def test_samples_come_back_in_order_and_complete_through_a_clean_flowgraph(mark):
    x = _signal(3_000_000)
    with channel_emulator(ChannelConfig(), OFDM) as t:
        t.send(x)                                       # one large burst: no deadlock on the way back
        t.send(np.zeros(64, np.complex64))              # pushes out what the resampler holds
        y = t.drain(timeout_s=30)
        assert t.samples_sent == x.size + 64 and t.samples_received == y.size
    assert y.size == x.size + 64 - 8                    # channel_model: y[n] = x[n + 3], 5 held back
    np.testing.assert_array_equal(y[:x.size - 3], x[3:])


@pytest.mark.parametrize("mark", needs_gr)
def test_frequency_offset_and_noise_follow_the_channel_config(mark):
    cfg = ChannelConfig(snr_db=20.0, cfo_hz=2000.0)
    params, ignored = channel_emulator_params(cfg, OFDM)
    assert params["freq_offset"] == pytest.approx(2000.0 / OFDM.sample_rate_hz) and not ignored
    x = np.ones(200_000, np.complex64)
    with channel_emulator(cfg, OFDM) as t:
        t.send(x)
        y = t.drain(timeout_s=30)
    rot = y[:190_000] * np.exp(-2j * np.pi * params["freq_offset"] * np.arange(190_000))
    phase = np.angle(rot.mean())
    noise = np.mean(np.abs(rot * np.exp(-1j * phase) - 1) ** 2)
    assert noise == pytest.approx(params["noise_voltage"] ** 2, rel=0.05)


@pytest.mark.parametrize("mark", needs_gr)
@pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")
def test_the_link_through_gnu_radio_matches_the_simulated_one(mark):
    from semcom_phy.data import load_split, to_tensor
    from semcom_phy.link import SemanticLink
    from semcom_phy.semantic import load_codec
    from semcom_phy.transport import SimTransport

    codec = load_codec()
    test = load_split("test")
    x, y = to_tensor(test.images[:128]), torch.from_numpy(test.labels[:128].astype(np.int64))
    modem = ModemConfig(mode="analog", gap_samples=256)
    cfg = ChannelConfig(snr_db=10.0, multipath="tdl-medium", cfo_ppm=10.0, sfo_ppm=5.0)
    params, _ = channel_emulator_params(cfg, OFDM)
    assert params["taps_profile"] == "three_tap" and params["epsilon"] != 1.0 and params["freq_offset"] != 0.0
    with channel_emulator(cfg, OFDM) as t:
        gr = SemanticLink(codec, t, OFDM, modem).run(x).metrics(x, y)
    with SimTransport(channel_profile("awgn", 10.0), OFDM, np.random.default_rng(0)) as t:
        sim = SemanticLink(codec, t, OFDM, modem).run(x).metrics(x, y)
    assert gr["frames_received"] == 128
    assert abs(gr["snr_est_db"] - 10.0) < 1.0                   # three static taps: frequency-selective
    assert gr["accuracy"] >= sim["accuracy"] - 0.05


@pytest.mark.parametrize("mark", needs_gr)
def test_a_killed_flowgraph_is_reported_and_reaped(mark):
    t = channel_emulator(ChannelConfig(), OFDM, send_timeout_s=2.0)
    pid = t.flowgraph.proc.pid
    os.killpg(pid, signal.SIGKILL)
    t.flowgraph.proc.wait(10)
    t0 = time.monotonic()
    with pytest.raises(FlowgraphError, match="exited"):
        for _ in range(100):
            t.send(_signal(100_000))
            t.receive(0.05)
    assert time.monotonic() - t0 < 10
    t.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize("mark", needs_gr)
def test_a_taken_port_names_the_problem(mark):
    import zmq

    ctx = zmq.Context()
    blocker = ctx.socket(zmq.PULL)
    address = free_tcp_address()
    blocker.bind(address)
    try:
        with pytest.raises(FlowgraphError, match="port taken"):
            ZmqTransport(address, free_tcp_address())
        # the flowgraph's own bind fails: it dies before its prompt, and the error says why
        fg = Flowgraph("channel_emulator", {"rx_address": free_tcp_address(), "tx_address": address},
                       ready_timeout_s=20)
        with pytest.raises(FlowgraphError, match="port it binds is taken"):
            fg.start()
        assert fg.proc.poll() is not None
    finally:
        ctx.destroy(linger=0)


def test_a_silent_peer_times_out_instead_of_hanging():
    t = ZmqTransport(free_tcp_address(), free_tcp_address(), send_timeout_s=0.3)
    t0 = time.monotonic()
    with pytest.raises(FlowgraphError, match="no peer took samples"):
        t.send(_signal(1 << 16))
    assert time.monotonic() - t0 < 5
    assert t.receive(0.1).size == 0 and t.drain(timeout_s=0.5).size == 0
    t.close()
    with pytest.raises(RuntimeError, match="closed"):
        t.receive()


def test_missing_gnu_radio_says_what_to_install(tmp_path):
    assert "apt-get install gnuradio" in gnuradio_available(str(tmp_path / "python3"))
    with pytest.raises(FlowgraphError, match="apt-get install gnuradio"):
        Flowgraph("channel_emulator", python=str(tmp_path / "python3")).start()
    with pytest.raises(FlowgraphError, match="grcc"):
        Flowgraph("no_such_flowgraph")
