"""No other local process may take the IQ of a GNU Radio run: the flowgraph's endpoints live in a
private folder, a second peer on our PUSH socket is an error, and samples a foreign PULL takes
from the flowgraph are reported as a transport fault, never as channel loss (real flowgraphs)."""

import os
import stat
import time

import numpy as np
import pytest
import zmq

from semcom_phy.config import ChannelConfig, OfdmConfig
from semcom_phy.transport.zmq import FlowgraphError, channel_emulator, gnuradio_available

pytestmark = pytest.mark.gnuradio


@pytest.fixture
def emulator():
    reason = gnuradio_available()
    if reason:
        pytest.skip(reason)
    t = channel_emulator(ChannelConfig(), OfdmConfig())
    yield t
    t.close()


@pytest.fixture
def intruder():
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PULL)
    sock.setsockopt(zmq.LINGER, 0)
    yield sock
    ctx.destroy(linger=0)


def iq(n: int) -> np.ndarray:
    return (np.random.default_rng(0).standard_normal(n) * 0.1).astype(np.complex64)


def test_the_endpoints_live_in_a_private_folder_removed_on_close(emulator):
    assert emulator.push_address.startswith("ipc://") and emulator.pull_address.startswith("ipc://")
    folder = os.path.dirname(emulator.push_address[len("ipc://"):])
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    emulator.send(iq(50_000))
    assert emulator.drain().size >= 50_000 - 16              # alone, all comes back (the channel holds back ~8)
    emulator.close()
    assert not os.path.exists(folder)


def test_a_second_peer_on_our_push_socket_is_a_transport_error(emulator, intruder):
    intruder.connect(emulator.push_address)
    time.sleep(0.3)
    with pytest.raises(FlowgraphError, match="2 peers are connected"):
        emulator.send(iq(100_000))
        emulator.drain()


def test_samples_a_foreign_pull_takes_from_the_flowgraph_are_a_transport_fault(emulator, intruder):
    intruder.connect(emulator.pull_address)
    time.sleep(0.3)
    emulator.send(iq(400_000))
    with pytest.raises(FlowgraphError, match="did not come back .* not channel loss"):
        emulator.drain(timeout_s=3.0)
    assert intruder.poll(0)                                  # the intruder did get some: it was not silent


def test_a_link_run_with_an_intruder_fails_instead_of_losing_frames(intruder):
    reason = gnuradio_available()
    if reason:
        pytest.skip(reason)
    from semcom_phy import Link, LinkConfig, load_test_images, transports

    images, _, _ = load_test_images(8)
    with transports.gnuradio("awgn", snr_db=20) as t:
        intruder.connect(t.push_address)
        time.sleep(0.3)
        link = Link.from_config(LinkConfig(interleave=1), t, device="cpu")
        with pytest.raises(FlowgraphError, match="another local process"):
            link.run(images)


@pytest.fixture
def block_emulator():
    reason = gnuradio_available()
    if reason:
        pytest.skip(reason)
    from semcom_phy import transports

    t = transports.flowgraph(snr_db=20.0)
    yield t
    t.close()


def payloads(n: int) -> np.ndarray:
    g = np.random.default_rng(1)
    return ((g.standard_normal((n, 128)) + 1j * g.standard_normal((n, 128))) / 2 ** 0.5).astype(np.complex64)


def test_the_block_path_alone_gets_every_frame_and_counts_the_receiver_s_work(block_emulator):
    frames, stats = block_emulator.exchange(payloads(60), 100)
    assert sorted(f.seq for f in frames) == list(range(100, 160)) and stats.frames == 60
    frames, stats = block_emulator.exchange(payloads(10), 160)          # counters per run, not since start
    assert len(frames) == 10 and stats.frames == 10


def test_pdus_a_foreign_pull_takes_from_the_block_flowgraph_are_a_transport_fault(block_emulator, intruder):
    intruder.connect(block_emulator.pull_address)
    time.sleep(0.3)
    with pytest.raises(FlowgraphError, match="did not come back .* not channel loss"):
        block_emulator.exchange(payloads(200), 0)
    assert intruder.poll(0)


def test_a_second_peer_on_the_block_flowgraph_s_input_is_a_transport_error(block_emulator, intruder):
    intruder.connect(block_emulator.push_address)
    time.sleep(0.3)
    with pytest.raises(FlowgraphError, match="2 peers are connected"):
        block_emulator.exchange(payloads(50), 0)
