"""scripts/compare.py: loopback runs side by side, labelled from their configs, in one plot."""

import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT

pytestmark = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


def test_runs_are_compared_by_label_and_bad_input_is_named(run_script, tmp_path):
    for channel in ("awgn", "multipath"):
        res = run_script("scripts/loopback.py", "--channel", channel, "--snr", "5", "15", "--num-images", "16",
                         "--out", str(tmp_path / channel), "--no-plot", "--json", str(tmp_path / f"{channel}.json"))
        assert res.returncode == 0, res.stderr
    run_dir = next((tmp_path / "multipath").iterdir())             # a run folder works as well as its JSON
    res = run_script("scripts/compare.py", str(tmp_path / "awgn.json"), str(run_dir), "--out", str(tmp_path / "c.png"))
    assert res.returncode == 0, res.stderr
    assert "sim/awgn, defense none" in res.stdout and "sim/multipath, defense none" in res.stdout
    rows = [line.split() for line in res.stdout.splitlines() if line.strip().startswith(("5 ", "15 "))]
    assert [r[0] for r in rows] == ["5", "15"] and all(len(r) == 1 + 2 * 3 for r in rows)   # acc / PSNR per run
    assert (tmp_path / "c.png").stat().st_size > 10_000
    res = run_script("scripts/compare.py", str(tmp_path / "awgn.json"), "--labels", "a", "b")
    assert res.returncode == 2 and "--labels: 2 given for 1 runs" in res.stderr
    (tmp_path / "junk.json").write_text("{}")
    res = run_script("scripts/compare.py", str(tmp_path / "junk.json"))
    assert res.returncode == 2 and "no result rows" in res.stderr and "Traceback" not in res.stderr


def test_runs_that_share_a_label_get_what_differs_between_them():
    from semcom_phy.experiments.compare import Run, unique_labels
    from semcom_phy.experiments.config import LoopbackConfig, dump

    rows = [{"snr_db": 5, "accuracy": 0.5, "psnr_db": 20.0}]
    a, b = dump(LoopbackConfig(seed=0)), dump(LoopbackConfig(seed=1))
    runs = [Run("sim/awgn, defense none", rows, None, a), Run("sim/awgn, defense none", rows, None, b),
            Run("sim/awgn, defense none", rows, None, a), Run("sim/fading, defense none", rows, None, a)]
    labels = unique_labels(runs)
    assert len(set(labels)) == 4
    assert labels[1] == "sim/awgn, defense none (seed 1)" and labels[3] == "sim/fading, defense none"
