"""The robustness evaluation, run as a user runs it: the quick config end to end, resumable."""

import json

import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT

pytestmark = pytest.mark.skipif(not DEFAULT_ROOT.exists(),
                                reason="Debian package dataset-fashion-mnist not installed (make setup installs it)")


def test_quick_config_writes_the_contracted_results_and_resumes(run_script, tmp_path):
    out = tmp_path / "quick"
    res = run_script("scripts/evaluate.py",
                     "--config", "quick", "--out", str(out), "--json", str(tmp_path / "q.json"), timeout=600)
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "q.json").read_text())
    assert set(doc) >= {"config", "sanity", "results"}
    assert set(doc["sanity"]) >= {"budget_zero_equals_clean", "accuracy_falls_with_budget",
                                  "adversarial_beats_random", "undefended_attack_succeeds"}
    assert all(isinstance(c["ok"], bool) and c["detail"] for c in doc["sanity"].values())
    assert doc["sanity"]["budget_zero_equals_clean"]["ok"]
    rows = {(r["defense"], r["attack"], r["budget"]): r for r in doc["results"]}
    # the undefended link falls to the white-box attack and stays above it under random noise
    assert rows[("none", "pgd_adaptive", 0.1)]["accuracy_mean"] < 0.5 < rows[("none", "noise", 0.1)]["accuracy_mean"]
    assert rows[("none", "air_adaptive", -10)]["accuracy_mean"] < rows[("none", "jamming", -10)]["accuracy_mean"]
    # the baselines: adversarial training resists PGD better than nothing; the bit-burst attack
    # breaks the digital link's packets where Gaussian jamming of the same PSR does not
    assert rows[("advtrain", "pgd_adaptive", 0.1)]["accuracy_mean"] > rows[("none", "pgd_adaptive", 0.1)]["accuracy_mean"]
    assert rows[("digital", "air", -10)]["accuracy_mean"] < 0.3 < rows[("digital", "jamming", -10)]["accuracy_mean"]
    # scrambling: an air perturbation without the key is noise; with it (one fixed draw) it works again
    assert rows[("scrambled", "air", -10)]["accuracy_mean"] > rows[("none", "air", -10)]["accuracy_mean"] + 0.3
    assert rows[("scrambled", "air_fixed", -10)]["accuracy_mean"] < rows[("scrambled", "jamming", -10)]["accuracy_mean"] - 0.3
    assert doc["sanity"]["adversarial_beats_random"]["ok"]
    assert {p.name for p in out.iterdir()} >= {"results.jsonl", "report.md", "config.yaml", "acc_vs_snr.png",
                                              "acc_vs_linf.png", "acc_vs_psr.png", "acc_vs_cost.png"}
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(doc["results"])
    # the air attacks alone: no image-attack plot is drawn, and the stale one of the full run goes
    from semcom_phy.evaluation.config import T1, Config
    from semcom_phy.evaluation.report import plots

    cfg = Config(**{k: v for k, v in doc["config"].items()})
    plots(out, cfg, [r for r in doc["results"] if r["kind"] not in T1])
    names = {p.name for p in out.iterdir()}
    assert "acc_vs_psr.png" in names and not names & {"acc_vs_linf.png", "acc_vs_cost.png"}
    # a re-run finds every cell done and adds nothing
    again = run_script("scripts/evaluate.py", "--config", "quick", "--out", str(out), "--no-plot", timeout=600)
    assert again.returncode == 0, again.stderr
    assert "0 to run" in again.stdout
    assert (out / "results.jsonl").read_text().splitlines() == lines


@pytest.mark.parametrize("text, message", [
    ("name: x\nbogus: 1\n", "unknown keys ['bogus']"),
    ("name: x\nchannels: [moon]\n", "channels: 'moon'"),
    ("name: x\nattacks: [{attack: pgd}]\n", "pgd needs a list of budgets"),
    ("name: x\ndefenses: [{label: a, defense: latent, nfe: 0}]\n", "nfe = 0"),
    ("name: ../../x\n", "a plain folder name"),
    ("name: /tmp/x\n", "a plain folder name"),
    ("name: x\nbatch_size: 0\n", "batch_size = 0 is out of range"),
    ("name: x\nnum_images: ten\n", "num_images = 'ten'"),
    ("name: x\nsnr_db: [1000]\n", "snr_db = 1000 is out of range"),
    ("name: x\nseeds: [-1]\n", "seeds = -1"),
    ("name: x\nattacks: [{attack: pgd, budgets: [-0.5]}]\n", "budgets = -0.5 is out of range: allowed [0, 1]"),
    ("name: x\nattacks: [{attack: pgd, budgets: [5]}]\n", "budgets = 5 is out of range: allowed [0, 1]"),
    ("name: x\nattacks: [{attack: air, budgets: [200]}]\n", "budgets = 200 is out of range: allowed [-60, 20]"),
    ("name: x\nattacks: [{attack: pgd_adaptive, budgets: [0.1], eot: 0}]\n", "eot = 0 is out of range"),
    ("name: x\nattacks: [{attack: pgd_adaptive, budgets: [0.1], steps: 0}]\n", "steps = 0 is out of range"),
    ("[1, 2]\n", "expected a mapping"),
    ("name: x\nseeds: [\n", "not valid YAML"),
])
def test_bad_configs_exit_with_a_clear_message(run_script, text, message, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    res = run_script("scripts/evaluate.py", "--config", str(cfg), "--out", str(tmp_path / "o"), timeout=600)
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr
