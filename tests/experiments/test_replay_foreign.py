"""Recordings from elsewhere: a valid SigMF recording without this project's metadata is
demodulated with a config given on the command line, or refused saying what is missing."""

import json
import shutil

import numpy as np

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

    # a ci16_le capture (what many SDR tools write) is read as int16 IQ, not refused
    iq = np.fromfile(rec / "sim_awgn_15dB-rx.sigmf-data", np.complex64)
    scaled = iq / np.abs(iq).max() * 16000
    ints = np.empty(2 * iq.size, "<i2")
    ints[0::2], ints[1::2] = np.round(scaled.real), np.round(scaled.imag)
    ints.tofile(foreign / "capture-rx.sigmf-data")
    as_ci16 = strip_semcom(meta, keep_hash=False)
    as_ci16["global"]["core:datatype"] = "ci16_le"
    (foreign / "capture-rx.sigmf-meta").write_text(json.dumps(as_ci16))
    res = run_script("scripts/replay.py", str(foreign), "--config", str(config), "--json", str(tmp_path / "r16.json"))
    assert res.returncode == 0, res.stderr
    (row16,) = json.loads((tmp_path / "r16.json").read_text())["results"]
    assert row16["frames_received"] == live["frames_received"] and abs(row16["accuracy"] - live["accuracy"]) <= 0.07
    as_ci16["global"]["core:datatype"] = "rf32_le"                       # real samples: not IQ
    (foreign / "capture-rx.sigmf-meta").write_text(json.dumps(as_ci16))
    res = run_script("scripts/replay.py", str(foreign), "--config", str(config))
    assert res.returncode == 2 and "core:datatype 'rf32_le'" in res.stderr and "Traceback" not in res.stderr
    (foreign / "capture-rx.sigmf-meta").write_text("{not json")
    res = run_script("scripts/replay.py", str(foreign), "--config", str(config))
    assert res.returncode == 2 and "not valid JSON" in res.stderr and "Traceback" not in res.stderr


def test_an_edited_recording_of_this_project_is_refused_and_the_others_still_replay(run_script, tmp_path):
    rec = tmp_path / "rec"
    res = run_script("scripts/record.py", "--out", str(rec), "--snr", "5", "15", "--num-images", "8", "--no-plot")
    assert res.returncode == 0, res.stderr
    meta_path = rec / "sim_awgn_5dB-rx.sigmf-meta"
    for edit in (lambda m: m["global"].update({"core:sample_rate": 1e6}),
                 lambda m: m["global"]["semcom:config"]["run"].update({"images": [1, 1, 2, 3, 4, 5, 6, 7]}),
                 lambda m: m["annotations"][0].update({"semcom:seq": 99})):
        meta = json.loads(meta_path.read_text())
        original = json.dumps(meta)
        edit(meta)
        meta_path.write_text(json.dumps(meta))
        res = run_script("scripts/replay.py", str(rec), "--json", str(tmp_path / "r.json"))
        assert res.returncode == 2 and "was edited after recording" in res.stderr and "Traceback" not in res.stderr
        rows = json.loads((tmp_path / "r.json").read_text())["results"]
        assert [r["recording"] for r in rows] == ["sim_awgn_15dB-rx.sigmf-meta"]      # the other one replayed
        meta_path.write_text(original)
