"""The live monitor (issue 21, item 4): MonitorFeed copies the receiver's frames as its PDUs and
never blocks the link; MonitorTally counts frames and frames lost; the Semantic PDU Monitor block
turns PDUs into streams for Qt sinks; the monitor flowgraph (offscreen) reports what it got."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from semcom_phy.phy import ReceivedFrame, ReceiverStats
from semcom_phy.transport.monitor import MonitorFeed, MonitorTally, open_monitor, summary_line
from semcom_phy.transport.zmq import GR_PYTHON, gnuradio_available, package_path

zmq = pytest.importorskip("zmq")

needs_gnuradio = pytest.mark.skipif(gnuradio_available() is not None,
                                    reason="GNU Radio not installed: apt-get install gnuradio (make setup does)")
SUMMARY = re.compile(r"monitor: (\d+) frames, (\d+) lost, SNR (\S+) dB \(last\), CFO (\S+) Hz")


def _frame(seq: int, i: int, k: int = 256, used: int = 52) -> ReceivedFrame:
    """A received analog frame as the stream receiver makes one: QPSK-like equalised symbols
    with noise at the frame's SNR, per-symbol noise variances, a channel estimate."""
    rng = np.random.default_rng(i)
    snr_db = 12.0 + 0.1 * i
    no = 10 ** (-snr_db / 10)
    clean = (rng.choice([-1, 1], k) + 1j * rng.choice([-1, 1], k)) / np.sqrt(2)
    noise = np.sqrt(no / 2) * (rng.standard_normal(k) + 1j * rng.standard_normal(k))
    return ReceivedFrame(seq=seq, kind="analog", start=1000 + 3000 * i, symbols=(clean + noise).astype(np.complex64),
                         no_eff=np.full(k, no, np.float32), snr_db=snr_db, cfo_hz=-250.0 + i,
                         cfo_subcarriers=(-250.0 + i) / 15625.0, noise_var=no,
                         channel=np.exp(1j * np.linspace(0, 1, used)).astype(np.complex64), sfo_ppm=1.5)


# 50 frames sent from sequence number 65520 (the numbering wraps through 0). Lost: index 3 and
# 18 (preambles missed: only a gap shows them), 17 and 30 (headers failed: a gap and the counter),
# 49 (the last: its header failed, only the counter shows it). Frame 40 was put back by inference.
FIRST_SEQ, SENT = 65520, 50
MISSED, HEADER_FAILED = {3, 18}, {17, 30, 49}
RECEIVED = [i for i in range(SENT) if i not in MISSED | HEADER_FAILED]


def _run(batch: int = 4):
    """(batches of frames, the receiver's counters as each batch was published, the counters at
    the end), as a stream receiver reports them: a header failure is counted with the batch that
    holds the next frame it decodes (frame 40's too, inferred in that batch), 49's at the end."""
    batches, stats, s = [], [], ReceiverStats()
    for a in range(0, len(RECEIVED), batch):
        idx, prev = RECEIVED[a:a + batch], RECEIVED[a - 1] if a else -1
        failed = sum(prev < h <= idx[-1] for h in HEADER_FAILED | {40})
        s = dataclasses.replace(s, frames=s.frames + len(idx), inferred=s.inferred + (40 in idx),
                                header_failures=s.header_failures + failed)
        batches.append([dataclasses.replace(_frame((FIRST_SEQ + i) & 0xFFFF, i), inferred=i == 40) for i in idx])
        stats.append(s)
    return batches, stats, dataclasses.replace(s, header_failures=s.header_failures + 1)


def test_tally_counts_gaps_and_header_failures_once():
    batches, stats, end = _run()
    from semcom_phy.phy.pdu import counters, frame_meta

    t = MonitorTally()
    for frames, s in zip(batches, stats):
        for f in frames:
            assert t.add(frame_meta(f, s))
    assert t.frames == len(RECEIVED) == 45
    assert t.gaps == 4                             # 3, 17-18, 30; 40 was inferred: no gap
    assert t.lost == 4 and t.pending == 0          # 17 and 30: header failures the gaps account for
    assert not t.add({"eob": True, **counters(end)})
    assert t.lost == 5 and t.pending == 1          # 49: only its header failure shows it
    assert t.snr_db == pytest.approx(12.0 + 0.1 * 48) and t.cfo_hz == pytest.approx(-250.0 + 48)
    assert t.summary() == summary_line(45, 5, 12.0 + 0.1 * 48, -202.0) == \
        "monitor: 45 frames, 5 lost, SNR 16.8 dB (last), CFO -202.0 Hz"


def test_tally_new_receivers_repeats_and_restarts():
    t = MonitorTally()
    for n, (seq, hf) in enumerate(((10, 0), (11, 1), (13, 1))):    # one receiver: a header failure, its gap
        t.add({"seq": seq, "header_failures": hf, "inferred": 0, "frames": n + 1})
    assert (t.gaps, t.pending, t.lost) == (1, 0, 1)
    t.add({"eob": True, "header_failures": 2, "inferred": 0, "frames": 3})        # one more at the end
    assert t.lost == 2
    # the next run: a new receiver, counting from 0; the numbering goes on: the gap of 14 (the
    # header failure at the end of the last run) takes the pending failure
    t.add({"seq": 15, "header_failures": 0, "inferred": 0, "frames": 1})
    assert (t.gaps, t.pending, t.lost) == (2, 0, 2)
    t.add({"seq": 15, "header_failures": 0, "inferred": 0, "frames": 2})          # a repeat: no gap
    t.add({"seq": 3, "header_failures": 0, "inferred": 0, "frames": 3})           # a restarted numbering
    t.add({"seq": 5, "header_failures": 0, "inferred": 0, "frames": 4})           # then a real gap
    assert t.gaps == 3 and t.frames == 7 and t.runs == 1
    with pytest.raises(ValueError, match="seq"):
        t.add({"snr_db": 3.0})


def test_publish_without_a_monitor_never_blocks_or_raises():
    batches, stats, end = _run()
    with MonitorFeed() as feed:
        folder = Path(feed.address[len("ipc://"):]).parent
        assert feed.address.startswith("ipc://") and folder.is_dir() and folder.stat().st_mode & 0o077 == 0
        t0 = time.monotonic()
        sent = sum(feed.publish(frames, s) for frames, s in zip(batches, stats))
        sent += feed.publish([], end, end=True)
        assert time.monotonic() - t0 < 2.0
        assert sent == 0 and feed.sent == 0 and feed.dropped == len(RECEIVED) + 1
        assert feed.publish([object()], stats[0]) == 0 and feed.last_error      # not a frame: dropped too
        assert feed.dropped == len(RECEIVED) + 2
    assert not folder.exists()
    assert feed.publish(batches[0], stats[0]) == 0 and feed.dropped == len(RECEIVED) + 2 + len(batches[0])


def test_publish_sends_the_receivers_pdus():
    """What a monitor gets is what Semantic OFDM RX publishes: frame_of restores each frame."""
    from semcom_phy.phy.pdu import frame_of, stats_of
    from semcom_phy.transport.pmt import parse_pdu

    batches, stats, end = _run()
    with MonitorFeed() as feed:
        ctx = zmq.Context()
        try:
            pull = ctx.socket(zmq.PULL)
            pull.setsockopt(zmq.LINGER, 0)
            pull.setsockopt(zmq.RCVTIMEO, 5000)
            pull.connect(feed.address)
            assert feed.wait_connected(5.0) and feed.peers == 1
            assert feed.publish(batches[0], stats[0]) == len(batches[0])
            assert feed.publish([], end, end=True) == 1
            got = [parse_pdu(pull.recv()) for _ in range(len(batches[0]) + 1)]
        finally:
            ctx.destroy(linger=0)
    for (meta, vector), f in zip(got, batches[0]):
        g = frame_of(meta, vector)
        assert g.seq == f.seq and g.snr_db == f.snr_db and g.cfo_hz == f.cfo_hz
        np.testing.assert_array_equal(g.symbols, f.symbols)
        np.testing.assert_array_equal(g.no_eff, f.no_eff)
        assert stats_of(meta) == stats[0]
    meta, vector = got[-1]
    assert meta["eob"] is True and vector.size == 0 and stats_of(meta) == end
    assert feed.dropped == 0 and feed.sent == len(batches[0]) + 1


def test_publish_to_a_monitor_that_lags_drops_copies():
    """A monitor that takes nothing: the feed's queue fills, and publish drops instead of waiting."""
    batches, stats, _ = _run()
    frames = [f for b in batches for f in b] * 40           # 1800 PDUs of ~3.5 kB
    with MonitorFeed(hwm=4) as feed:
        ctx = zmq.Context()
        try:
            pull = ctx.socket(zmq.PULL)
            pull.setsockopt(zmq.LINGER, 0)
            pull.setsockopt(zmq.RCVHWM, 4)
            pull.connect(feed.address)
            assert feed.wait_connected(5.0)
            t0 = time.monotonic()
            for a in range(0, len(frames), 4):
                feed.publish(frames[a:a + 4], stats[-1])
            assert time.monotonic() - t0 < 5.0
            assert feed.dropped > 0 and feed.sent + feed.dropped == len(frames)
        finally:
            ctx.destroy(linger=0)


# The block alone under GNU Radio's Python: PDUs posted in, what its three streams carry out.
BLOCK_RUN = r"""
import json, time
import numpy as np, pmt
from gnuradio import gr, blocks
from semcom_phy.gr import pdu_monitor

def pdu(meta, vec):
    d = pmt.make_dict()
    for k, v in meta.items():
        d = pmt.dict_add(d, pmt.intern(k), pmt.to_pmt(v))
    return pmt.cons(d, pmt.to_pmt(np.asarray(vec, np.complex64)))

tb = gr.top_block()
mon = pdu_monitor(0.0)
sym, snr, lost = blocks.vector_sink_c(), blocks.vector_sink_f(), blocks.vector_sink_f()
for port, sink in enumerate((sym, snr, lost)):
    tb.connect((mon, port), sink)
tb.start()
post = lambda m: mon.to_basic_block()._post(pmt.intern("pdus"), m)
for i, seq in enumerate([65534, 65535, 0, 2, 3, 6]):
    post(pdu(dict(seq=seq, snr_db=10.0 + i, cfo_hz=-100.0 * i, header_failures=int(i >= 3), inferred=0,
                  frames=i + 1, no_eff=np.ones(8, np.float32)), np.full(8, i + 1j, np.complex64)))
post(pdu({"eob": True, "header_failures": 2, "inferred": 0, "frames": 6}, np.zeros(0)))
post(pmt.intern("not a PDU"))
t0 = time.time()
while time.time() - t0 < 10 and len(lost.data()) < 7:
    time.sleep(0.02)
tb.stop(); tb.wait()
x = np.array(sym.data(), np.complex64)
print(json.dumps({"sym": np.stack([x.real, x.imag], 1).tolist(), "snr": list(snr.data()), "lost": list(lost.data()),
                  "dropped": mon.dropped}))
"""


@pytest.mark.gnuradio
@needs_gnuradio
def test_block_streams(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PYTHONPATH=package_path(tmp_path / "pkg"), PYTHONDONTWRITEBYTECODE="1")
    res = subprocess.run([GR_PYTHON, "-c", BLOCK_RUN], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["sym"] == [[float(i), 1.0] for i in range(6) for _ in range(8)]   # each frame's symbols, in order
    assert out["snr"] == [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 15.0]     # one per PDU; the end repeats the last
    # gaps: 0 -> 2 (1), 3 -> 6 (2); the header failure at 2 is the gap's; the one at the end is not
    assert out["lost"] == [0.0, 0.0, 0.0, 1.0, 1.0, 3.0, 4.0]
    assert out["dropped"] == 1
    lines = SUMMARY.findall(res.stdout)
    assert lines and lines[-1] == ("6", "4", "15.0", "-500.0")


@pytest.mark.gnuradio
@needs_gnuradio
def test_monitor_flowgraph_reports_frames_and_losses():
    """The monitor flowgraph offscreen, fed by a MonitorFeed: its summary line counts what was sent."""
    batches, stats, end = _run()
    with MonitorFeed() as feed:
        t0 = time.monotonic()
        fg = open_monitor(feed, report_s=0.2, show=False)
        assert feed.flowgraph is fg and feed.peers == 1
        for frames, s in zip(batches, stats):
            feed.publish(frames, s)
        feed.publish([], end, end=True)
        assert feed.dropped == 0 and feed.sent == len(RECEIVED) + 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and ("45", "5") not in [m[:2] for m in SUMMARY.findall(fg.log)]:
            fg.check()
            time.sleep(0.05)
        assert fg.stop() == 0, fg.log
        lines = SUMMARY.findall(fg.log)
        assert lines, fg.log
        assert lines[-1] == ("45", "5", "16.8", "-202.0"), fg.log     # the line printed at stop
        assert time.monotonic() - t0 < 20
