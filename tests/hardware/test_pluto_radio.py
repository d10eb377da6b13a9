"""Hardware tests: a real PlutoSDR with a TX -> 30 dB attenuator -> RX cable. Skipped unless
``--pluto-uri`` names it: ``python -m pytest -m pluto --pluto-uri ip:192.168.2.1``. The same
checks run against the virtual Pluto (``--pluto-uri virtual``) anywhere."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.pluto


def _run(script, *args):
    return subprocess.run([sys.executable, str(ROOT / script), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def test_check_pluto_gets_every_frame_back(pluto_uri):
    res = _run("hardware/check_pluto.py", "--uri", pluto_uri)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "50 of 50 frames back" in res.stdout


def test_loopback_over_the_radio_classifies_like_the_simulated_link(pluto_uri, tmp_path):
    res = _run("scripts/ota.py", "--preset", "cable", "--uri", pluto_uri, "--num-images", "128",
               "--out", str(tmp_path), "--json", str(tmp_path / "r.json"), "--no-plot")
    assert res.returncode == 0, res.stdout + res.stderr
    (row,) = json.loads((tmp_path / "r.json").read_text())["results"]
    assert row["frames_received"] == 128 and row["snr_est_db"] > 10 and row["accuracy"] > 0.8
