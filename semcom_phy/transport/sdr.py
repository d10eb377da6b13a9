"""Radios GNU Radio drives besides the PlutoSDR: SoapySDR devices (HackRF, USRP, LimeSDR, bladeRF,
PlutoSDR... through gr-soapy) and USRPs (through gr-uhd), as ``--link soapy`` and ``--link uhd``.

The IQ goes over ZeroMQ into a shipped flowgraph, as for ``--link pluto-gnuradio``:
``semcom_phy/flowgraphs/soapy_txrx.py`` or ``uhd_txrx.py`` behind a streaming
:class:`~semcom_phy.transport.zmq.ZmqTransport`, the flowgraph started by
:class:`~semcom_phy.transport.zmq.Flowgraph` under Debian's ``/usr/bin/python3``.

Before a flowgraph starts, :func:`probe` looks for the device in a short subprocess under that
Python (SoapySDR's enumeration, UHD's ``find``; a few seconds at most): a missing driver module,
an unplugged radio or a wrong device string is a :class:`~semcom_phy.transport.zmq.FlowgraphError`
at once that names the device string and what to install or check (:func:`probe_message`),
instead of a flowgraph traceback.

This module imports neither GNU Radio nor numpy at import time (the experiment configs use
:class:`SdrConfig`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass

from ..validation import check_field

SDR_LINKS = ("soapy", "uhd")
"""The links of this module: SoapySDR devices through gr-soapy, USRPs through gr-uhd."""
FLOWGRAPHS = {"soapy": "soapy_txrx", "uhd": "uhd_txrx"}
PROBE_TIMEOUT_S = 6.0           # a probe that answers in none of this is a radio or a driver that hangs
PROBE_CACHE_S = 120.0           # a device found this recently is not probed again (the CLI probes first)
PROBE_MARK = "semcom-sdr-probe"  # on the probe's command line (tests look for leftovers by it)
GR_PYTHON = "/usr/bin/python3"  # as semcom_phy.transport.zmq.GR_PYTHON (not imported here: numpy)

# Debian 12 packages of SoapySDR's device modules, by driver key (``driver=KEY``); None: not packaged
SOAPY_PACKAGES = {
    "hackrf": "soapysdr-module-hackrf",
    "uhd": "soapysdr-module-uhd",
    "lime": "soapysdr-module-lms7",
    "lms7": "soapysdr-module-lms7",
    "bladerf": "soapysdr-module-bladerf",
    "rtlsdr": "soapysdr-module-rtlsdr",
    "airspy": "soapysdr-module-airspy",
    "xtrx": "soapysdr-module-xtrx",
    "redpitaya": "soapysdr-module-redpitaya",
    "remote": "soapysdr-module-remote",
    "plutosdr": None,
}
RECEIVE_ONLY = ("rtlsdr", "airspy", "airspyhf", "sdrplay", "rfspace", "audio")
USB_USRPS = ("b200", "b200mini", "b205mini", "b210", "b100", "usrp1")   # ``type=`` of USB USRPs (and slips)


def parse_device(device: str, name: str = "device", owner=None) -> dict[str, str]:
    """A device string, ``key=value`` pairs separated by commas (SoapySDR's and UHD's form:
    ``driver=uhd,type=b200``, ``addr=192.168.10.2``), as a dict; ``""`` is ``{}``.

    Raises ValueError naming the field and the bad part (a pair without ``=``, an empty key, a
    quote, a line break)."""
    label = f"{owner}.{name}" if owner else name
    if not isinstance(device, str):
        raise ValueError(f"{label} = {device!r}: a device string such as 'driver=hackrf' or 'type=b200'")
    if any(c in device for c in "\"'\n\r\t\0"):
        raise ValueError(f"{label} = {device!r}: no quotes, tabs or line breaks (pairs key=value, comma separated)")
    pairs: dict[str, str] = {}
    for part in device.split(","):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip() or " " in key.strip():
            raise ValueError(f"{label} = {device!r}: {part.strip()!r} is not key=value (a device string is "
                             "key=value pairs separated by commas, e.g. 'driver=uhd,type=b200')")
        pairs[key.strip()] = value.strip()
    return pairs


@dataclass(frozen=True)
class SdrConfig:
    """Settings of a radio behind ``--link soapy`` or ``--link uhd`` (the sample rate and the
    analog bandwidth are the OFDM grid's).

    ``device``: the radio for both directions. For ``soapy`` a SoapySDR device string naming its
    driver (``driver=hackrf``, ``driver=uhd,type=b200``, ``driver=lime``, ``driver=bladerf``,
    ``driver=plutosdr,hostname=192.168.2.1``); for ``uhd`` UHD device arguments (``type=b200``,
    ``serial=30AD123``, ``addr=192.168.10.2``; empty: the first USRP found). ``tx_device`` /
    ``rx_device``: two radios (each defaults to ``device``; a HackRF is half duplex, so a HackRF
    link needs two). ``tx_gain_db`` / ``rx_gain_db``: the device's overall gain (SoapySDR spreads
    it over the gain stages; manual, no AGC), checked by the device against its own range.
    ``tx_antenna`` / ``rx_antenna``: empty for the flowgraph's default (Soapy: the device's
    current antenna; UHD: ``TX/RX`` and ``RX2``). ``tx_peak_dbfs``: the burst's peak below the
    sink's full scale (+-1.0), with a 10 dB allowance for the OFDM PAPR as for the Pluto."""

    device: str = ""
    tx_device: str = ""
    rx_device: str = ""
    lo_hz: float = 2.4e9
    tx_gain_db: float = 0.0
    rx_gain_db: float = 30.0
    tx_antenna: str = ""
    rx_antenna: str = ""
    tx_peak_dbfs: float = -6.0

    def __post_init__(self):
        for name in ("device", "tx_device", "rx_device"):
            parse_device(getattr(self, name), name, owner="SdrConfig")
        for name in ("tx_antenna", "rx_antenna"):
            value = getattr(self, name)
            if not isinstance(value, str) or any(c in value for c in "\"'\n\r\t\0,="):
                raise ValueError(f"SdrConfig.{name} = {value!r}: an antenna name such as 'TX/RX' or 'RX2' "
                                 "(empty: the flowgraph's default)")
        check_field(self, "lo_hz", 1e4, 8e9, unit="Hz", fmt="g")
        check_field(self, "tx_gain_db", -50.0, 120.0)
        check_field(self, "rx_gain_db", -50.0, 120.0)
        check_field(self, "tx_peak_dbfs", -40.0, 0.0)

    @property
    def tx(self) -> str:
        return self.tx_device or self.device

    @property
    def rx(self) -> str:
        return self.rx_device or self.device


def check_device(kind: str, cfg: SdrConfig, owner: str = "TransportConfig.sdr") -> None:
    """The device strings ``kind`` needs: a Soapy device must name its driver (``driver=...``)."""
    if kind != "soapy":
        return
    for name in ("device", "tx_device", "rx_device"):
        value = getattr(cfg, name)
        if name != "device" and not value:
            continue
        if "driver" not in parse_device(value) or not parse_device(value)["driver"]:
            if name == "device" and cfg.tx_device and cfg.rx_device and not value:
                continue                                        # two radios, both named
            raise ValueError(f"{owner}.{name} = {value!r}: --link soapy needs a SoapySDR device string naming its "
                             "driver, e.g. --device driver=hackrf, driver=uhd,type=b200, driver=lime, driver=bladerf "
                             "(SoapySDRUtil --find lists the devices SoapySDR sees)")


# ---- the probe ---------------------------------------------------------------------------------

# Runs under Debian's Python: finds the device without opening it where it can (SoapySDR's C API
# through ctypes, UHD's find) and prints one JSON line. Always exits 0; the parent reads the line.
PROBE_SCRIPT = r'''
import json, sys
mark, kind, device = sys.argv[1:4]
out = {"kind": kind, "device": device}
def done(**kw):
    out.update(kw)
    print("\n" + json.dumps(out), flush=True)
    sys.exit(0)
try:
    from gnuradio import gr, zeromq
    if kind == "soapy":
        from gnuradio import soapy
    else:
        from gnuradio import uhd
except Exception as err:
    done(stage="import", error=f"{type(err).__name__}: {err}")
if kind == "uhd":
    try:
        find = getattr(uhd, "find", None) or uhd.find_devices     # 3.10.5's find_devices is broken
        found = [dict(kv.split("=", 1) for kv in a.to_string().split(",") if "=" in kv)
                 for a in find(uhd.device_addr_t(device))]
    except Exception as err:
        done(stage="find", error=f"{type(err).__name__}: {err}")
    done(stage="find", found=found)
try:
    import ctypes, ctypes.util
    lib = ctypes.CDLL(ctypes.util.find_library("SoapySDR") or "libSoapySDR.so.0.8")
    class Kwargs(ctypes.Structure):
        _fields_ = [("size", ctypes.c_size_t), ("keys", ctypes.POINTER(ctypes.c_char_p)),
                    ("vals", ctypes.POINTER(ctypes.c_char_p))]
    def strings(fn):
        fn.restype, fn.argtypes = ctypes.POINTER(ctypes.c_char_p), [ctypes.POINTER(ctypes.c_size_t)]
        n = ctypes.c_size_t()
        p = fn(ctypes.byref(n))
        return [p[i].decode(errors="replace") for i in range(n.value)]
    modules = strings(lib.SoapySDR_listModules)
    paths = strings(lib.SoapySDR_listSearchPaths)
    lib.SoapySDRDevice_enumerateStrArgs.restype = ctypes.POINTER(Kwargs)
    lib.SoapySDRDevice_enumerateStrArgs.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t)]
    n = ctypes.c_size_t()
    res = lib.SoapySDRDevice_enumerateStrArgs(device.encode(), ctypes.byref(n))
    found = [{res[i].keys[j].decode(errors="replace"): res[i].vals[j].decode(errors="replace")
              for j in range(res[i].size)} for i in range(n.value)]
except Exception:                           # no C API to hand: open the device with gr-soapy
    try:
        soapy.source(device, "fc32", 1, "", "", [""], [""])
    except Exception as err2:
        done(stage="open", found=[], error=f"{type(err2).__name__}: {err2}")
    done(stage="open", found=[{"opened": device}])
done(stage="enumerate", found=found, modules=modules, search_paths=paths)
'''

_found: dict[tuple[str, str, str], float] = {}      # (kind, device, python) -> when it was found


def probe(kind: str, device: str, python: str = GR_PYTHON, timeout_s: float = PROBE_TIMEOUT_S,
          cache_s: float = PROBE_CACHE_S) -> list[dict]:
    """Find the ``kind`` device ``device`` (``soapy``: SoapySDR's enumeration; ``uhd``: UHD's
    find) in a subprocess under ``python`` within ``timeout_s``; returns what was found (device
    keys and values). A device found in the last ``cache_s`` seconds is not probed again.

    Raises :class:`~semcom_phy.transport.zmq.FlowgraphError` with :func:`probe_message`'s text
    when GNU Radio's module does not import, no device matches, or the probe does not answer;
    the probe's process (its whole group) is gone when this returns or raises."""
    from .zmq import FlowgraphError

    if kind not in SDR_LINKS:
        raise ValueError(f"kind = {kind!r}: allowed values are {', '.join(map(repr, SDR_LINKS))}")
    parse_device(device)
    key = (kind, device, python)
    if time.monotonic() - _found.get(key, -1e18) < cache_s:
        return [{}]
    if not os.path.isfile(python):
        raise FlowgraphError(f"--link {kind}: {python} not found: GNU Radio's radio flowgraphs run under Debian's "
                             "Python (apt-get install gnuradio; make setup does)")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.Popen([python, "-c", PROBE_SCRIPT, PROBE_MARK, kind, device], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                            start_new_session=True, env=env)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except BaseException as err:                                # a timeout, Ctrl-C: the probe goes
        try:
            os.killpg(proc.pid, signal.SIGKILL)                 # its group (not reaped yet: still its id)
        except ProcessLookupError:
            pass
        proc.communicate()
        if not isinstance(err, subprocess.TimeoutExpired):
            raise
        info = {"kind": kind, "device": device, "stage": "timeout", "timeout_s": timeout_s}
        raise FlowgraphError(probe_message(info)) from None
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    try:
        info = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = (stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        info = {"kind": kind, "device": device, "stage": "crash", "error": tail}
    message = probe_message(info)
    if message:
        raise FlowgraphError(message)
    _found[key] = time.monotonic()
    return info["found"]


def probe_message(info: dict) -> str | None:
    """What a probe's result means for the user, or None when the device was found. ``info``:
    the probe's JSON (``kind``, ``device``, ``stage`` = ``import`` / ``find`` / ``enumerate`` /
    ``open`` / ``timeout`` / ``crash``, ``found``, ``error``, for Soapy ``modules`` and
    ``search_paths``). The message names the device string and what to install or check."""
    kind, device, stage = info["kind"], info["device"], info.get("stage")
    if stage in ("find", "enumerate", "open") and info.get("found") and not info.get("error"):
        return None
    shown = repr(device) if device else "'' (the first device found)"
    if stage == "import":
        module = "gr-soapy" if kind == "soapy" else "gr-uhd"
        return (f"--link {kind}: GNU Radio's {module} does not import under {GR_PYTHON} ({info.get('error')}): "
                f"apt-get install gnuradio (make setup does); it brings {module}")
    if stage == "timeout":
        return (f"--link {kind}: looking for the device {shown} did not finish in {info['timeout_s']:g} s: a radio or "
                "driver that hangs. Unplug and replug the radio, check `dmesg`, and try "
                + (f"`SoapySDRUtil --find='{device}'`" if kind == "soapy" else f"`uhd_find_devices --args '{device}'`"))
    if stage == "crash":
        check = "SoapySDRUtil --info" if kind == "soapy" else "uhd_config_info --version"
        return (f"--link {kind}: the device probe for {shown} crashed under {GR_PYTHON} ({info.get('error')}); "
                f"check the driver installation ({check})")
    if kind == "soapy":
        return _soapy_message(info, shown)
    return _uhd_message(info, shown)


def _soapy_message(info: dict, shown: str) -> str:
    device = info["device"]
    driver = parse_device(device).get("driver", "")
    text = [f"--link soapy: no SoapySDR device matches {shown}"]
    if info.get("error"):
        text[0] += f" ({info['error']})"
    modules = info.get("modules")
    if modules is not None:
        names = ", ".join(os.path.basename(m) for m in modules)
        text.append(f"SoapySDR device modules installed: {names}" if modules else
                    "SoapySDR has no device module installed at all (searched "
                    f"{', '.join(info.get('search_paths') or []) or 'its module folders'})")
    package = SOAPY_PACKAGES.get(driver, "soapysdr-module-all")
    if driver == "plutosdr":
        text.append("Debian 12 packages no SoapySDR module for the PlutoSDR: build SoapyPlutoSDR "
                    "(https://github.com/pothosware/SoapyPlutoSDR), or drive the Pluto with --link pluto-gnuradio "
                    "(gr-iio) or --link pluto (pyadi-iio)")
    else:
        text.append(f"Install the driver's module: apt-get install {package}"
                    + ("" if package == "soapysdr-module-all" else " (every packaged one: soapysdr-module-all)"))
    if driver in RECEIVE_ONLY:
        text.append(f"note: {driver} devices only receive; this link transmits too")
    text.append(f"Then check that SoapySDR sees the radio: apt-get install soapysdr-tools python3-soapysdr; "
                f"SoapySDRUtil --find='{device}' (SoapySDRUtil --probe='{device}' lists its antennas and gains)")
    hint = {"hackrf": "hackrf_info (hackrf)", "uhd": "uhd_find_devices (uhd-host; uhd_images_downloader fetches "
            "the FPGA images a USRP needs)", "lime": "LimeUtil --find (limesuite)", "bladerf": "bladeRF-cli -p "
            "(bladerf)"}.get(driver)
    if hint:
        text[-1] += f"; {hint}"
    text.append("Over USB, the udev rules of the driver's package must let this user open the radio: replug it "
                "after installing, or add the user to the plugdev group; check the device string's keys "
                "(serial=...) against what --find prints")
    return ". ".join(text) + "."


def _uhd_message(info: dict, shown: str) -> str:
    device = info["device"]
    args = parse_device(device)
    text = [f"--link uhd: no USRP matches {shown}"]
    if info.get("error"):
        text[0] += f" ({info['error']})"
    text.append(f"Check what UHD sees: uhd_find_devices --args '{device}' (apt-get install uhd-host); "
                "uhd_usrp_probe --args '...' lists the antennas and gains of one found")
    network = any(k in args for k in ("addr", "mgmt_addr", "second_addr", "resource"))
    usb = args.get("type", "") in USB_USRPS                    # neither named: both hints
    if usb or not network:
        text.append("USB (B200, B210, B200mini): a USB 3 port, uhd-host's udev rules so that this user can open it "
                    "(replug after installing), and the firmware and FPGA images: uhd_images_downloader "
                    "(uhd_images_downloader -t b2xx for the B2xx only)")
    if network or not usb:
        addr = args.get("addr") or args.get("mgmt_addr") or "the radio's address"
        text.append(f"Network (N2xx, X3xx, N3xx): the address {addr} reachable (ping it; a host interface on its "
                    "subnet, e.g. 192.168.10.1/24 for 192.168.10.2; UDP not firewalled; MTU 9000 for 10 GbE)")
    if args.get("type", "").startswith(("b21", "b20")) and args["type"] != "b200":
        text.append(f"UHD names every B2xx type=b200 (not type={args['type']}): product=B210 or serial=... "
                    "tells them apart")
    text.append("A device string is UHD's: type=b200, serial=30AD123, addr=192.168.10.2 (empty: the first found)")
    return ". ".join(text) + "."


# ---- the transport -----------------------------------------------------------------------------

def preflight(kind: str, cfg: SdrConfig, python: str = GR_PYTHON) -> None:
    """Before any work: ``cfg``'s device strings are ``kind``'s and every device is found
    (:func:`probe`); raises ValueError or FlowgraphError naming what is wrong."""
    check_device(kind, cfg, owner="SdrConfig")
    for device in dict.fromkeys((cfg.tx, cfg.rx)):
        probe(kind, device, python)


def sdr_flowgraph(kind: str, cfg: SdrConfig, ofdm, python: str | None = None):
    """The radio(s) of ``cfg`` through GNU Radio: ``semcom_phy/flowgraphs/soapy_txrx.py`` (``kind``
    ``soapy``) or ``uhd_txrx.py`` (``uhd``) behind a streaming
    :class:`~semcom_phy.transport.zmq.ZmqTransport` on private ``ipc://`` endpoints, at the OFDM
    grid's sample rate and bandwidth (TX at ``tx_peak_dbfs`` plus a 10 dB PAPR allowance of the
    sink's +-1.0 full scale; ``drain`` collects the burst's air time plus half a second). The
    devices are probed first (:func:`preflight`); a flowgraph that still fails to start raises
    FlowgraphError with its error line and what to check."""
    import shutil

    from .zmq import GR_PYTHON as ZMQ_PYTHON, Flowgraph, FlowgraphError, ZmqTransport, private_endpoints

    python = python or ZMQ_PYTHON
    preflight(kind, cfg, python)
    rate = float(ofdm.sample_rate_hz)
    folder, push, pull = private_endpoints()
    params = {"rx_address": push, "tx_address": pull, "device": cfg.device, "tx_device": cfg.tx_device,
              "rx_device": cfg.rx_device, "lo_hz": cfg.lo_hz, "sample_rate_hz": rate, "bandwidth_hz": rate,
              "tx_gain_db": cfg.tx_gain_db, "rx_gain_db": cfg.rx_gain_db}
    params.update({k: getattr(cfg, k) for k in ("tx_antenna", "rx_antenna") if getattr(cfg, k)})
    try:
        flowgraph = Flowgraph(FLOWGRAPHS[kind], params, python=python)
    except FlowgraphError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        return ZmqTransport(push, pull, flowgraph, tx_scale=10 ** ((cfg.tx_peak_dbfs - 10.0) / 20),
                            stream_rate_hz=rate, private_dir=folder)
    except FlowgraphError as err:
        raise FlowgraphError(start_message(kind, cfg, flowgraph.log if flowgraph.proc else "", str(err))) from None


def start_message(kind: str, cfg: SdrConfig, log: str, error: str) -> str:
    """A flowgraph that found its device in the probe but did not start: its error (the last
    exception line of its log, else the driver's last ``[ERROR]`` line) and what to check for it."""
    import re

    lines = [line.strip() for line in log.splitlines() if line.strip()]
    exceptions = [line for line in lines if re.match(r"^[\w.]*(Error|Exception)\b", line)]
    driver = [line for line in lines if "[ERROR]" in line or "[FATAL]" in line]
    cause = (exceptions or driver or [error.splitlines()[0] if error else "no output"])[-1]
    where = repr(cfg.tx) if cfg.tx == cfg.rx else f"{cfg.tx!r} (TX), {cfg.rx!r} (RX)"
    text = f"--link {kind}: the {FLOWGRAPHS[kind]} flowgraph did not start with {where}: {cause}"
    low = " ".join([cause, *driver]).lower()
    if kind == "uhd" and "image" in low:
        text += ". The USRP's firmware/FPGA images are missing: uhd_images_downloader (uhd-host)"
    elif "antenna" in low:
        text += (". Name an antenna the device has: --sdr-tx-antenna / --sdr-rx-antenna (the error lists them; "
                 + ("SoapySDRUtil --probe" if kind == "soapy" else "uhd_usrp_probe") + " too)")
    elif "sample rate" in low or "samp_rate" in low:
        text += ". The device refuses the OFDM grid's sample rate: set link.ofdm.sample_rate_hz in --config"
    elif "busy" in low or "claim" in low or "in use" in low:
        text += ". Another program holds the radio (a GNU Radio flowgraph, SoapySDRUtil, a second run): stop it"
    elif kind == "soapy" and parse_device(cfg.tx).get("driver") == "hackrf" and cfg.tx == cfg.rx:
        text += ". A HackRF is half duplex: this link needs two (--sdr-tx-device, --sdr-rx-device with serial=...)"
    return text + "."


__all__ = ["SDR_LINKS", "SdrConfig", "check_device", "parse_device", "preflight", "probe", "probe_message",
           "sdr_flowgraph", "start_message"]
