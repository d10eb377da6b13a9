"""Shared test helpers: a project script run as users run it, and the hardware tests' option
(``pytest -m pluto --pluto-uri ip:192.168.2.1``, hardware/README.md)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_script():
    """``run_script("scripts/loopback.py", *args, timeout=300)``: the script under the project's
    Python from the repository root; the CompletedProcess with its text output."""
    def run(script: str, *args: str, timeout: float = 300):
        return subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT)
    return run


def pytest_addoption(parser):
    parser.addoption("--pluto-uri", default=None,
                     help="run the PlutoSDR hardware tests against this radio (TX -> 30 dB attenuator -> RX cable)")


@pytest.fixture
def pluto_uri(request):
    uri = request.config.getoption("--pluto-uri")
    if not uri:
        pytest.skip("needs a PlutoSDR: pytest -m pluto --pluto-uri URI (a TX -> attenuator -> RX cable)")
    return uri
