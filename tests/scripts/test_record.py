"""scripts/record.py and scripts/replay.py: a recorded live run replays to the same numbers."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.experiments import config as C

pytestmark = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


def test_replay_of_a_recorded_run_reproduces_its_numbers_and_damage_is_refused(run_script, tmp_path):
    data = tmp_path / "data"
    res = run_script("scripts/record.py",
                     "--out", str(data), "--snr", "3", "15", "--num-images", "48", "--channel", "awgn", "multipath",
                     "--attack", "none", "air", "--no-plot", "--json", str(tmp_path / "live.json"))
    assert res.returncode == 0, res.stderr
    with open(data / "index.csv") as f:
        index = list(csv.DictReader(f))
    # one recording pair per channel, attack and SNR
    assert len(index) == 16 and {r["stream"] for r in index} == {"tx", "rx"}
    assert {(r["channel"], r["attack"], r["snr_db"]) for r in index} == {
        (c, a, s) for c in ("awgn", "multipath") for a in ("none", "air-10dB") for s in ("3.0", "15.0")}
    assert all(int(r["frames"]) > 0 and len(r["sha512"]) == 128 for r in index)
    # every recording, every annotation, and its checksum, by the sigmf package's own validator
    metas = sorted(str(p) for p in data.glob("*.sigmf-meta"))
    res = subprocess.run([str(Path(sys.executable).with_name("sigmf_validate")), *metas], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    meta = json.loads((data / "sim_multipath_15dB_air-10dB-rx.sigmf-meta").read_text())
    assert {(a["semcom:attack"], a["semcom:psr_db"], a["semcom:steps"]) for a in meta["annotations"]} == {("air", -10.0, 10)}
    collection = json.loads((data / "data.sigmf-collection").read_text())["collection"]
    assert sorted(st["name"] for st in collection["core:streams"]) == sorted(Path(m).stem for m in metas)
    for m in metas:                                       # portable: no machine path in any metadata
        text = Path(m).read_text()
        assert str(tmp_path) not in text and "/tmp" not in text and "/work" not in text and "manifest" not in text
    moved = tmp_path / "elsewhere" / "dataset"            # the dataset moved: it replays all the same
    moved.parent.mkdir()
    data.rename(moved)
    data = moved
    res = run_script("scripts/replay.py",
                     str(data), "--json", str(tmp_path / "replay.json"), "--export", str(tmp_path / "f.npz"))
    assert res.returncode == 0, res.stderr
    live = json.loads((tmp_path / "live.json").read_text())["results"]
    again = json.loads((tmp_path / "replay.json").read_text())["results"]
    assert len(live) == len(again) == 8
    cell = lambda r: (r["channel"], r["attack"], r["snr_db"])  # noqa: E731
    by_cell = {cell(r): r for r in live}
    for b in again:
        b.pop("recording"), b.pop("defense")                 # the replay names its defense
        assert by_cell[cell(b)] == b                      # same frames, same accuracy, PSNR, EVM, SNR, CFO
    for c in ("awgn", "multipath"):                       # the recorded attack is the live one, and it bites
        assert by_cell[(c, "air-10dB", 15.0)]["accuracy"] < by_cell[(c, "none", 15.0)]["accuracy"] - 0.3
    from semcom_phy.data import load_split
    from semcom_phy.io.sigmf_io import load_frames

    frames = load_frames(tmp_path / "f.npz")
    assert len(frames["seq"]) == sum(r["frames_received"] for r in live)
    assert frames["inferred"].sum() == sum(r["frames_inferred"] for r in live) > 0    # multipath at 3 dB loses some
    assert (frames["label"] == load_split("test").labels[frames["image"]]).all()     # annotations name the images
    assert set(frames["snr_db"]) == {3.0, 15.0} and frames["iq"].shape[1] == frames["iq_length"].max()
    air = frames["attack"] == "air"                                      # half the recordings carry the attack
    assert 0 < air.sum() < len(air) and (frames["budget"][air] == -10.0).all() and np.isnan(frames["budget"][~air]).all()
    rx = data / "sim_multipath_15dB-rx.sigmf-data"
    rx.write_bytes(rx.read_bytes()[:-800])
    res = run_script("scripts/replay.py", str(data))
    assert res.returncode == 2 and "SHA-512 does not match" in res.stderr and "Traceback" not in res.stderr


def test_replay_repeats_a_stochastic_scrambled_defense_draw_for_draw(run_script, tmp_path):
    data = tmp_path / "data"
    res = run_script("scripts/record.py", "--out", str(data), "--snr", "0", "10", "--num-images", "32",
                     "--defense", "latent", "--stochastic", "--votes", "3", "--scramble", "--key", "0x5ec",
                     "--no-plot", "--json", str(tmp_path / "live.json"))
    assert res.returncode == 0, res.stderr
    def defenses(v):
        """Every mapping in the metadata that describes a defense (has ``scramble``), and whether a
        ``key`` field appears anywhere."""
        parts = [defenses(x) for x in (v.values() if isinstance(v, dict) else v if isinstance(v, list) else [])]
        own = [v] if isinstance(v, dict) and "scramble" in v else []
        return own + [d for p, _ in parts for d in p], (isinstance(v, dict) and "key" in v) or any(k for _, k in parts)

    for meta in data.glob("*.sigmf-meta"):                # the key is never written, its fingerprint is
        found, has_key = defenses(json.loads(meta.read_text()))
        assert found and not has_key and "0x5ec" not in meta.read_text().lower()
        assert all(d["key_fingerprint"] == C.key_fingerprint(0x5EC) for d in found)
    res = run_script("scripts/replay.py", str(data))
    assert res.returncode == 2 and "give it (--key)" in res.stderr and "Traceback" not in res.stderr
    res = run_script("scripts/replay.py", str(data), "--key", "0x5ed")
    assert res.returncode == 2 and "does not match the key_fingerprint" in res.stderr
    res = run_script("scripts/replay.py", str(data), "--key", "0x5ec", "--json", str(tmp_path / "replay.json"))
    assert res.returncode == 0, res.stderr
    live = json.loads((tmp_path / "live.json").read_text())["results"]
    again = json.loads((tmp_path / "replay.json").read_text())["results"]
    assert len(live) == len(again) == 2
    for a, b in zip(live, again):
        b.pop("recording"), b.pop("defense")                 # the replay names its defense
        assert a == b


def test_a_dataset_is_never_overwritten_unasked(run_script, tmp_path):
    data = tmp_path / "data"
    args = ("--out", str(data), "--snr", "10", "--num-images", "4", "--no-plot")
    assert run_script("scripts/record.py", *args).returncode == 0
    first = {p.name: p.read_bytes() for p in data.glob("*.sigmf-[dm]*")}                 # the recordings
    res = run_script("scripts/record.py", *args)
    assert res.returncode == 2 and "already holds 2 recordings" in res.stderr and "Traceback" not in res.stderr
    assert {p.name: p.read_bytes() for p in data.glob("*.sigmf-[dm]*")} == first       # untouched
    assert run_script("scripts/record.py", *args, "--append").returncode == 0
    names = sorted(p.name for p in data.glob("*.sigmf-meta"))
    assert len(names) == 4 and {n: first[n] for n in first} == {n: (data / n).read_bytes() for n in first}
    with open(data / "index.csv") as f:
        assert sorted(r["file"] for r in csv.DictReader(f)) == names                     # the index lists them all
    assert run_script("scripts/record.py", *args, "--overwrite").returncode == 0
    assert len(list(data.glob("*.sigmf-meta"))) == 2
    res = run_script("scripts/record.py", "--out", str(tmp_path / "d2"), "--snr", "10", "10", "--no-plot")
    assert res.returncode == 2 and "each SNR at most once" in res.stderr
    assert not (tmp_path / "d2").exists()                                              # refused before any work
