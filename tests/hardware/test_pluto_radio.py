"""Hardware tests: a real PlutoSDR with a TX -> 30 dB attenuator -> RX cable. Skipped unless
``--pluto-uri`` names it: ``python -m pytest -m pluto --pluto-uri ip:192.168.2.1``. The same
checks run against the virtual Pluto (``--pluto-uri virtual``) anywhere."""

import json

import pytest

pytestmark = pytest.mark.pluto


def test_check_pluto_gets_every_frame_back(run_script, pluto_uri):
    res = run_script("hardware/check_pluto.py", "--uri", pluto_uri)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "50 of 50 frames back" in res.stdout


def test_loopback_over_the_radio_classifies_like_the_simulated_link(run_script, pluto_uri, tmp_path):
    res = run_script("scripts/ota.py", "--preset", "cable", "--uri", pluto_uri, "--num-images", "128",
               "--out", str(tmp_path), "--json", str(tmp_path / "r.json"), "--no-plot")
    assert res.returncode == 0, res.stdout + res.stderr
    (row,) = json.loads((tmp_path / "r.json").read_text())["results"]
    assert row["frames_received"] == 128 and row["snr_est_db"] > 10 and row["accuracy"] > 0.8
