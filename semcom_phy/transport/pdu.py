"""Frames as PDUs to a GNU Radio flowgraph that runs the PHY itself (Semantic OFDM TX and RX).

The link's other transports carry IQ: the PHY runs in this process and the flowgraph only sees
samples. A :class:`PduTransport` carries frames instead: this process sends one PDU per frame
(its payload symbols and sequence number) to the flowgraph's ZMQ PULL message source, the
flowgraph's Semantic OFDM TX turns them into IQ for whatever the user wired (a channel model, a
radio sink), its Semantic OFDM RX finds the frames in whatever comes back (a radio source) and
its ZMQ PUSH message sink returns one PDU per frame (equalised symbols, ``no_eff``, SNR, CFO,
SFO), which :meth:`PduTransport.exchange` turns back into
:class:`~semcom_phy.phy.ReceivedFrame` for the link's decoder. The PDU format is
:mod:`semcom_phy.phy.pdu`'s, serialized as GNU Radio's PMTs (:mod:`.pmt`).

The contract a flowgraph meets (:func:`check_flowgraph`): parameters ``rx_address`` (its ZMQ
PULL Message Source connects there; this process binds it) and ``tx_address`` (its ZMQ PUSH
Message Sink binds it, Bind on; this process connects), a Semantic OFDM TX fed by the source
and a Semantic OFDM RX whose ``pdus`` go to the sink; optionally ``phy`` (the grid and modem,
passed so both ends agree) and the channel emulator's parameters (``noise_voltage``...: then it
is an emulator, run once per SNR point; without them it is a radio link, one run at the SNR the
air gives).
"""

from __future__ import annotations

import collections
import functools
import time

import numpy as np

from ..phy import ReceivedFrame, ReceiverStats
from ..phy.pdu import RX_COUNTERS, frame_of, stats_of
from . import pmt
from .zmq import Flowgraph, FlowgraphError, ZmqPeer


class PduTransport(ZmqPeer):
    """Frames to and from a flowgraph with the project's blocks, over ZeroMQ message blocks.

    push_address, pull_address, flowgraph, send_timeout_s, private_dir : as
        :class:`~semcom_phy.transport.zmq.ZmqPeer`
    first_pdu_s : how long the first PDU back may take (the flowgraph's start-up, a radio's)
    quiet_s : a run is over when nothing came back for this long after its last frame was sent
        and no end-of-run PDU came (a radio link: the receiver's stream never ends)
    """

    def __init__(self, push_address: str, pull_address: str, flowgraph: Flowgraph | None = None,
                 send_timeout_s: float = 10.0, private_dir: str | None = None, first_pdu_s: float = 20.0,
                 quiet_s: float = 2.0):
        self.first_pdu_s, self.quiet_s = float(first_pdu_s), float(quiet_s)
        self._queue: collections.deque = collections.deque()
        self._counters: dict = {}              # the receiver's counters at the end of the last run
        self.stats = ReceiverStats()           # ... over the last run (frames())
        self.latest_stats = ReceiverStats()    # ... as the last PDU gave them (since the flowgraph's start)
        self.pdus_sent = self.pdus_received = self.foreign = 0
        super().__init__(push_address, pull_address, flowgraph, send_timeout_s, private_dir)

    def _take(self, messages: list) -> None:
        for m in messages:
            try:
                self._queue.append(pmt.parse_pdu(bytes(m.buffer)))
            except ValueError:
                self.foreign += 1              # not a PDU of the receiver's: counted, reported by exchange
        self._arrived.notify_all()

    def send_frames(self, payloads: np.ndarray, first_seq: int) -> None:
        """One PDU per row of ``payloads`` complex64 [F, k], sequence numbers ``first_seq``.. (mod
        2^16), the last marked ``last`` (the run's end: the TX flushes the channel)."""
        self._check()
        payloads = np.ascontiguousarray(payloads, np.complex64)
        for j, row in enumerate(payloads):
            meta = {"seq": (first_seq + j) & 0xFFFF}
            if j == len(payloads) - 1:
                meta["last"] = True
            self._send(pmt.pdu(meta, row), "PDUs")
            self.pdus_sent += 1

    def frames(self, count: int, first_seq: int):
        """The frames of the run just sent (``count`` frames from ``first_seq``), yielded in lists
        as they come back, until the receiver's end-of-run PDU, or every frame, or ``quiet_s`` of
        silence; then :attr:`stats` holds the receiver's counters over the run. Raises
        FlowgraphError when nothing at all comes back within ``first_pdu_s`` or the flowgraph
        sends something that is not a receiver's PDU."""
        seen, start = set(), time.monotonic()
        last, counters, received = start, self._counters, 0
        while True:
            self._check()
            with self._arrived:
                if not self._queue:
                    self._arrived.wait(0.05)
                items = list(self._queue)
                self._queue.clear()
            if self.foreign:
                raise FlowgraphError(f"{self.foreign} message(s) from {self.pull_address} are not PDUs of a Semantic "
                                     "OFDM RX (pmt.cons(dict, c32vector)): is its pdus port wired to the ZMQ PUSH "
                                     "Message Sink?")
            end, batch = False, []
            for meta, vector in items:
                received += 1
                last = time.monotonic()
                counters = meta
                self.latest_stats = stats_of(meta)
                if meta.get("eob"):
                    end = True
                    continue
                try:
                    f = frame_of(meta, vector)
                except ValueError as err:
                    raise FlowgraphError(f"a PDU from {self.pull_address}: {err}") from None
                batch.append(f)
                if (f.seq - first_seq) & 0xFFFF < count:
                    seen.add(f.seq)
            self.pdus_received += len(items)
            if batch:
                yield batch
            now = time.monotonic()
            if end or len(seen) == count and now - last > 0.2:
                break
            if received == 0 and now - start > self.first_pdu_s:
                raise FlowgraphError(f"no PDU came back from {self.pull_address} within {self.first_pdu_s:g} s: the "
                                     "receiver decoded no frame (over a radio: check the gains, antennas, carrier) "
                                     "or the flowgraph does not meet the contract (semcom_phy.transport.pdu); its "
                                     "log:\n"
                                     + (self.flowgraph.log[-1500:] if self.flowgraph else "(not ours)"))
            if received and now - last > self.quiet_s:
                break
        self.stats = _delta(stats_of(counters), stats_of(self._counters))
        self._counters = counters
        decoded = received - (1 if end else 0)
        if self.stats.frames > decoded:
            raise FlowgraphError(f"{self.stats.frames - decoded} of the {self.stats.frames} frames the flowgraph's "
                                 f"receiver decoded did not come back from {self.pull_address}: another process "
                                 "connected there takes a share of the PDUs (a transport fault, not channel loss)")

    def exchange(self, payloads: np.ndarray, first_seq: int) -> tuple[list[ReceivedFrame], ReceiverStats]:
        """Send a run's frames (``payloads`` complex64 [F, k] from ``first_seq``) and take back
        every frame the flowgraph's receiver found in them, with its counters over the run."""
        self.send_frames(payloads, first_seq)
        frames = [f for batch in self.frames(len(payloads), first_seq) for f in batch]
        return frames, self.stats


def _delta(now: ReceiverStats, before: ReceiverStats) -> ReceiverStats:
    """The receiver's counters over one run (they count from the flowgraph's start)."""
    out = ReceiverStats()
    for k in RX_COUNTERS:
        setattr(out, k, getattr(now, k) - getattr(before, k))
    return out


EMULATOR = "semantic_emulator"
"""The shipped flowgraph: Semantic OFDM TX -> GNU Radio's channel blocks -> Semantic OFDM RX."""
CONTRACT = ("rx_address", "tx_address")


def flowgraph_parameters(path: str | None) -> set[str]:
    """The parameter ids a flowgraph declares (None: the shipped emulator's): from a ``.grc``
    its ``parameter`` blocks, from a generated ``.py`` its command-line options."""
    from ..resources import flowgraph_dir

    file = flowgraph_dir() / f"{EMULATOR}.py" if path is None else _existing(path)
    return set(_declared(str(file.resolve()), file.stat().st_mtime_ns))


@functools.lru_cache(maxsize=32)
def _declared(file: str, mtime_ns: int) -> frozenset[str]:
    """:func:`flowgraph_parameters` of one version of a file (read once: every run, and the
    config's ``air``, ask it)."""
    import re
    from pathlib import Path

    path = Path(file)
    if path.suffix == ".grc":
        return frozenset(b.get("name") for b in _grc(path).get("blocks", []) if b.get("id") == "parameter")
    text = path.read_text(errors="replace")
    return frozenset(m.replace("-", "_") for m in re.findall(r'add_argument\(\s*"--([a-z0-9-]+)"', text))


def is_emulator(path: str | None) -> bool:
    """A flowgraph with the channel emulator's ``noise_voltage`` parameter models the channel
    (run per SNR point); one without is a radio link."""
    return "noise_voltage" in flowgraph_parameters(path)


def check_flowgraph(path: str) -> set[str]:
    """What :mod:`semcom_phy.transport.pdu`'s contract asks of a user's flowgraph, checked before
    it starts: returns its parameter ids; FlowgraphError naming what is missing otherwise."""
    file = _existing(path)
    params = flowgraph_parameters(path)
    missing = [p for p in CONTRACT if p not in params]
    problems = [f"parameter blocks {', '.join(missing)} (strings: the ZMQ addresses)"] if missing else []
    if file.suffix == ".grc":
        blocks = _grc(file).get("blocks", [])
        have = {b.get("id"): b for b in blocks}
        for bid, what in (("semcom_ofdm_tx", "a Semantic OFDM TX"), ("semcom_ofdm_rx", "a Semantic OFDM RX")):
            if bid not in have:
                problems.append(what)
        for bid, address, bind in (("zeromq_pull_msg_source", "rx_address", "False"),
                                   ("zeromq_push_msg_sink", "tx_address", "True")):
            ok = [b for b in blocks if b.get("id") == bid and str(b.get("parameters", {}).get("address")) == address
                  and str(b.get("parameters", {}).get("bind", bind)) == bind]
            if not ok:
                problems.append(f"a {bid} with address {address} and bind {bind}")
    if problems:
        raise FlowgraphError(f"flowgraph {path} does not meet the contract of --link flowgraph: it needs "
                             + "; ".join(problems) + " (docs: semcom_phy/flowgraphs/README.md, 'Your own flowgraph')")
    return params


def open_flowgraph(path: str | None, params: dict, phy: str, python: str | None = None, **kwargs) -> PduTransport:
    """A :class:`PduTransport` through a freshly started flowgraph (None: the shipped emulator; a
    ``.grc`` is compiled with grcc first), on private ``ipc://`` endpoints; ``params``: values
    for the parameters it declares (others are left out), ``phy`` passed when it has one."""
    import shutil

    from .zmq import FLOWGRAPH_DIR, GR_PYTHON, private_endpoints

    declared = flowgraph_parameters(path) if path is None else check_flowgraph(path)
    folder, push, pull = private_endpoints()
    try:
        if path is None:
            name, directory = EMULATOR, FLOWGRAPH_DIR
        elif path.endswith(".grc"):
            name, directory = _compile(_existing(path), folder), folder
        else:
            file = _existing(path)
            name, directory = file.stem, file.parent
        given = {k: v for k, v in {**params, "phy": phy}.items() if k in declared}
        flowgraph = Flowgraph(name, {**given, "rx_address": push, "tx_address": pull}, python=python or GR_PYTHON,
                              directory=directory, blocks=True)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return PduTransport(push, pull, flowgraph, private_dir=folder, **kwargs)


def grc_blocks_path() -> str:
    """``GRC_BLOCKS_PATH`` with the project's block YAML (semcom_phy/gr/grc) first."""
    import os
    from pathlib import Path

    here = str(Path(__file__).resolve().parents[1] / "gr" / "grc")
    return os.pathsep.join([here] + [p for p in os.environ.get("GRC_BLOCKS_PATH", "").split(os.pathsep) if p])


def _compile(grc, folder: str) -> str:
    """grcc ``grc`` into ``folder``; returns the flowgraph's name (its ``options`` id)."""
    import os
    import shutil
    import subprocess

    grcc = shutil.which("grcc") or "/usr/bin/grcc"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["GRC_BLOCKS_PATH"] = grc_blocks_path()
    try:
        res = subprocess.run([grcc, str(grc), "-o", folder], capture_output=True, text=True, timeout=120, env=env)
    except FileNotFoundError:
        raise FlowgraphError(f"grcc not found: it compiles {grc} (apt-get install gnuradio; make setup does)") from None
    name = _grc(grc).get("options", {}).get("parameters", {}).get("id")
    if res.returncode or not name:
        raise FlowgraphError(f"grcc could not compile {grc}:\n{(res.stdout + res.stderr)[-2000:]}")
    return name


def _grc(file) -> dict:
    import yaml

    try:
        doc = yaml.safe_load(file.read_text())
    except yaml.YAMLError as err:
        raise FlowgraphError(f"{file}: not a GRC flowgraph ({err})") from None
    if not isinstance(doc, dict):
        raise FlowgraphError(f"{file}: not a GRC flowgraph")
    return doc


def _existing(path: str):
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise FlowgraphError(f"flowgraph {path}: no such file (a .grc, or the .py grcc made of it)")
    return file
