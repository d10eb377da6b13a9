"""Interrupted recordings: SIGINT or SIGTERM at any moment leaves whole pairs and an index that
lists exactly them, never a half pair, a temporary file or an index of other files."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.io.signals import Terminated, deferred_signals, terminate_raises
from semcom_phy.io.sigmf_io import LinkRecorder, open_recording


@pytest.fixture
def sigterm_restored():
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
def test_a_signal_waits_for_the_section_then_is_raised(signum, raised, sigterm_restored):
    terminate_raises()
    done = []
    with pytest.raises(raised):
        with deferred_signals():
            os.kill(os.getpid(), signum)
            time.sleep(0.05)                      # the handler has run by now: it only noted the signal
            done.append("the section went on to its end")
    assert done
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler      # the handlers are back


def test_a_signal_during_the_pair_s_renames_leaves_the_whole_pair(tmp_path, monkeypatch):
    rec = LinkRecorder(tmp_path / "run", 2e6)
    for r in (rec.tx, rec.rx):
        r.write(np.ones(64, np.complex64))
        r.annotate(0, 64, "frame 0", seq=0)
    real, calls = os.replace, []

    def replace(a, b):                             # Ctrl-C right after the first file is renamed
        calls.append(b)
        real(a, b)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        rec.close()
    assert len(calls) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-rx.sigmf-data", "run-rx.sigmf-meta",
                                                          "run-tx.sigmf-data", "run-tx.sigmf-meta"]
    for stream in ("tx", "rx"):
        open_recording(tmp_path / f"run-{stream}.sigmf-meta")


def check_dataset(folder):
    """The folder's recordings are whole pairs that verify, and index.csv and the collection list
    exactly them; no partial or temporary file anywhere."""
    if not folder.exists():
        return 0
    stray = [p for p in folder.rglob("*") if p.name.endswith(".part") or p.name.endswith(".tmp")]
    assert not stray, stray
    metas = sorted(p.name for p in folder.glob("*.sigmf-meta"))
    datas = sorted(p.name for p in folder.glob("*.sigmf-data"))
    assert [m.removesuffix("-meta") for m in metas] == [d.removesuffix("-data") for d in datas]
    stems = {m.removesuffix(".sigmf-meta") for m in metas}
    assert {s.removesuffix("-tx") for s in stems if s.endswith("-tx")} == \
        {s.removesuffix("-rx") for s in stems if s.endswith("-rx")}, stems
    hashes = {m: open_recording(folder / m).get_global_info()["core:sha512"] for m in metas}
    if metas:
        with open(folder / "index.csv") as f:
            rows = list(csv.DictReader(f))
        assert {r["file"]: r["sha512"] for r in rows} == hashes
        (collection,) = folder.glob("*.sigmf-collection")
        streams = json.loads(collection.read_text())["collection"]["core:streams"]
        assert sorted(s["name"] + ".sigmf-meta" for s in streams) == metas
    return len(metas) // 2


@pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")
def test_record_interrupted_at_many_points_keeps_a_consistent_dataset(tmp_path):
    command = [sys.executable, "-m", "semcom_phy", "record", "--snr", "0", "10", "20", "--num-images", "24",
               "--chunk-images", "8", "--no-plot", "--device", "cpu"]
    env = {**os.environ, "SEMCOM_PROGRESS": "off"}
    t0 = time.monotonic()
    whole = subprocess.run(command + ["--out", str(tmp_path / "whole")], env=env, capture_output=True, text=True)
    duration = time.monotonic() - t0
    assert whole.returncode == 0, whole.stderr
    assert check_dataset(tmp_path / "whole") == 3
    seen = set()
    trials = 10
    for k in range(trials):                        # signals at every stage of the run, both kinds
        out = tmp_path / f"cut{k}"
        signum = (signal.SIGINT, signal.SIGTERM)[k % 2]
        stage, extra = k % 3, 0.2 * (k // 3)       # after 0, 1 or 2 finished pairs, then a little later
        child = subprocess.Popen(command + ["--out", str(out)], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while (len(list(out.glob("*-rx.sigmf-meta"))) < stage and child.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.01)
        time.sleep(extra + (0.5 * duration if stage == 0 else 0.0))
        child.send_signal(signum)
        _, err = child.communicate(timeout=120)
        assert "Traceback" not in err or child.returncode in (-signal.SIGINT, -signal.SIGTERM), err
        assert child.returncode in (0, 130, 143, -signal.SIGINT, -signal.SIGTERM), (child.returncode, err)
        if child.returncode in (130, 143):
            assert "interrupted" in err and "partial files are removed" in err
        seen.add(check_dataset(out))
    assert len(seen) >= 2, seen                    # cut at different stages, not all at one point
