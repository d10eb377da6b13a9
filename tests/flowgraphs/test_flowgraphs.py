"""GNU Radio flowgraphs in flowgraphs/: they compile, their generated Python is committed, and the
channel emulator really moves IQ samples over ZeroMQ.

GNU Radio only imports under Debian's /usr/bin/python3, never under the project's .venv, so
everything GNU Radio does here runs in a subprocess (`grcc`, `/usr/bin/python3 flowgraphs/X.py`);
this process only speaks ZeroMQ to it with pyzmq. See flowgraphs/README.md.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import select
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

zmq = pytest.importorskip("zmq")

REPO = Path(__file__).resolve().parents[2]
FLOWGRAPH_DIR = REPO / "flowgraphs"
GR_PYTHON = "/usr/bin/python3"
SKIP_REASON = "GNU Radio not installed: apt-get install gnuradio (make setup does)"
PROMPT = b"Press Enter to quit"

# Every flowgraph and the command-line options its generated argparse must offer.
FLOWGRAPHS = {
    "channel_emulator": [
        "--rx-address", "--tx-address", "--samp-rate", "--noise-voltage", "--freq-offset",
        "--epsilon", "--taps-profile", "--seed", "--fading", "--fading-fdts",
    ],
    "pluto_txrx": [
        "--rx-address", "--tx-address", "--uri", "--tx-uri", "--rx-uri", "--lo-hz",
        "--samp-rate", "--bandwidth-hz", "--rx-gain-db", "--tx-attenuation-db", "--buffer-size",
    ],
    "monitor": ["--address", "--samp-rate"],
}

# channel_model's resampler (epsilon, even at 1.0) holds 8 samples: the output stream is the
# input advanced by 3 samples (y[n] = x[n + 3]) and 8 samples shorter while the input pauses.
MAX_LAG = 32
MAX_MISSING = 64


def _gr_env() -> dict[str, str]:
    """The environment for Debian's python: nothing from the venv may leak into its sys.path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep flowgraphs/ free of __pycache__
    return env


def _grcc() -> str | None:
    return shutil.which("grcc") or ("/usr/bin/grcc" if os.access("/usr/bin/grcc", os.X_OK) else None)


def _gnuradio_available() -> bool:
    if not os.access(GR_PYTHON, os.X_OK) or _grcc() is None:
        return False
    try:
        probe = subprocess.run([GR_PYTHON, "-c", "import gnuradio"], env=_gr_env(),
                               capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


requires_gnuradio = pytest.mark.skipif(not _gnuradio_available(), reason=SKIP_REASON)


# --------------------------------------------------------------------------------------------
# (a) the .grc files compile and the committed Python is exactly grcc's output
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compiled_dir(tmp_path_factory) -> Path:
    """All flowgraphs compiled by one grcc run (loading GRC's block library is the slow part)."""
    out = tmp_path_factory.mktemp("grcc")
    grc_files = [str(FLOWGRAPH_DIR / f"{name}.grc") for name in FLOWGRAPHS]
    res = subprocess.run([_grcc(), *grc_files, "-o", str(out)], cwd=out, env=_gr_env(),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"grcc failed:\n{res.stdout}\n{res.stderr}"
    return out


@pytest.mark.gnuradio
@requires_gnuradio
@pytest.mark.parametrize("name", sorted(FLOWGRAPHS))
def test_grc_compiles_to_committed_python(name, compiled_dir):
    generated = compiled_dir / f"{name}.py"
    committed = FLOWGRAPH_DIR / f"{name}.py"
    assert generated.is_file(), f"grcc wrote no {generated.name}"
    assert committed.is_file(), f"{committed} missing: run grcc flowgraphs/{name}.grc -o flowgraphs"
    new, old = generated.read_bytes(), committed.read_bytes()
    if new != old:
        diff = "".join(difflib.unified_diff(
            old.decode(errors="replace").splitlines(True), new.decode(errors="replace").splitlines(True),
            f"flowgraphs/{name}.py (committed)", f"grcc flowgraphs/{name}.grc (fresh)"))
        pytest.fail(f"flowgraphs/{name}.py is not grcc's output; regenerate it with "
                    f"`grcc flowgraphs/{name}.grc -o flowgraphs` (never edit it by hand):\n{diff[:4000]}")


# --------------------------------------------------------------------------------------------
# (b) every parameter is a command-line option
# --------------------------------------------------------------------------------------------

@pytest.mark.gnuradio
@requires_gnuradio
@pytest.mark.parametrize("name", sorted(FLOWGRAPHS))
def test_help_lists_every_parameter(name, tmp_path):
    res = subprocess.run([GR_PYTHON, str(FLOWGRAPH_DIR / f"{name}.py"), "--help"], cwd=tmp_path,
                         env=_gr_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    offered = {tok.rstrip(",") for tok in res.stdout.split() if tok.startswith("--")}
    missing = [opt for opt in FLOWGRAPHS[name] if opt not in offered]
    assert not missing, f"{name}.py --help lacks {missing}:\n{res.stdout}"


# --------------------------------------------------------------------------------------------
# (c), (d), (e) real runs of the channel emulator, driven over ZeroMQ from this process
# --------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_prompt(proc: subprocess.Popen, timeout: float = 30.0) -> bytes:
    """Read the flowgraph's stdout without blocking until GRC's `Press Enter to quit: ` prompt
    (printed right after tb.start(), without a newline) or fail with its stderr."""
    seen = b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while PROMPT not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {PROMPT!r} within {timeout} s; stdout so far: {seen!r}")
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:  # stdout closed: the flowgraph died before it was ready
                proc.wait(timeout=5)
                raise AssertionError(f"flowgraph exited (rc {proc.returncode}) before it was ready:\n"
                                     f"{seen.decode(errors='replace')}\n"
                                     f"{proc.stderr.read().decode(errors='replace')}")
            seen += chunk
    return seen


@contextlib.contextmanager
def channel_emulator(*options: str):
    """Run flowgraphs/channel_emulator.py with `options`; yield (proc, push, pull) once it is ready.

    Our PUSH binds the emulator's --rx-address (its PULL source connects), our PULL connects to its
    --tx-address (its PUSH sink binds). Whatever happens, the process is gone afterwards."""
    ctx = zmq.Context()
    proc = None
    try:
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        push.setsockopt(zmq.SNDTIMEO, 10_000)
        push.bind("tcp://127.0.0.1:*")
        rx_address = push.getsockopt_string(zmq.LAST_ENDPOINT)
        tx_address = f"tcp://127.0.0.1:{_free_port()}"
        pull = ctx.socket(zmq.PULL)
        pull.setsockopt(zmq.LINGER, 0)
        pull.connect(tx_address)  # fine before the emulator binds: ZeroMQ reconnects
        proc = subprocess.Popen(
            [GR_PYTHON, str(FLOWGRAPH_DIR / "channel_emulator.py"),
             "--rx-address", rx_address, "--tx-address", tx_address, *options],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=FLOWGRAPH_DIR.parent, env=_gr_env())
        _wait_for_prompt(proc)
        yield proc, push, pull
    finally:
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                with contextlib.suppress(OSError):
                    stream.close()
        ctx.destroy(linger=0)


def _test_signal(n: int, seed: int = 1234) -> np.ndarray:
    """Unit-power complex Gaussian samples: their magnitude pattern makes the lag unambiguous."""
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


def _push_and_collect(push, pull, x: np.ndarray, chunk: int = 8192, timeout: float = 30.0,
                      quiet: float = 0.5) -> np.ndarray:
    """Push `x` as raw complex64 messages, then pull until nearly all of it is back and nothing
    more arrives for `quiet` seconds (output messages come in whatever size GNU Radio's work()
    produced; every message is a whole number of complex64 items)."""
    for i in range(0, len(x), chunk):
        push.send(x[i:i + chunk].tobytes())
    parts, got = [], 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pull.poll(int(quiet * 1000)):
            msg = pull.recv()
            assert len(msg) % 8 == 0, f"message of {len(msg)} bytes is not whole complex64 items"
            parts.append(np.frombuffer(msg, dtype=np.complex64))
            got += len(parts[-1])
        elif got >= len(x) - MAX_MISSING:
            break
    return np.concatenate(parts) if parts else np.zeros(0, np.complex64)


def _find_lag(y: np.ndarray, x: np.ndarray, window: int = 20_000) -> int:
    """The lag L with y[n] ~ g[n] * x[n + L], by cross-correlating magnitudes (immune to any phase
    rotation, so it also works with a frequency offset or fading)."""
    ay = np.abs(y[MAX_LAG:MAX_LAG + window]).astype(np.float64)
    ay -= ay.mean()
    scores = {}
    for lag in range(-MAX_LAG, MAX_LAG + 1):
        ax = np.abs(x[MAX_LAG + lag:MAX_LAG + lag + window]).astype(np.float64)
        ax -= ax.mean()
        scores[lag] = float(np.dot(ay, ax) / (np.linalg.norm(ay) * np.linalg.norm(ax)))
    best = max(scores, key=scores.get)
    assert scores[best] > 0.5, f"no lag in ±{MAX_LAG} correlates (best {best}: {scores[best]:.3f})"
    return best


def _align(y: np.ndarray, x: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = y[max(0, -lag):], x[max(0, lag):]
    m = min(len(ys), len(xs))
    return ys[:m], xs[:m]


def _stop_by_eof(proc: subprocess.Popen, timeout: float = 5.0) -> float:
    t0 = time.monotonic()
    proc.stdin.close()  # input() gets EOFError -> tb.stop(); tb.wait()
    rc = proc.wait(timeout=timeout)
    took = time.monotonic() - t0
    assert rc == 0, f"rc {rc}: {proc.stderr.read().decode(errors='replace')}"
    return took


N_SAMPLES = 200_000


@pytest.mark.gnuradio
@requires_gnuradio
def test_channel_emulator_identity_roundtrip():
    x = _test_signal(N_SAMPLES)
    with channel_emulator("--noise-voltage", "0", "--freq-offset", "0", "--epsilon", "1",
                          "--taps-profile", "flat", "--fading", "0") as (proc, push, pull):
        y = _push_and_collect(push, pull, x)
        assert N_SAMPLES - MAX_MISSING <= len(y) <= N_SAMPLES, f"{len(y)} of {N_SAMPLES} came back"
        lag = _find_lag(y, x)
        ys, xs = _align(y, x, lag)
        assert len(ys) >= N_SAMPLES - MAX_MISSING - MAX_LAG
        np.testing.assert_allclose(ys, xs, rtol=0, atol=1e-5)
        assert _stop_by_eof(proc) < 5.0


@pytest.mark.gnuradio
@requires_gnuradio
def test_channel_emulator_frequency_offset_rotates_phase():
    f = 1e-3  # cycles per sample
    x = _test_signal(N_SAMPLES, seed=99)
    with channel_emulator("--freq-offset", "1e-3") as (proc, push, pull):
        y = _push_and_collect(push, pull, x)
        assert N_SAMPLES - MAX_MISSING <= len(y) <= N_SAMPLES
        ys, xs = _align(y, x, _find_lag(y, x))
        # a pure rotation: magnitudes untouched ...
        np.testing.assert_allclose(np.abs(ys), np.abs(xs), rtol=0, atol=1e-4)
        # ... and the phase of rx * conj(tx) advances by 2*pi*f per sample
        d = ys.astype(np.complex128) * np.conj(xs.astype(np.complex128))
        step = np.angle(np.sum(d[1:] * np.conj(d[:-1])))  # power-weighted mean increment
        assert step == pytest.approx(2 * np.pi * f, rel=1e-4)
        strong = np.abs(xs) > 0.3
        n = np.arange(len(d))[strong]
        phase = np.unwrap(np.angle(d[strong]))
        slope, intercept = np.polyfit(n, phase, 1)
        assert slope == pytest.approx(2 * np.pi * f, rel=1e-4)
        assert np.max(np.abs(phase - (slope * n + intercept))) < 1e-2  # no phase jumps
        _stop_by_eof(proc)


@pytest.mark.gnuradio
@requires_gnuradio
def test_channel_emulator_rayleigh_fading_branch():
    x = _test_signal(N_SAMPLES, seed=7)
    with channel_emulator("--fading", "1", "--fading-fdts", "1e-3", "--seed", "3") as (proc, push, pull):
        y = _push_and_collect(push, pull, x)
        assert N_SAMPLES - MAX_MISSING <= len(y) <= N_SAMPLES
        ys, xs = _align(y, x, _find_lag(y, x))
        strong = np.abs(xs) > 0.1  # keep the division well conditioned
        gain = ys[strong].astype(np.complex128) / xs[strong]
        power = np.abs(gain) ** 2
        assert 0.6 < power.mean() < 1.4, f"mean fading power gain {power.mean():.3f}"
        assert np.abs(gain).min() < 0.3 < 1.5 < np.abs(gain).max(), "no fades: is the fading branch routed?"
        assert np.max(np.abs(np.diff(gain))) < 0.2, "a flat fade with fD*Ts=1e-3 varies slowly"
        _stop_by_eof(proc)


@pytest.mark.gnuradio
@requires_gnuradio
def test_channel_emulator_stops_on_sigterm():
    with channel_emulator() as (proc, push, pull):
        # Not right at the prompt: input() prints it, then enters read(); a signal landing in
        # between only sets CPython's flag and is acted on at the next stdin line/EOF (README).
        time.sleep(0.5)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)  # GRC's handler: tb.stop(); tb.wait(); sys.exit(0)
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - t0 < 5.0
