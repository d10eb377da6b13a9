"""--link soapy and --link uhd (semcom_phy.transport.sdr): radios GNU Radio drives besides the Pluto.

No radio is attached here, so these tests check what a user without one (or without its driver)
gets: one error line within seconds that names the device string and what to install or check,
no traceback, no process left behind. The probe's messages are checked on their own, as are the
config, the command-line spelling ``--device ARGS`` and a flowgraph that fails after the probe.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from semcom_phy.config import OfdmConfig
from semcom_phy.experiments import config as C
from semcom_phy.experiments.radios import sdr_device_alias
from semcom_phy.transport import sdr
from semcom_phy.transport.sdr import PROBE_MARK, SdrConfig, parse_device, probe, probe_message
from semcom_phy.transport.zmq import FlowgraphError, gnuradio_available

GR_MISSING = gnuradio_available()
requires_gnuradio = pytest.mark.skipif(GR_MISSING is not None, reason=f"GNU Radio: {GR_MISSING}")
FLOWGRAPH_SCRIPTS = ("soapy_txrx.py", "uhd_txrx.py")


def _leftovers() -> list[str]:
    """Command lines of live processes that are a probe or one of the radio flowgraphs."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next((line for line in (entry / "status").read_text().splitlines() if line.startswith("State:")),
                         "")
        except OSError:
            continue
        if "Z" in state.split()[1:2]:                      # a zombie is no longer running
            continue
        if PROBE_MARK in cmdline or any(script in cmdline for script in FLOWGRAPH_SCRIPTS):
            found.append(f"{entry.name}: {cmdline}")
    return found


# --------------------------------------------------------------------------------------------
# the command line without a radio: fast, one clear line, nothing left behind
# --------------------------------------------------------------------------------------------

@pytest.mark.gnuradio
@requires_gnuradio
@pytest.mark.parametrize("script, link, device, hints", [
    ("scripts/loopback.py", "soapy", "driver=hackrf", ["soapysdr-module-hackrf", "SoapySDRUtil --find", "udev"]),
    ("scripts/loopback.py", "uhd", "type=b200", ["uhd_find_devices", "uhd_images_downloader"]),
    ("scripts/record.py", "uhd", "addr=192.168.10.2", ["uhd_find_devices", "192.168.10.2", "ping"]),
])
def test_a_link_without_its_radio_fails_at_once_naming_the_device_and_what_to_install(run_script, tmp_path, script,
                                                                                      link, device, hints):
    before = set(_leftovers())
    t0 = time.monotonic()
    res = run_script(script, "--link", link, "--device", device, "--num-images", "4", "--out", str(tmp_path / "out"),
                     timeout=60)
    took = time.monotonic() - t0
    assert res.returncode != 0, res.stdout
    assert took < 5.0, f"{script} --link {link} took {took:.1f} s to fail (the target is under 5 s)"
    err = res.stderr
    assert "Traceback" not in err and "Traceback" not in res.stdout, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert f"--link {link}" in lines[0] and repr(device) in lines[0], lines[0]
    for hint in hints:
        assert hint in lines[0], f"{hint!r} missing from: {lines[0]}"
    assert set(_leftovers()) <= before, f"left behind: {set(_leftovers()) - before}"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir()), "results written by a failed run"


def test_device_args_on_the_command_line_are_the_radios_and_torch_devices_stay_torchs():
    assert sdr_device_alias(["--link", "soapy", "--device", "driver=hackrf"]) == \
        ["--link", "soapy", "--sdr-device", "driver=hackrf"]
    assert sdr_device_alias(["--device=type=b200", "--link=uhd"]) == ["--sdr-device=type=b200", "--link=uhd"]
    assert sdr_device_alias(["--device", "cuda", "--link", "soapy", "--device", "driver=lime"]) == \
        ["--device", "cuda", "--link", "soapy", "--sdr-device", "driver=lime"]
    assert sdr_device_alias(["--link", "sim", "--device", "cpu"]) == ["--link", "sim", "--device", "cpu"]
    assert sdr_device_alias(["--link", "uhd", "--device", "hackrf"])[-2:] == ["--sdr-device", "hackrf"]
    assert sdr_device_alias(["--link", "pluto", "--device", "hackrf"])[-2:] == ["--device", "hackrf"]


def test_a_soapy_link_without_a_driver_is_refused_by_the_config(run_script, tmp_path):
    res = run_script("scripts/loopback.py", "--link", "soapy", "--num-images", "4", "--out", str(tmp_path), timeout=60)
    assert res.returncode == 2
    assert "TransportConfig.sdr.device = ''" in res.stderr and "driver=hackrf" in res.stderr
    res = run_script("scripts/loopback.py", "--link", "soapy", "--device", "hackrf", "--out", str(tmp_path), timeout=60)
    assert res.returncode == 2 and "'hackrf' is not key=value" in res.stderr


# --------------------------------------------------------------------------------------------
# the config
# --------------------------------------------------------------------------------------------

def test_the_radio_links_are_air_links_with_their_device_in_the_config():
    t = C.TransportConfig(kind="soapy", sdr=SdrConfig(device="driver=hackrf,serial=0a1b"))
    assert t.air and C.TransportConfig(kind="uhd").air and not C.TransportConfig().air
    assert C.load(C.LoopbackConfig, C.dump(C.LoopbackConfig(transport=t))).transport == t   # YAML round trip
    cfg = C.load(C.LoopbackConfig, {"transport": {"kind": "uhd", "sdr": {"device": "type=b200"}},
                                    "link": {"ofdm": {"sample_rate_hz": 4e6}}})   # the grid's rate, not the Pluto's
    assert cfg.runs == (None,) and cfg.transport.sdr.tx == cfg.transport.sdr.rx == "type=b200"


@pytest.mark.parametrize("kind, sdr_cfg, message", [
    ("soapy", {}, "TransportConfig.sdr.device = '': --link soapy needs a SoapySDR device string naming its driver"),
    ("soapy", {"device": "type=b200"}, "naming its driver"),
    ("soapy", {"device": "driver=hackrf", "rx_device": "serial=1"}, "TransportConfig.sdr.rx_device = 'serial=1'"),
    ("uhd", {"device": "type=b200,serial"}, "SdrConfig.device = 'type=b200,serial': 'serial' is not key=value"),
    ("uhd", {"device": "type='b200'"}, "no quotes"),
    ("uhd", {"lo_hz": 9e9}, "SdrConfig.lo_hz = 9e+09 is out of range: allowed [10000, 8e+09] Hz"),
    ("uhd", {"tx_gain_db": "10"}, "SdrConfig.tx_gain_db = '10': must be a finite number"),
    ("uhd", {"rx_antenna": "RX2,TX"}, "SdrConfig.rx_antenna = 'RX2,TX': an antenna name"),
    ("uhd", {"tx_peak_dbfs": 3.0}, "SdrConfig.tx_peak_dbfs = 3.0 is out of range"),
])
def test_bad_radio_settings_are_named(kind, sdr_cfg, message):
    with pytest.raises(ValueError) as err:
        C.load(C.TransportConfig, {"kind": kind, "sdr": sdr_cfg})
    assert message in str(err.value)


def test_the_carrier_of_a_run_is_the_radio_links_own():
    from semcom_phy.experiments.loopback import carrier_hz

    assert carrier_hz(C.TransportConfig(kind="uhd", sdr=SdrConfig(device="type=b200", lo_hz=915e6))) == 915e6
    assert carrier_hz(C.TransportConfig(kind="pluto-gnuradio")) == C.TransportConfig().radio.lo_hz


def test_two_soapy_radios_may_each_name_their_driver():
    t = C.TransportConfig(kind="soapy", sdr=SdrConfig(tx_device="driver=hackrf,serial=a",
                                                      rx_device="driver=hackrf,serial=b"))
    assert (t.sdr.tx, t.sdr.rx) == ("driver=hackrf,serial=a", "driver=hackrf,serial=b")
    assert parse_device(" driver = uhd , type=b200,") == {"driver": "uhd", "type": "b200"}


# --------------------------------------------------------------------------------------------
# the probe and its messages
# --------------------------------------------------------------------------------------------

def test_soapy_messages_name_the_device_and_the_package_to_install():
    base = {"kind": "soapy", "stage": "enumerate", "found": [], "modules": [],
            "search_paths": ["/usr/lib/x86_64-linux-gnu/SoapySDR/modules0.8"]}
    m = probe_message({**base, "device": "driver=hackrf"})
    assert "no SoapySDR device matches 'driver=hackrf'" in m and "apt-get install soapysdr-module-hackrf" in m
    assert "no device module installed at all" in m and "modules0.8" in m
    assert "SoapySDRUtil --find='driver=hackrf'" in m and "python3-soapysdr" in m and "udev" in m
    m = probe_message({**base, "device": "driver=lime,serial=1D3", "modules": ["/x/libuhdSupport.so"]})
    assert "soapysdr-module-lms7" in m and "modules installed: libuhdSupport.so" in m and "LimeUtil" in m
    m = probe_message({**base, "device": "driver=plutosdr,hostname=192.168.2.1"})
    assert "SoapyPlutoSDR" in m and "--link pluto-gnuradio" in m and "soapysdr-module-plutosdr" not in m
    m = probe_message({**base, "device": "driver=rtlsdr"})
    assert "soapysdr-module-rtlsdr" in m and "only receive" in m
    m = probe_message({**base, "device": "driver=foo"})
    assert "soapysdr-module-all" in m
    assert probe_message({**base, "device": "driver=hackrf", "found": [{"driver": "hackrf", "serial": "1"}]}) is None


def test_uhd_messages_point_at_usb_or_the_network_by_the_device_string():
    base = {"kind": "uhd", "stage": "find", "found": []}
    m = probe_message({**base, "device": "type=b200"})
    assert "no USRP matches 'type=b200'" in m and "uhd_find_devices --args 'type=b200'" in m
    assert "uhd_images_downloader" in m and "udev" in m and "ping" not in m
    m = probe_message({**base, "device": "addr=192.168.10.2"})
    assert "192.168.10.2 reachable" in m and "ping" in m and "uhd_images_downloader" not in m
    m = probe_message({**base, "device": ""})
    assert "'' (the first device found)" in m and "uhd_images_downloader" in m and "ping" in m
    assert probe_message({**base, "device": "type=b200", "found": [{"type": "b200"}]}) is None


def test_import_timeout_and_crash_messages():
    m = probe_message({"kind": "uhd", "device": "type=b200", "stage": "import", "error": "ImportError: libuhd"})
    assert "gr-uhd does not import" in m and "apt-get install gnuradio" in m
    m = probe_message({"kind": "soapy", "device": "driver=hackrf", "stage": "timeout", "timeout_s": 6.0})
    assert "did not finish in 6 s" in m and "'driver=hackrf'" in m and "SoapySDRUtil --find='driver=hackrf'" in m
    m = probe_message({"kind": "uhd", "device": "type=b200", "stage": "crash", "error": "Segmentation fault"})
    assert "crashed" in m and "'type=b200'" in m


@pytest.mark.gnuradio
@requires_gnuradio
@pytest.mark.parametrize("kind, device, hint", [("soapy", "driver=hackrf", "soapysdr-module-hackrf"),
                                                ("uhd", "type=b200", "uhd_find_devices")])
def test_the_real_probe_without_a_radio(kind, device, hint):
    t0 = time.monotonic()
    with pytest.raises(FlowgraphError) as err:
        probe(kind, device, cache_s=0)
    assert time.monotonic() - t0 < 5.0
    assert repr(device) in str(err.value) and hint in str(err.value)
    assert not _leftovers()


def test_a_probe_that_hangs_is_stopped_with_its_processes(tmp_path):
    pid_file = tmp_path / "pids"
    fake = tmp_path / "python3"                                 # stands in for a driver that hangs
    fake.write_text(f"#!/bin/sh\nsleep 60 &\necho $$ $! > {pid_file}\nwait\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    t0 = time.monotonic()
    with pytest.raises(FlowgraphError, match=r"did not finish in 1 s: a radio or driver that hangs"):
        probe("uhd", "type=b200", python=str(fake), timeout_s=1.0, cache_s=0)
    assert time.monotonic() - t0 < 4.0
    pids = [int(p) for p in pid_file.read_text().split()]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids), "the probe's processes outlived it"


def test_a_device_found_is_returned_and_not_probed_again_for_a_while(tmp_path):
    calls = tmp_path / "calls"
    fake = tmp_path / "python3"                                 # a probe that finds one USRP
    fake.write_text(f"#!/bin/sh\necho x >> {calls}\necho '[INFO] [UHD] linux'\n"
                    "echo '{\"kind\": \"uhd\", \"device\": \"type=b200\", \"stage\": \"find\", "
                    "\"found\": [{\"type\": \"b200\", \"serial\": \"30AD123\"}]}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    assert probe("uhd", "type=b200", python=str(fake)) == [{"type": "b200", "serial": "30AD123"}]
    assert probe("uhd", "type=b200", python=str(fake))            # the CLI probed first: not again
    assert calls.read_text().count("x") == 1
    probe("uhd", "type=b200", python=str(fake), cache_s=0)
    assert calls.read_text().count("x") == 2


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


# --------------------------------------------------------------------------------------------
# a flowgraph that fails after the probe (a driver that finds the device but cannot open it)
# --------------------------------------------------------------------------------------------

@pytest.mark.gnuradio
@requires_gnuradio
@pytest.mark.parametrize("kind, device, cause", [("soapy", "driver=hackrf", "Device::make() no match"),
                                                 ("uhd", "type=b200", "No devices found")])
def test_a_flowgraph_that_does_not_start_is_one_clear_error_and_leaves_nothing(monkeypatch, kind, device, cause):
    monkeypatch.setattr(sdr, "probe", lambda *a, **k: [{}])       # as if the device had been found
    before = {p.name for p in Path(tempfile.gettempdir()).glob("semcom_zmq_*")}
    with pytest.raises(FlowgraphError) as err:
        sdr.sdr_flowgraph(kind, SdrConfig(device=device), OfdmConfig())
    text = str(err.value)
    assert text.startswith(f"--link {kind}: the {sdr.FLOWGRAPHS[kind]} flowgraph did not start with {device!r}")
    assert cause in text and "Traceback" not in text
    if kind == "soapy":
        assert "half duplex" in text                          # one HackRF for TX and RX
    assert not _leftovers()
    after = {p.name for p in Path(tempfile.gettempdir()).glob("semcom_zmq_*")}
    assert after <= before, "private endpoint folder left behind"


# --------------------------------------------------------------------------------------------
# the whole path with stand-in radios: the generated flowgraphs under GNU Radio, gr-soapy and
# gr-uhd replaced by blocks that loop TX back to RX over ZeroMQ and log every setting
# --------------------------------------------------------------------------------------------

FAKE_RADIOS = r"""
import json, os
from gnuradio import gr, zeromq

LOOP, LOG = os.environ["FAKE_RADIO_LOOP"], os.environ["FAKE_RADIO_LOG"]
C = gr.sizeof_gr_complex


def log(*call):
    with open(LOG, "a") as f:
        f.write(json.dumps(call) + "\n")


class Radio(gr.hier_block2):
    def __init__(self, kind, tx, device):
        log(kind, "make", device)
        none, one = gr.io_signature(0, 0, 0), gr.io_signature(1, 1, C)
        if tx:
            gr.hier_block2.__init__(self, kind, one, none)
            self.connect(self, zeromq.push_sink(C, 1, LOOP, 100, False, -1))
        else:
            gr.hier_block2.__init__(self, kind, none, one)
            self.connect(zeromq.pull_source(C, 1, LOOP, 100, False, -1), self)
        self.kind, self.antenna = kind, "TX/RX" if tx else "RX2"

    def get_antenna(self, *chan):
        return self.antenna

    def __getattr__(self, name):                        # set_frequency, set_gain, ...: logged
        if name.startswith("set_"):
            return lambda *args: log(self.kind, name, *args)
        return gr.hier_block2.__getattr__(self, name)            # the block's own (to_basic_block...)


class soapy:
    source = staticmethod(lambda dev, fmt, n, args, *rest: Radio("soapy_rx", False, f"{dev} | {args}"))
    sink = staticmethod(lambda dev, fmt, n, args, *rest: Radio("soapy_tx", True, f"{dev} | {args}"))


class uhd:
    stream_args = staticmethod(lambda **kw: kw)
    usrp_source = staticmethod(lambda args, stream, *rest: Radio("uhd_rx", False, args))
    usrp_sink = staticmethod(lambda args, stream, *rest: Radio("uhd_tx", True, args))
"""

SHIM = r"""
import runpy, sys
import gnuradio, fake_radios
gnuradio.soapy = sys.modules["gnuradio.soapy"] = fake_radios.soapy
gnuradio.uhd = sys.modules["gnuradio.uhd"] = fake_radios.uhd
sys.argv = [a for a in sys.argv[1:] if a != "-u"]                   # Flowgraph runs `python -u script ...`
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture
def fake_radio_python(tmp_path, monkeypatch):
    """A ``python`` for :class:`Flowgraph`: Debian's, with gr-soapy and gr-uhd stood in for."""
    (tmp_path / "fake_radios.py").write_text(FAKE_RADIOS)
    (tmp_path / "shim.py").write_text(SHIM)
    log = tmp_path / "radio.log"
    wrapper = tmp_path / "python3"
    wrapper.write_text(f"#!/bin/sh\nexport PYTHONPATH={tmp_path} FAKE_RADIO_LOG={log} "
                       f"FAKE_RADIO_LOOP=ipc://{tmp_path}/loop\nexec /usr/bin/python3 -u {tmp_path}/shim.py \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(sdr, "probe", lambda *a, **k: [{}])
    return str(wrapper), log


@pytest.mark.gnuradio
@requires_gnuradio
@pytest.mark.parametrize("kind, cfg", [
    ("soapy", SdrConfig(device="driver=hackrf", tx_device="driver=hackrf,serial=a", lo_hz=915e6, tx_gain_db=20,
                        rx_gain_db=40)),
    ("uhd", SdrConfig(device="type=b200", lo_hz=915e6, tx_gain_db=20, rx_gain_db=40, rx_antenna="TX/RX")),
])
def test_the_flowgraph_carries_the_iq_and_gives_the_radio_its_settings(fake_radio_python, kind, cfg):
    import json

    python, log = fake_radio_python
    ofdm = OfdmConfig()
    x = (np.exp(2j * np.pi * 0.01 * np.arange(50_000)) * 0.5).astype(np.complex64)
    with sdr.sdr_flowgraph(kind, cfg, ofdm, python=python) as t:
        assert t.stream_rate_hz == ofdm.sample_rate_hz
        t.send(x)
        y = t.drain(timeout_s=10.0)
        flowgraph = t.flowgraph
    assert flowgraph.proc.returncode == 0, flowgraph.log
    scale = 10 ** ((cfg.tx_peak_dbfs - 10.0) / 20)
    assert y.size >= x.size - 8192, f"{y.size} of {x.size} samples came back"
    np.testing.assert_allclose(y[:1000], x[:1000] * scale, atol=1e-6)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    made = {c[0]: c[2] for c in calls if c[1] == "make"}
    tx, rx = f"{kind}_tx", f"{kind}_rx"
    if kind == "soapy":
        assert made == {tx: "driver=hackrf | driver=hackrf,serial=a", rx: "driver=hackrf | driver=hackrf"}
        assert [tx, "set_antenna", 0, "TX/RX"] in calls and [rx, "set_antenna", 0, "RX2"] in calls  # kept
        assert [tx, "set_frequency", 0, 915e6] in calls and [rx, "set_gain", 0, 40.0] in calls
        assert [rx, "set_gain_mode", 0, False] in calls and [tx, "set_sample_rate", 0, ofdm.sample_rate_hz] in calls
    else:
        assert made == {tx: "type=b200,", rx: "type=b200,"}
        assert [tx, "set_antenna", "TX/RX", 0] in calls and [rx, "set_antenna", "TX/RX", 0] in calls
        assert [tx, "set_center_freq", 915e6, 0] in calls and [rx, "set_gain", 40.0, 0] in calls
        assert [tx, "set_samp_rate", ofdm.sample_rate_hz] in calls and [tx, "set_gain", 20.0, 0] in calls
    assert not _leftovers()
