"""Recordings from elsewhere: a valid SigMF recording without this project's metadata is
demodulated with a config given on the command line, or refused saying what is missing."""

import json
import shutil

import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT

pytestmark = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


def strip_semcom(meta: dict, keep_hash: bool = True) -> dict:
    """What another SigMF tool would have written: core fields only."""
    g = {k: v for k, v in meta["global"].items() if k.startswith("core:") and k != "core:extensions"}
    if not keep_hash:
        g.pop("core:sha512")
    return {"global": g, "captures": meta["captures"],
            "annotations": [{k: v for k, v in a.items() if k.startswith("core:")} for a in meta["annotations"]]}


def test_a_foreign_recording_replays_with_a_config_or_says_what_is_missing(run_script, tmp_path):
    rec, runs = tmp_path / "rec", tmp_path / "runs"
    res = run_script("scripts/loopback.py", "--num-images", "16", "--snr", "15", "--record", str(rec), "--out",
                     str(runs), "--json", str(tmp_path / "live.json"), "--no-plot", "--interleave", "4")
    assert res.returncode == 0, res.stderr
    live = json.loads((tmp_path / "live.json").read_text())["results"][0]
    config = next(runs.iterdir()) / "config.yaml"                     # the run's resolved config
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    meta = json.loads((rec / "sim_awgn_15dB-rx.sigmf-meta").read_text())
    shutil.copy(rec / "sim_awgn_15dB-rx.sigmf-data", foreign / "capture-rx.sigmf-data")
    (foreign / "capture-rx.sigmf-meta").write_text(json.dumps(strip_semcom(meta, keep_hash=False)))

    res = run_script("scripts/replay.py", str(foreign))
    assert res.returncode == 2 and "no semcom:config" in res.stderr and "--config FILE.yaml" in res.stderr
    assert "Traceback" not in res.stderr
    res = run_script("scripts/replay.py", str(foreign), "--config", str(config), "--json", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stderr
    assert "integrity is not checked" in res.stderr                     # no hash: said, not hidden
    (row,) = json.loads((tmp_path / "r.json").read_text())["results"]
    for key in ("frames_received", "images_lost", "accuracy", "psnr_db", "ssim", "evm_db"):
        assert row[key] == live[key], key
    assert row["snr_db"] == pytest.approx(row["snr_est_db"], abs=0.01)   # no configured SNR: as measured

    edited = strip_semcom(meta)
    edited["global"]["core:datatype"] = "ci16_le"
    (foreign / "capture-rx.sigmf-meta").write_text(json.dumps(edited))
    res = run_script("scripts/replay.py", str(foreign), "--config", str(config))
    assert res.returncode == 2 and "core:datatype 'ci16_le'" in res.stderr and "Traceback" not in res.stderr
    (foreign / "capture-rx.sigmf-meta").write_text("{not json")
    res = run_script("scripts/replay.py", str(foreign), "--config", str(config))
    assert res.returncode == 2 and "not valid JSON" in res.stderr and "Traceback" not in res.stderr
