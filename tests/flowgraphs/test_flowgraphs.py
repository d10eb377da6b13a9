"""GNU Radio flowgraphs in semcom_phy/flowgraphs/: they compile, their generated Python is committed,
and the channel emulator really moves IQ samples over ZeroMQ.

GNU Radio only imports under Debian's /usr/bin/python3, never under the project's .venv, so
everything GNU Radio does here runs in a subprocess (`grcc`,
`/usr/bin/python3 semcom_phy/flowgraphs/X.py`); this process only speaks ZeroMQ to it with pyzmq.
See semcom_phy/flowgraphs/README.md.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

zmq = pytest.importorskip("zmq")

from semcom_phy.transport.pdu import grc_blocks_path  # noqa: E402
from semcom_phy.transport.zmq import GR_PYTHON, Flowgraph, free_tcp_address, gnuradio_available, package_path  # noqa: E402,E501

REPO = Path(__file__).resolve().parents[2]
FLOWGRAPH_DIR = REPO / "semcom_phy" / "flowgraphs"   # semcom_phy.resources.flowgraph_dir() in a checkout
SKIP_REASON = "GNU Radio not installed: apt-get install gnuradio (make setup does)"

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
    "monitor": ["--address", "--report-s", "--history"],
    "semantic_emulator": [
        "--rx-address", "--tx-address", "--phy", "--samp-rate", "--noise-voltage", "--freq-offset",
        "--epsilon", "--taps-profile", "--seed", "--fading", "--fading-fdts",
    ],
    "semantic_soapy": [
        "--rx-address", "--tx-address", "--phy", "--device", "--lo-hz", "--samp-rate",
        "--tx-gain-db", "--rx-gain-db", "--tx-amplitude",
    ],
    "soapy_txrx": [
        "--rx-address", "--tx-address", "--device", "--tx-device", "--rx-device", "--lo-hz",
        "--sample-rate-hz", "--bandwidth-hz", "--tx-gain-db", "--rx-gain-db", "--tx-antenna", "--rx-antenna",
    ],
    "uhd_txrx": [
        "--rx-address", "--tx-address", "--device", "--tx-device", "--rx-device", "--lo-hz",
        "--sample-rate-hz", "--bandwidth-hz", "--tx-gain-db", "--rx-gain-db", "--tx-antenna", "--rx-antenna",
    ],
}

# channel_model's resampler (epsilon, even at 1.0) holds 8 samples: the output stream is the
# input advanced by 3 samples (y[n] = x[n + 3]) and 8 samples shorter while the input pauses.
MAX_LAG = 32
MAX_MISSING = 64


def _gr_env() -> dict[str, str]:
    """The environment for Debian's python: nothing from the venv may leak into its sys.path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep flowgraphs/ free of __pycache__
    env["GRC_BLOCKS_PATH"] = grc_blocks_path()   # the project's blocks (semcom_phy/gr/grc) for grcc
    return env


def _grcc() -> str | None:
    return shutil.which("grcc") or ("/usr/bin/grcc" if os.access("/usr/bin/grcc", os.X_OK) else None)


requires_gnuradio = pytest.mark.skipif(gnuradio_available() is not None or _grcc() is None, reason=SKIP_REASON)


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


def test_every_shipped_flowgraph_is_checked():
    assert sorted(p.stem for p in FLOWGRAPH_DIR.glob("*.grc")) == sorted(FLOWGRAPHS)


@pytest.mark.gnuradio
@requires_gnuradio
@pytest.mark.parametrize("name", sorted(FLOWGRAPHS))
def test_grc_compiles_to_committed_python(name, compiled_dir):
    generated = compiled_dir / f"{name}.py"
    committed = FLOWGRAPH_DIR / f"{name}.py"
    assert generated.is_file(), f"grcc wrote no {generated.name}"
    assert committed.is_file(), (f"{committed} missing: run "
                                 f"grcc semcom_phy/flowgraphs/{name}.grc -o semcom_phy/flowgraphs")
    new, old = generated.read_bytes(), committed.read_bytes()
    if new != old:
        diff = "".join(difflib.unified_diff(
            old.decode(errors="replace").splitlines(True), new.decode(errors="replace").splitlines(True),
            f"semcom_phy/flowgraphs/{name}.py (committed)", f"grcc semcom_phy/flowgraphs/{name}.grc (fresh)"))
        pytest.fail(f"semcom_phy/flowgraphs/{name}.py is not grcc's output; regenerate it with "
                    f"`grcc semcom_phy/flowgraphs/{name}.grc -o semcom_phy/flowgraphs` "
                    f"(never edit it by hand):\n{diff[:4000]}")


# --------------------------------------------------------------------------------------------
# (b) every parameter is a command-line option
# --------------------------------------------------------------------------------------------

@pytest.mark.gnuradio
@requires_gnuradio
@pytest.mark.parametrize("name", sorted(FLOWGRAPHS))
def test_help_lists_every_parameter(name, tmp_path):
    env = _gr_env()
    if "semcom_phy.gr" in (FLOWGRAPH_DIR / f"{name}.py").read_text():
        env["PYTHONPATH"] = package_path(tmp_path / "pkg")   # the project's blocks, as Flowgraph(blocks=True) runs it
    res = subprocess.run([GR_PYTHON, str(FLOWGRAPH_DIR / f"{name}.py"), "--help"], cwd=tmp_path,
                         env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    offered = {tok.rstrip(",") for tok in res.stdout.split() if tok.startswith("--")}
    missing = [opt for opt in FLOWGRAPHS[name] if opt not in offered]
    assert not missing, f"{name}.py --help lacks {missing}:\n{res.stdout}"


# --------------------------------------------------------------------------------------------
# (c), (d), (e) real runs of the channel emulator, driven over ZeroMQ from this process
# --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def channel_emulator(**params):
    """Run semcom_phy/flowgraphs/channel_emulator.py with ``params`` (GRC parameter ids) through the
    project's process manager; yield (flowgraph, push, pull) once its prompt is out. Our PUSH binds the
    emulator's rx_address (its PULL source connects), our PULL connects to its tx_address (its
    PUSH sink binds). Whatever happens, the process is gone afterwards."""
    ctx = zmq.Context()
    rx_address, tx_address = free_tcp_address(), free_tcp_address()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    for sock in (push, pull):
        sock.setsockopt(zmq.LINGER, 0)
    push.setsockopt(zmq.SNDTIMEO, 10_000)
    push.bind(rx_address)
    pull.connect(tx_address)          # fine before the emulator binds: ZeroMQ reconnects
    fg = Flowgraph("channel_emulator", {"rx_address": rx_address, "tx_address": tx_address, **params})
    try:
        yield fg.start(), push, pull
    finally:
        fg.stop()
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


def _stop_by_eof(fg: Flowgraph, timeout: float = 5.0) -> float:
    """Close stdin (input() gets EOFError -> tb.stop(); tb.wait()); the exit must be clean and quick."""
    t0 = time.monotonic()
    fg.proc.stdin.close()
    rc = fg.proc.wait(timeout=timeout)
    took = time.monotonic() - t0
    assert rc == 0, f"rc {rc}: {fg.log}"
    return took


N_SAMPLES = 200_000


@pytest.mark.gnuradio
@requires_gnuradio
def test_channel_emulator_identity_roundtrip():
    x = _test_signal(N_SAMPLES)
    with channel_emulator(noise_voltage=0, freq_offset=0, epsilon=1, taps_profile="flat",
                          fading=0) as (fg, push, pull):
        y = _push_and_collect(push, pull, x)
        assert N_SAMPLES - MAX_MISSING <= len(y) <= N_SAMPLES, f"{len(y)} of {N_SAMPLES} came back"
        lag = _find_lag(y, x)
        ys, xs = _align(y, x, lag)
        assert len(ys) >= N_SAMPLES - MAX_MISSING - MAX_LAG
        np.testing.assert_allclose(ys, xs, rtol=0, atol=1e-5)
        assert _stop_by_eof(fg) < 5.0


@pytest.mark.gnuradio
@requires_gnuradio
def test_channel_emulator_frequency_offset_rotates_phase():
    f = 1e-3  # cycles per sample
    x = _test_signal(N_SAMPLES, seed=99)
    with channel_emulator(freq_offset=f) as (fg, push, pull):
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
        _stop_by_eof(fg)


@pytest.mark.gnuradio
@requires_gnuradio
def test_channel_emulator_rayleigh_fading_branch():
    x = _test_signal(N_SAMPLES, seed=7)
    with channel_emulator(fading=1, fading_fdts=1e-3, seed=3) as (fg, push, pull):
        y = _push_and_collect(push, pull, x)
        assert N_SAMPLES - MAX_MISSING <= len(y) <= N_SAMPLES
        ys, xs = _align(y, x, _find_lag(y, x))
        strong = np.abs(xs) > 0.1  # keep the division well conditioned
        gain = ys[strong].astype(np.complex128) / xs[strong]
        power = np.abs(gain) ** 2
        assert 0.6 < power.mean() < 1.4, f"mean fading power gain {power.mean():.3f}"
        assert np.abs(gain).min() < 0.3 < 1.5 < np.abs(gain).max(), "no fades: is the fading branch routed?"
        assert np.max(np.abs(np.diff(gain))) < 0.2, "a flat fade with fD*Ts=1e-3 varies slowly"
        _stop_by_eof(fg)


@pytest.mark.gnuradio
@requires_gnuradio
def test_channel_emulator_stops_on_sigterm():
    with channel_emulator() as (fg, push, pull):
        # Not right at the prompt: input() prints it, then enters read(); a signal landing in
        # between only sets CPython's flag and is acted on at the next stdin line/EOF (README).
        time.sleep(0.5)
        t0 = time.monotonic()
        fg.proc.send_signal(signal.SIGTERM)  # GRC's handler: tb.stop(); tb.wait(); sys.exit(0)
        assert fg.proc.wait(timeout=5) == 0
        assert time.monotonic() - t0 < 5.0
