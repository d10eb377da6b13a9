"""The project's GNU Radio blocks (semcom_phy.gr): Semantic OFDM TX and RX in real flowgraphs
under Debian's Python, the torch side over ZeroMQ PDUs, and the contract a user's flowgraph meets."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.transport.zmq import GR_PYTHON, gnuradio_available, package_path

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.gnuradio,
              pytest.mark.skipif(gnuradio_available() is not None, reason="GNU Radio not installed: apt-get install "
                                 "gnuradio (make setup does)")]
needs_data = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")

# Under GNU Radio's Python: TX -> channel_model -> RX, PDUs posted into the TX, everything
# the blocks do reported as JSON.
BLOCKS_RUN = r"""
import json, sys, time
import numpy as np, pmt
from gnuradio import gr, blocks, channels
from semcom_phy.gr import semantic_ofdm_tx, semantic_ofdm_rx
from semcom_phy.phy import transmit
from semcom_phy.phy.pdu import parse_phy

class collect(gr.basic_block):
    def __init__(self):
        gr.basic_block.__init__(self, "collect", None, None)
        self.message_port_register_in(pmt.intern("in"))
        self.set_msg_handler(pmt.intern("in"), self.handle)
        self.got = []

    def handle(self, m):
        self.got.append((pmt.to_python(pmt.car(m)), len(pmt.c32vector_elements(pmt.cdr(m)))))

tb = gr.top_block()
tx, rx = semantic_ofdm_tx(""), semantic_ofdm_rx("")
sent = blocks.vector_sink_c()
ch = channels.channel_model(0.02, 0.0, 1.0, [1.0], 1, False)
out, c = blocks.vector_sink_c(), collect()
tb.connect(tx, ch, rx, out)
tb.connect(tx, sent)
tb.msg_connect(rx, "pdus", c, "in")
tb.start()
rng = np.random.default_rng(0)
payloads = [((rng.standard_normal(128) + 1j * rng.standard_normal(128)) / 2 ** 0.5).astype(np.complex64)
            for _ in range(40)]
for i, p in enumerate(payloads):
    meta = pmt.dict_add(pmt.make_dict(), pmt.intern("seq"), pmt.from_long((65530 + i) & 0xFFFF))
    if i == len(payloads) - 1:
        meta = pmt.dict_add(meta, pmt.intern("last"), pmt.PMT_T)
    tx.to_basic_block()._post(pmt.intern("pdus"), pmt.cons(meta, pmt.init_c32vector(128, p.tolist())))
bad = pmt.cons(pmt.make_dict(), pmt.init_f32vector(2, [1.0, 2.0]))          # not complex: dropped
tx.to_basic_block()._post(pmt.intern("pdus"), bad)
t0 = time.time()
while time.time() - t0 < 20 and not any(m.get("eob") for m, _ in c.got):
    time.sleep(0.05)
time.sleep(0.3)
tb.stop(); tb.wait()
ofdm, modem = parse_phy("")
burst = transmit(payloads, ofdm, modem, first_seq=65530).iq
iq = np.array(sent.data(), np.complex64)
tags = [(pmt.symbol_to_string(t.key), t.offset) for t in sent.tags()]
print(json.dumps({
    "same_samples": bool(np.array_equal(iq[:burst.size], burst)), "sent": int(iq.size), "burst": int(burst.size),
    "tail_max": float(np.abs(iq[burst.size:]).max()) if iq.size > burst.size else 0.0,
    "tags": {k: [o for kk, o in tags if kk == k] for k in ("tx_sob", "tx_eob", "packet_len")},
    "frame_starts": [t.offset for t in out.tags() if pmt.symbol_to_string(t.key) == "frame_start"],
    "pdus": [{k: v for k, v in m.items() if k in ("seq", "eob", "snr_db", "start", "frames")} | {"k": n}
             for m, n in c.got],
    "dropped": tx.dropped, "tx_frames": tx.frames, "late_tags": rx.late_tags,
}))
"""


def _gr(script: str, tmp_path: Path, timeout: int = 120) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONPATH=package_path(tmp_path / "pkg"), PYTHONDONTWRITEBYTECODE="1")
    res = subprocess.run([GR_PYTHON, "-c", script], capture_output=True, text=True, timeout=timeout, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_tx_sends_the_link_s_burst_with_burst_tags_and_rx_finds_every_frame(tmp_path):
    r = _gr(BLOCKS_RUN, tmp_path)
    assert r["same_samples"], "Semantic OFDM TX must send Link.run's burst sample for sample (one PHY)"
    assert r["tail_max"] == 0.0 and r["sent"] > r["burst"]            # the flush and settling zeros
    assert len(r["tags"]["tx_sob"]) == 1 and r["tags"]["tx_sob"] == [0]
    assert len(r["tags"]["tx_eob"]) == 1 and r["tags"]["packet_len"][0] == 0 and len(r["tags"]["packet_len"]) == 40
    assert r["dropped"] == 1 and r["tx_frames"] == 40                  # the bad PDU: counted, not sent
    frames = [p for p in r["pdus"] if "seq" in p]
    assert sorted(p["seq"] for p in frames) == sorted((65530 + i) & 0xFFFF for i in range(40))   # seq wraps
    assert all(p["k"] == 128 and p["snr_db"] > 20 for p in frames)
    (eob,) = [p for p in r["pdus"] if p.get("eob")]
    assert eob["frames"] == 40 and eob["k"] == 0
    assert sorted(r["frame_starts"]) == sorted(p["start"] for p in frames) and r["late_tags"] == 0


def _flowgraph_processes() -> list[str]:
    found = []
    for cmd in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmd.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "semantic_emulator" in text or "user_radio" in text:
            found.append(text)
    return found


@needs_data
def test_the_block_emulator_delivers_what_the_simulated_link_does():
    """512 images, AWGN 10 and 20 dB: TX -> channel_model -> RX inside GNU Radio, the torch side
    over ZeroMQ PDUs, against --link sim on the same images."""
    from semcom_phy.experiments import config as C
    from semcom_phy.experiments.loopback import run_loopback

    rows = {}
    for kind in ("flowgraph", "sim"):
        cfg = C.LoopbackConfig(num_images=512, snr_db=(10.0, 20.0), device="cpu", transport=C.TransportConfig(kind))
        rows[kind] = run_loopback(cfg, log=lambda *_: None).rows
    for fg, sim in zip(rows["flowgraph"], rows["sim"]):
        assert fg["frames_received"] == fg["frames_sent"] == 512 and fg["images_lost"] == 0, fg
        assert abs(fg["accuracy"] - sim["accuracy"]) <= 0.01, (fg["accuracy"], sim["accuracy"])
        assert abs(fg["psnr_db"] - sim["psnr_db"]) <= 0.1, (fg["psnr_db"], sim["psnr_db"])
        assert abs(fg["snr_est_db"] - fg["snr_db"]) < 0.5
    assert not _flowgraph_processes()


def _user_flowgraph(path: Path, with_rx: bool = True) -> Path:
    """A user's flowgraph: the message source, the TX straight into the RX (their radio would be
    between), the message sink; no channel parameters, so a radio link."""
    emulator = yaml.safe_load((REPO / "semcom_phy/flowgraphs/semantic_emulator.grc").read_text())
    keep = {"rx_address", "tx_address", "phy", "zeromq_pull_msg_source_0", "semcom_ofdm_tx_0",
            "zeromq_push_msg_sink_0", "blocks_null_sink_0"} | ({"semcom_ofdm_rx_0"} if with_rx else set())
    emulator["options"]["parameters"].update(id="user_radio", title="a user's flowgraph")
    emulator["blocks"] = [b for b in emulator["blocks"] if b["name"] in keep]
    emulator["connections"] = [c for c in ([["semcom_ofdm_tx_0", "0", "semcom_ofdm_rx_0", "0"],
                                            ["semcom_ofdm_rx_0", "0", "blocks_null_sink_0", "0"],
                                            ["semcom_ofdm_rx_0", "pdus", "zeromq_push_msg_sink_0", "in"],
                                            ["zeromq_pull_msg_source_0", "out", "semcom_ofdm_tx_0", "pdus"]])
                               if with_rx or "semcom_ofdm_rx_0" not in c]
    if not with_rx:
        emulator["connections"].append(["semcom_ofdm_tx_0", "0", "blocks_null_sink_0", "0"])
    path.write_text(yaml.safe_dump(emulator, sort_keys=False))
    return path


@needs_data
def test_a_user_flowgraph_runs_with_link_flowgraph(run_script, tmp_path):
    grc = _user_flowgraph(tmp_path / "user_radio.grc")
    res = run_script("scripts/loopback.py", "--link", "flowgraph", "--flowgraph", str(grc), "--num-images", "24",
                     "--no-plot", "--out", str(tmp_path / "runs"), "--json", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stderr
    (row,) = json.loads((tmp_path / "r.json").read_text())["results"]       # a radio link: one run
    assert row["frames_received"] == 24 and row["images_lost"] == 0 and row["accuracy"] > 0.8
    assert row["snr_db"] > 30                                               # no channel: as measured
    assert not _flowgraph_processes()


def test_a_flowgraph_that_breaks_the_contract_is_refused_before_any_work(run_script, tmp_path):
    grc = _user_flowgraph(tmp_path / "user_radio.grc", with_rx=False)
    t0 = time.monotonic()
    res = run_script("scripts/loopback.py", "--link", "flowgraph", "--flowgraph", str(grc), "--num-images", "4",
                     "--no-plot", "--out", str(tmp_path / "runs"))
    assert res.returncode == 2 and "does not meet the contract" in res.stderr and "Semantic OFDM RX" in res.stderr
    assert "Traceback" not in res.stderr and time.monotonic() - t0 < 30
    assert not (tmp_path / "runs").exists()


def test_make_setup_installs_the_blocks_for_gnu_radio_and_grc(tmp_path):
    """Debian's Python imports the blocks with no PYTHONPATH, and grcc finds their YAML with no
    GRC_BLOCKS_PATH (``make gr-blocks``, part of ``make setup``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "GRC_BLOCKS_PATH")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    res = subprocess.run([GR_PYTHON, "-c", "import semcom_phy.gr, sys; print('torch' in sys.modules)"],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "False", \
        f"GNU Radio's Python does not import semcom_phy.gr (run make gr-blocks):\n{res.stderr[-1500:]}"
    res = subprocess.run(["grcc", str(REPO / "semcom_phy/flowgraphs/semantic_emulator.grc"), "-o", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, f"grcc does not find the blocks (run make gr-blocks):\n{res.stdout}{res.stderr}"
    assert (tmp_path / "semantic_emulator.py").read_bytes() == \
        (REPO / "semcom_phy/flowgraphs/semantic_emulator.py").read_bytes()


def test_recording_over_a_flowgraph_link_is_refused_with_the_reason(run_script, tmp_path):
    res = run_script("scripts/loopback.py", "--link", "flowgraph", "--record", str(tmp_path / "rec"), "--num-images",
                     "4", "--no-plot", "--out", str(tmp_path / "runs"))
    assert res.returncode == 2 and "the IQ stays in the flowgraph" in res.stderr and "Traceback" not in res.stderr



@needs_data
@pytest.mark.parametrize("kind", ["sim", "flowgraph"])
def test_the_live_monitor_sees_every_frame_of_a_run(kind):
    """--monitor: the Qt monitor flowgraph (offscreen here) gets each frame the receiver finds, IQ
    path and block path alike, and says how many came and how many were lost."""
    from semcom_phy.experiments import config as C
    from semcom_phy.experiments.loopback import run_loopback
    from semcom_phy.transport.monitor import MonitorFeed, open_monitor

    feed = MonitorFeed()
    try:
        fg = open_monitor(feed, show=False)
        run_loopback(C.LoopbackConfig(num_images=48, snr_db=(15.0,), device="cpu", transport=C.TransportConfig(kind)),
                     log=lambda *_: None, monitor=feed)
        time.sleep(1.5)                                 # the monitor reports at most once a second
    finally:
        feed.close()
    assert feed.sent == 48 + 1 and feed.dropped == 0   # every frame, and the end of the run
    assert "monitor: 48 frames, 0 lost" in fg.log, fg.log[-1000:]
