"""IQ over ZeroMQ to a GNU Radio flowgraph, and the flowgraph as a managed child process.

GNU Radio 3.10.5's ZMQ blocks cannot choose to bind or connect (docs/conventions.md section 6): its
``push_sink`` binds and its ``pull_source`` connects. So this side binds a PUSH socket at
``push_address`` (the flowgraph's pull source connects to it) and connects a PULL socket to
``pull_address`` (the flowgraph's push sink binds it). Items are raw complex64 samples, no tags;
message boundaries mean nothing.

Isolation: a PUSH socket deals messages round-robin to every peer, so any process that connects
to either socket would take a share of the IQ. The flowgraphs this module starts therefore get
``ipc://`` endpoints in a fresh folder of mode 0700 (no other user can connect), the transport
counts the peers on its PUSH socket (a second one is an error), and ``drain`` checks that a
sample-preserving peer returned what was sent (a shortfall is a transport error, never channel
loss). ``free_tcp_address`` stays for peers on TCP by choice, with that risk.

``send`` queues samples on the PUSH socket (bounded by ``send_timeout_s``); a background thread
drains the PULL socket all the time, so a large burst never deadlocks against a full return path;
``receive`` hands over what has arrived. :class:`Flowgraph` runs a generated flowgraph script
under Debian's Python (GNU Radio does not import in the project's venv), waits for its
``Press Enter to quit`` prompt, keeps its log, and stops it (EOF on stdin, then SIGTERM, then
SIGKILL on its process group).
"""

from __future__ import annotations

import collections
import functools
import os
import shutil
import signal
import subprocess
import threading
import time
import weakref
from pathlib import Path

import numpy as np

from ..channel import noise_variance
from ..config import ChannelConfig, OfdmConfig
from ..resources import flowgraph_dir
from .base import Transport, as_iq

FLOWGRAPH_DIR = flowgraph_dir()             # semcom_phy/flowgraphs, shipped as package data
GR_PYTHON = "/usr/bin/python3"
MISSING_SLACK_SAMPLES = 4096     # samples a sample-preserving peer may hold back at the end of a drain
MISSING_SLACK = 1e-3             # ... or this fraction of those sent (a resampler's SFO: ppm)
READY_PROMPT = b"Press Enter to quit"


class FlowgraphError(RuntimeError):
    """GNU Radio missing, a flowgraph that does not start or dies, a port taken, a silent peer."""


@functools.lru_cache(maxsize=8)
def gnuradio_available(python: str = GR_PYTHON) -> str | None:
    """None when ``python`` imports GNU Radio, else the reason (what to install). Asked once per
    process and interpreter (it starts that Python: about a second), however many runs ask."""
    if not shutil.which(python) and not Path(python).is_file():
        return f"{python} not found: GNU Radio flowgraphs run under Debian's Python (apt-get install gnuradio)"
    res = subprocess.run([python, "-c", "import gnuradio.gr, gnuradio.zeromq, gnuradio.channels"],
                         capture_output=True, text=True, timeout=60)
    if res.returncode:
        return (f"GNU Radio does not import under {python}: apt-get install gnuradio (make setup does) "
                f"[{res.stderr.strip().splitlines()[-1] if res.stderr.strip() else 'exit ' + str(res.returncode)}]")
    return None


def free_tcp_address(host: str = "127.0.0.1") -> str:
    """``tcp://host:port`` with a port that was free a moment ago (bind to port 0, release)."""
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return f"tcp://{host}:{s.getsockname()[1]}"


def private_endpoints() -> tuple[str, str, str]:
    """(folder, push address, pull address): ``ipc://`` endpoints in a new folder only this user
    can enter (mode 0700), so no other user's process can connect to either socket; the transport
    that gets the folder removes it when it closes."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="semcom_zmq_")          # created 0700
    return folder, f"ipc://{folder}/tx", f"ipc://{folder}/rx"


def package_path(folder: str | Path | None = None) -> str:
    """A folder (``folder``, made if needed; default: a new temporary one) holding only a link
    ``semcom_phy`` to this package: the ``PYTHONPATH`` under which GNU Radio's Python imports the
    project's blocks and nothing else of the venv."""
    import tempfile

    if folder is None:
        folder = tempfile.mkdtemp(prefix="semcom_gr_")
    else:
        Path(folder).mkdir(parents=True, exist_ok=True)
    folder = str(folder)
    os.symlink(Path(__file__).resolve().parents[1], Path(folder) / "semcom_phy")
    return folder


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Flowgraph:
    """A generated GNU Radio flowgraph (``semcom_phy/flowgraphs/<name>.py``) as a child process.

    ``params``: flowgraph parameters by id (``noise_voltage=0.1`` becomes ``--noise-voltage=0.1``,
    GRC's spelling). The process runs in its own session (its PID names its process group), its
    stdout and stderr go to a bounded in-memory log (:attr:`log`), and it is stopped by
    :meth:`stop` (or the context manager): EOF on stdin, SIGTERM, then SIGKILL. ``blocks``: the
    flowgraph uses the project's GNU Radio blocks (:mod:`semcom_phy.gr`); this very package is
    put on its Python path, through a folder that holds only a link to it (never the venv's
    other packages, which GNU Radio's Python must not see)."""

    def __init__(self, name: str, params: dict | None = None, python: str = GR_PYTHON,
                 directory: Path = FLOWGRAPH_DIR, ready_timeout_s: float = 30.0, blocks: bool = False):
        self.blocks = blocks             # the flowgraph uses the project's blocks (semcom_phy.gr)
        self._package_dir: str | None = None
        self.script = Path(directory) / f"{name}.py"
        if not self.script.is_file():
            raise FlowgraphError(f"flowgraph script {self.script} not found (generate it: grcc "
                                 f"{self.script.with_suffix('.grc')} -o {self.script.parent})")
        self.name, self.python, self.params = name, python, dict(params or {})
        self.ready_timeout_s = ready_timeout_s
        self._log = collections.deque(maxlen=400)
        self._ready = threading.Event()
        self._prompted = False
        self.proc: subprocess.Popen | None = None

    @property
    def log(self) -> str:
        return b"".join(self._log).decode(errors="replace")

    def command(self) -> list[str]:
        cmd = [self.python, "-u", str(self.script)]
        # --name=value: argparse would take a separate negative value ("-1e-3") for an option
        return cmd + [f"--{k.replace('_', '-')}={v}" for k, v in self.params.items()]

    def start(self) -> "Flowgraph":
        if not Path(self.python).is_file() and not shutil.which(self.python):
            raise FlowgraphError(f"{self.python} not found: GNU Radio flowgraphs run under Debian's Python "
                                 "(apt-get install gnuradio; make setup does)")
        # Debian's Python with nothing of the venv on its path; no __pycache__ in flowgraphs/
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env.update(QT_QPA_PLATFORM=env.get("QT_QPA_PLATFORM", "offscreen"), PYTHONDONTWRITEBYTECODE="1")
        if self.blocks:
            env["PYTHONPATH"] = self._package_dir = package_path()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True, env=env)
        weakref.finalize(self, _kill_group, self.proc)     # no orphan, even if stop() is never called
        threading.Thread(target=self._read_output, daemon=True).start()
        if not self._ready.wait(self.ready_timeout_s):     # set by the prompt, or by the end of the output
            self.stop()
            raise FlowgraphError(f"flowgraph {self.name} not ready after {self.ready_timeout_s:g} s "
                                 f"(no '{READY_PROMPT.decode()}' prompt); its log:\n{self.log[-2000:]}")
        if not self._prompted:
            self.stop()
            raise FlowgraphError(self._death_message("did not start"))
        return self

    def _read_output(self) -> None:
        fd = self.proc.stdout.fileno()
        tail = b""
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            self._log.append(chunk)
            tail = (tail + chunk)[-256:]
            if READY_PROMPT in tail:
                self._prompted = True
                self._ready.set()
        self._ready.set()

    def _death_message(self, what: str) -> str:
        log = self.log
        hint = ""
        if "No module named 'gnuradio'" in log or "ModuleNotFoundError" in log:
            hint = f" GNU Radio does not import under {self.python}: apt-get install gnuradio (make setup does)."
        elif "Address already in use" in log:
            hint = " A port it binds is taken: pick free addresses (semcom_phy.transport.zmq.free_tcp_address)."
        return (f"flowgraph {self.name} (pid {self.proc.pid}) {what}: exit code {self.proc.returncode}.{hint}\n"
                f"command: {' '.join(self.command())}\nits log:\n{log[-2000:]}")

    def check(self) -> None:
        """Raise FlowgraphError when the process has exited."""
        if self.proc is not None and self.proc.poll() is not None:
            raise FlowgraphError(self._death_message("exited"))

    def stop(self, timeout_s: float = 5.0) -> int | None:
        """Stop the flowgraph and reap it; returns its exit code (None if it was never started)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                proc.stdin.close()                          # EOF at the prompt: tb.stop(), tb.wait()
            except OSError:
                pass
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    proc.wait(timeout_s)
                    break
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(proc.pid, sig)
                    except ProcessLookupError:
                        break
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream and not stream.closed:
                stream.close()
        if self._package_dir:
            shutil.rmtree(self._package_dir, ignore_errors=True)
            self._package_dir = None
        return proc.returncode

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


class ZmqPeer:
    """The two ZeroMQ sockets to a flowgraph, optionally owning its :class:`Flowgraph`: our PUSH
    binds ``push_address`` (the flowgraph's source connects; a second peer there is a
    :class:`FlowgraphError`), our PULL connects to ``pull_address`` (the flowgraph's sink binds),
    and a background thread takes every message that arrives (:meth:`_take`, in subclasses: IQ
    for :class:`ZmqTransport`, PDUs for :class:`~semcom_phy.transport.pdu.PduTransport`).

    flowgraph : started after the sockets if not running yet, stopped by :meth:`close`
    send_timeout_s : how long a send may block on a peer that takes nothing
    private_dir : the folder of private ``ipc://`` endpoints (:func:`private_endpoints`), removed on close
    """

    def __init__(self, push_address: str, pull_address: str, flowgraph: Flowgraph | None = None,
                 send_timeout_s: float = 10.0, private_dir: str | None = None):
        import zmq

        self._zmq = zmq
        self.push_address, self.pull_address, self._private_dir = push_address, pull_address, private_dir
        self.flowgraph, self.send_timeout_s = flowgraph, float(send_timeout_s)
        self._peers = 0                                      # peers connected to our PUSH now
        self._ctx = zmq.Context()
        self._push = self._ctx.socket(zmq.PUSH)
        self._push.setsockopt(zmq.LINGER, 0)
        self._push.setsockopt(zmq.SNDTIMEO, int(1000 * self.send_timeout_s))
        self._arrived = threading.Condition()
        self._closed = False
        self._error: BaseException | None = None
        try:
            self._push.bind(push_address)
        except zmq.ZMQError as err:
            self._ctx.destroy(linger=0)
            if private_dir:
                shutil.rmtree(private_dir, ignore_errors=True)
            raise FlowgraphError(f"cannot bind {push_address}: {err} (port taken? pick another address, e.g. "
                                 "semcom_phy.transport.zmq.free_tcp_address())") from err
        self._monitor = self._push.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        self._monitor_lock = threading.Lock()
        self._pull = self._ctx.socket(zmq.PULL)
        self._pull.setsockopt(zmq.LINGER, 0)
        self._pull.connect(pull_address)
        self._thread = threading.Thread(target=self._drain_socket, daemon=True)
        self._thread.start()
        if flowgraph is not None and flowgraph.proc is None:
            try:
                flowgraph.start()
            except BaseException:
                self.close()
                raise

    def _take(self, messages: list) -> None:
        """Keep the ``messages`` (zmq frames) that arrived; called in the receive thread under
        ``self._arrived`` (notify it when something is ready)."""
        raise NotImplementedError

    def _drain_socket(self) -> None:
        zmq = self._zmq
        poller = zmq.Poller()
        poller.register(self._pull, zmq.POLLIN)
        try:
            while not self._closed:
                if not poller.poll(50):
                    continue
                messages = []
                while True:
                    try:
                        messages.append(self._pull.recv(zmq.NOBLOCK, copy=False))
                    except zmq.Again:
                        break
                with self._arrived:
                    self._take(messages)
        except Exception as err:                             # noqa: BLE001 - reported by _check()
            if not self._closed:
                self._error = err

    def _check(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")
        if self._error is not None:
            raise FlowgraphError(f"the receive thread failed: {self._error!r}")
        if self.flowgraph is not None:
            self.flowgraph.check()
        self._check_peers()

    def _check_peers(self) -> None:
        """A PUSH socket deals its messages round-robin to every peer: a second one would take a
        share of what we send. Count the peers connected to ours; more than one is a transport error."""
        from zmq.utils.monitor import recv_monitor_message

        zmq = self._zmq
        with self._monitor_lock:                             # send and receive may run in two threads
            while self._monitor.poll(0):
                event = recv_monitor_message(self._monitor, zmq.NOBLOCK)["event"]
                self._peers += 1 if event == zmq.EVENT_ACCEPTED else -1 if event == zmq.EVENT_DISCONNECTED else 0
        if self._peers > 1:
            raise FlowgraphError(f"{self._peers} peers are connected to {self.push_address}, where only the flowgraph "
                                 "may be: another local process is taking a share of what is sent (the IQ, the PDUs)")

    def _send(self, message, what: str = "messages") -> None:
        try:
            self._push.send(message, copy=False)
        except self._zmq.Again as err:
            self._check()
            raise FlowgraphError(f"no peer took {what} for {self.send_timeout_s:g} s (is the flowgraph "
                                 "running and connected?)") from err

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if getattr(self, "_thread", None) is not None:
            self._thread.join(2.0)
        self._ctx.destroy(linger=0)
        if self.flowgraph is not None:
            self.flowgraph.stop()
        if self._private_dir:
            shutil.rmtree(self._private_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ZmqTransport(ZmqPeer, Transport):
    """IQ to and from a ZMQ peer (a GNU Radio flowgraph), optionally owning its :class:`Flowgraph`.

    push_address, pull_address, flowgraph, send_timeout_s, private_dir : as :class:`ZmqPeer`
    chunk_samples : samples per ZMQ message
    tx_scale : factor on every sent sample (a radio sink's full scale is +-1.0)
    stream_rate_hz : set for a peer that streams without pause (a radio's receiver): ``drain`` then
        collects for the air time of the samples sent since the last drain plus ``latency_s``
        instead of waiting for as many samples as were sent
    """

    def __init__(self, push_address: str, pull_address: str, flowgraph: Flowgraph | None = None,
                 send_timeout_s: float = 10.0, chunk_samples: int = 1 << 16, tx_scale: float = 1.0,
                 stream_rate_hz: float | None = None, latency_s: float = 0.5, private_dir: str | None = None):
        self.tx_scale, self.stream_rate_hz, self.latency_s = float(tx_scale), stream_rate_hz, float(latency_s)
        self._burst = 0                                      # samples sent since the last drain
        self.chunk_samples = int(chunk_samples)
        self.samples_sent = self.samples_received = 0
        self._queue: collections.deque[np.ndarray] = collections.deque()
        self._pending = b""                                  # a partial sample across messages
        super().__init__(push_address, pull_address, flowgraph, send_timeout_s, private_dir)

    def _take(self, messages: list) -> None:
        for frame in messages:
            data = frame.buffer                              # zero-copy; GNU Radio sends whole items
            if self._pending or len(data) % 8:
                data = self._pending + bytes(data)
                cut = len(data) - len(data) % 8
                data, self._pending = data[:cut], data[cut:]
            if len(data):
                self._queue.append(np.frombuffer(data, np.complex64))
        self._arrived.notify_all()

    def send(self, iq: np.ndarray) -> None:
        self._check()
        iq = as_iq(iq)
        if self.tx_scale != 1.0:
            iq = (iq * self.tx_scale).astype(np.complex64)
        for start in range(0, iq.size, self.chunk_samples):
            self._send(np.ascontiguousarray(iq[start:start + self.chunk_samples]), "samples")
        self.samples_sent += iq.size
        self._burst += iq.size

    def receive(self, timeout_s: float = 0.0) -> np.ndarray:
        """As :meth:`Transport.receive`; the array may be a read-only view of a received message
        (zero-copy): copy it before writing into it."""
        self._check()
        with self._arrived:
            if not self._queue and timeout_s > 0:
                self._arrived.wait(timeout_s)
            parts = list(self._queue)
            self._queue.clear()
        out = parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.zeros(0, np.complex64)
        self.samples_received += out.size
        return out

    def drain(self, timeout_s: float = 5.0, expected: int | None = None, quiet_s: float = 0.3) -> np.ndarray:
        """Everything still on the way back: receive until ``samples_received`` reaches ``expected``
        (default: the samples sent) or nothing arrives for ``quiet_s``, within ``timeout_s``; for a
        streaming peer (``stream_rate_hz``) for the air time of the last burst plus the latency."""
        if self.stream_rate_hz:
            wait = min(timeout_s, self._burst / self.stream_rate_hz + self.latency_s)
            self._burst, parts, deadline = 0, [], time.monotonic() + wait
            while time.monotonic() < deadline:
                parts.append(self.receive(max(0.0, deadline - time.monotonic())))
            return np.concatenate(parts) if parts else np.zeros(0, np.complex64)
        self._burst = 0
        expected = self.samples_sent if expected is None else expected
        parts, deadline = [], time.monotonic() + timeout_s
        while self.samples_received < expected and time.monotonic() < deadline:
            got = self.receive(quiet_s)
            if not got.size:
                break
            parts.append(got)
        missing = expected - self.samples_received
        if missing > max(MISSING_SLACK_SAMPLES, MISSING_SLACK * expected):
            raise FlowgraphError(f"{missing} of the {expected} samples sent did not come back from {self.pull_address}: "
                                 "another process connected there takes a share, or the flowgraph lost them (a "
                                 "transport fault, not channel loss)")
        return np.concatenate(parts) if parts else np.zeros(0, np.complex64)


def channel_emulator_params(cfg: ChannelConfig, ofdm: OfdmConfig, seed: int = 0,
                            signal_power: float = 1.0) -> tuple[dict, list[str]]:
    """The ``channel_emulator`` flowgraph's parameters that model ``cfg`` as closely as GNU Radio's
    channel blocks can, and the names of the ``cfg`` fields they leave out.

    AWGN: ``noise_voltage`` from the SNR exactly as the simulated channel sets its noise
    (:func:`~semcom_phy.channel.noise_variance`: Es/N0 per resource element); CFO (Hz and ppm of
    the carrier) as ``freq_offset`` in cycles per sample; SFO as the resampler's ``epsilon``;
    any multipath profile as the flowgraph's three-tap profile; Rayleigh fading (continuous,
    at ``doppler_hz``, at least 10 Hz) as its fading stage. Fractional timing offset, phase
    noise, IQ imbalance, DC offset and Rician fading are not modelled."""
    fs = ofdm.sample_rate_hz
    params = {
        "noise_voltage": 0.0 if cfg.snr_db is None else float(np.sqrt(noise_variance(cfg.snr_db, ofdm, signal_power))),
        "freq_offset": (cfg.cfo_hz + cfg.cfo_ppm * 1e-6 * cfg.carrier_frequency_hz) / fs,
        "epsilon": 1.0 + cfg.sfo_ppm * 1e-6,
        "taps_profile": "flat" if cfg.multipath == "none" else "three_tap",
        "fading": int(cfg.fading == "rayleigh"),
        "fading_fdts": max(cfg.doppler_hz, 10.0) / fs,
        "seed": int(seed),
        "samp_rate": fs,
    }
    defaults = ChannelConfig()
    ignored = [f for f in ("timing_offset_samples", "phase_noise_linewidth_hz", "iq_gain_imbalance_db",
                           "iq_phase_imbalance_deg", "dc_offset") if getattr(cfg, f) != getattr(defaults, f)]
    if cfg.fading == "rician":
        ignored.append("fading (rician)")
    return params, ignored


def channel_emulator(cfg: ChannelConfig, ofdm: OfdmConfig, seed: int = 0, python: str = GR_PYTHON,
                     **kwargs) -> ZmqTransport:
    """A :class:`ZmqTransport` through a freshly started ``semcom_phy/flowgraphs/channel_emulator.py`` that
    models ``cfg`` (:func:`channel_emulator_params`), on ``ipc://`` endpoints in a private folder
    (:func:`private_endpoints`: no other user can connect). Close it to stop the
    flowgraph."""
    params, _ = channel_emulator_params(cfg, ofdm, seed)
    folder, push, pull = private_endpoints()
    flowgraph = Flowgraph("channel_emulator", {**params, "rx_address": push, "tx_address": pull}, python=python)
    return ZmqTransport(push, pull, flowgraph, private_dir=folder, **kwargs)
