"""The package as a user installs it: a wheel built from the checkout, installed into a fresh venv
outside the checkout, finds its flowgraphs, presets, configs and weights and runs the loopback.

The fresh venv gets no copies of the dependencies: a ``.pth`` line in its site-packages appends the
project venv's site-packages to ``sys.path``. A ``.pth`` path line only appends the folder; the
``.pth`` files inside it (the checkout's ``__editable__`` finder among them) are not executed, so
``import semcom_phy`` can only find the wheel's copy (checked below). Every child process runs with
its working directory in a temporary folder, so nothing of the checkout is on its path.

The wheel is built from a copy of the package (``pyproject.toml``, ``README.md``, ``semcom_phy/``)
so a stale ``build/`` of the checkout can neither leak into it nor be written by it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.transport.zmq import gnuradio_available

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ["cable", "hackrf", "ism-2.4", "usrp-b200", "virtual"]
CONFIGS = ["certify_compare", "certify_curves", "certify_n10k", "certify_paper", "certify_quick", "certify_sigmas", "detect_quick", "paper", "quick", "scrambling"]
FLOWGRAPHS = ["channel_emulator", "monitor", "pluto_txrx", "semantic_emulator", "semantic_soapy", "soapy_txrx", "uhd_txrx"]
NEEDS_DATA = pytest.mark.skipif(not DEFAULT_ROOT.exists(),
                                reason="Debian package dataset-fashion-mnist not installed (make setup installs it)")
# a warning about this project's own build configuration (the license table, package data...);
# warnings a newer setuptools prints about itself do not fail the build here
BUILD_WARNING = re.compile(r"(warning|deprecat).*(pyproject|license|package.data|project\.)", re.IGNORECASE)


@dataclass
class Build:
    wheel: Path
    log: str


@dataclass
class Install:
    python: Path          # the fresh venv's interpreter
    site: Path            # its site-packages, where the wheel went
    work: Path            # the working directory of every run: outside the checkout

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        return subprocess.run([str(self.python), *args], cwd=self.work, env=env, capture_output=True, text=True,
                              timeout=timeout)

    def script(self, code: str, timeout: float = 300) -> dict:
        """Run ``code`` there; it prints one JSON document as its last line."""
        res = self.run("-c", code, timeout=timeout)
        assert res.returncode == 0, res.stderr[-4000:]
        return json.loads(res.stdout.strip().splitlines()[-1])


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=300)


def _package_files() -> set[str]:
    """Every file of the checkout's package that a wheel must hold (``semcom_phy/...``)."""
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / "semcom_phy").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


@pytest.fixture(scope="session")
def build(tmp_path_factory) -> Build:
    """The wheel, built once per session (``pip wheel --no-deps --no-build-isolation``, offline)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "semcom_phy", src / "semcom_phy", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    res = _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(src))
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-4000:]
    wheels = list(dist.glob("semcom_phy-*.whl"))
    assert len(wheels) == 1, log[-4000:]
    return Build(wheels[0], log)


@pytest.fixture(scope="session")
def installed(build, tmp_path_factory) -> Install:
    """The wheel installed into a fresh venv (no pip of its own) that borrows the project venv's
    dependencies through a ``.pth`` line."""
    root = tmp_path_factory.mktemp("install")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True, timeout=60).stdout.strip())
    (site / "_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    res = _pip("--python", str(python), "install", "--no-deps", "--no-index", "--no-compile", str(build.wheel))
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    work = root / "work"
    work.mkdir()
    return Install(python, site, work)


def test_the_wheel_builds_without_warnings_and_holds_every_package_file(build):
    assert not BUILD_WARNING.search(build.log), build.log[-4000:]
    with zipfile.ZipFile(build.wheel) as z:
        names = set(z.namelist())
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    missing = _package_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    for name in FLOWGRAPHS:
        assert {f"semcom_phy/flowgraphs/{name}.py", f"semcom_phy/flowgraphs/{name}.grc"} <= names
    assert "semcom_phy/flowgraphs/README.md" in names
    assert {f"semcom_phy/presets/{p}.yaml" for p in PRESETS} <= names
    assert {f"semcom_phy/configs/{c}.yaml" for c in CONFIGS} <= names
    assert {"semcom_phy/weights/codec.pt", "semcom_phy/weights/codec.json"} <= names
    assert "License-Expression: MIT" in meta


def test_the_installed_package_finds_its_files_outside_the_checkout(installed):
    doc = installed.script(
        "import json, sys\n"
        "import semcom_phy\n"
        "from semcom_phy import resources as r\n"
        "from semcom_phy.transport.zmq import FLOWGRAPH_DIR\n"
        "print(json.dumps({'file': semcom_phy.__file__, 'flowgraphs': str(r.flowgraph_dir()),\n"
        "    'zmq_dir': str(FLOWGRAPH_DIR), 'emulator': str(r.flowgraph('channel_emulator')),\n"
        "    'scripts': sorted(p.name for p in r.flowgraph_dir().iterdir()),\n"
        "    'presets': r.preset_names(), 'preset_files': [str(r.preset_path(n)) for n in r.preset_names()],\n"
        "    'configs': r.config_names(), 'config_files': [str(r.config_path(n)) for n in r.config_names()],\n"
        "    'weights': sorted(p.name for p in r.weights_dir().iterdir()),\n"
        "    'editable': [m for m in sys.modules if 'editable' in m.lower()] +\n"
        "                [repr(f) for f in sys.meta_path if 'editable' in repr(f).lower()]}))\n")
    package = installed.site / "semcom_phy"
    assert Path(doc["file"]) == package / "__init__.py"
    assert not doc["editable"], "the checkout's editable finder ran in the fresh venv"
    assert Path(doc["flowgraphs"]) == Path(doc["zmq_dir"]) == package / "flowgraphs"
    assert Path(doc["emulator"]).is_file() and Path(doc["emulator"]).parent == package / "flowgraphs"
    assert {f"{n}{ext}" for n in FLOWGRAPHS for ext in (".py", ".grc")} <= set(doc["scripts"])
    assert doc["presets"] == PRESETS and doc["configs"] == CONFIGS
    for path in doc["preset_files"] + doc["config_files"]:
        assert Path(path).is_file() and Path(path).is_relative_to(package), path
    assert {"codec.pt", "codec.json"} <= set(doc["weights"])
    assert f"{ROOT}/semcom_phy" not in json.dumps(doc), "the checkout's package leaked into the installed one"


@pytest.mark.gnuradio
def test_the_installed_channel_emulator_moves_samples(installed):
    reason = gnuradio_available()
    if reason:
        pytest.skip(reason)
    doc = installed.script(
        "import json\n"
        "import numpy as np\n"
        "from semcom_phy.config import ChannelConfig, OfdmConfig\n"
        "from semcom_phy.transport.zmq import channel_emulator\n"
        "rng = np.random.default_rng(0)\n"
        "x = (0.5 * (rng.standard_normal(20000) + 1j * rng.standard_normal(20000))).astype(np.complex64)\n"
        "with channel_emulator(ChannelConfig(), OfdmConfig()) as t:\n"
        "    script = str(t.flowgraph.script)\n"
        "    t.send(x); t.send(np.zeros(64, np.complex64)); y = t.drain(timeout_s=30)\n"
        "print(json.dumps({'script': script, 'n': int(y.size),\n"
        "                  'same': bool(y.size >= x.size and np.array_equal(y[:x.size - 3], x[3:]))}))\n",
        timeout=120)
    assert Path(doc["script"]) == installed.site / "semcom_phy" / "flowgraphs" / "channel_emulator.py"
    assert doc["n"] == 20000 + 64 - 8 and doc["same"], doc


def _accuracies(doc) -> list[float]:
    """Every ``accuracy`` number anywhere in a results document."""
    if isinstance(doc, dict):
        return [v for k, v in doc.items() if k == "accuracy" and isinstance(v, (int, float))] + \
            [a for v in doc.values() for a in _accuracies(v)]
    if isinstance(doc, list):
        return [a for v in doc for a in _accuracies(v)]
    return []


@NEEDS_DATA
@pytest.mark.parametrize("link", ["sim", pytest.param("gnuradio", marks=pytest.mark.gnuradio),
                                  pytest.param("flowgraph", marks=pytest.mark.gnuradio)])
def test_the_installed_loopback_runs_16_images(installed, link):
    if link != "sim":
        reason = gnuradio_available()
        if reason:
            pytest.skip(reason)
    out = installed.work / f"r_{link}"
    res = installed.run("-m", "semcom_phy", "loopback", "--link", link, "--num-images", "16", "--snr", "10",
                        "--no-plot", "--out", str(out), timeout=600)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    results = list(out.rglob("results.json"))
    assert len(results) == 1, f"no results.json under {out}: {sorted(p.name for p in out.rglob('*'))}"
    accuracies = _accuracies(json.loads(results[0].read_text()))
    assert accuracies and min(accuracies) >= 0.5, accuracies     # 16 images at 10 dB: about 0.9
