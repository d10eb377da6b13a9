"""Evaluation rows keyed by everything that produced them: a changed field reruns exactly its
cells, the report holds the current config's rows only, and a failed sanity check fails the run."""

import dataclasses

import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.evaluation.config import Config
from semcom_phy.evaluation.run import cell_key, cell_spec, evaluate
from semcom_phy.evaluation.runner import cells

NEEDS_DATA = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


def small(**kw) -> Config:
    cfg = Config(name="small", num_images=8, worst_of_n=1,
                 defenses=[{"label": "none", "defense": "none"}, {"label": "median", "defense": "median"}],
                 attacks=[{"attack": "clean"}, {"attack": "noise", "budgets": [0.05, 0.1]},
                          {"attack": "jamming", "budgets": [-10]}], **kw)
    cfg.check()
    return cfg


def keys(cfg: Config) -> dict:
    return {(c[0], c[1], c[2]["label"], c[3].get("label", c[3]["attack"]), c[4]):
            cell_key(cell_spec(cfg, *c, weights={"codec": "x"})) for c in cells(cfg)}


@pytest.mark.parametrize("change, touched", [
    (lambda c: c.attacks[1].update(steps=3), {"noise"}),                      # one attack's field
    (lambda c: c.attacks[2].update(budgets=[-10, -5]), {"jamming"}),          # a budget added: only it is new
    (lambda c: c.defenses[1].update(label="median"), set()),                  # nothing changed
    (lambda c: setattr(c, "worst_of_n", 2), {"clean", "noise", "jamming"}),   # every cell
    (lambda c: setattr(c, "num_images", 16), {"clean", "noise", "jamming"}),
])
def test_a_changed_field_changes_exactly_the_keys_of_its_cells(change, touched):
    before = keys(small())
    cfg = small()
    change(cfg)
    after = keys(cfg)
    changed = {k[3] for k in after if after[k] != before.get(k)}
    assert changed == touched
    if touched == {"jamming"}:                                                 # only the new budget's cells
        assert {k[4] for k in after if after[k] != before.get(k)} == {-5}


@NEEDS_DATA
def test_a_rerun_computes_only_changed_cells_and_the_report_holds_only_this_config(tmp_path):
    out = tmp_path / "ev"
    first = evaluate(small(), out, "cpu", plot=False, log=lambda *_: None)
    assert first.ran == len(first.rows) == 8 and first.other_rows == 0
    again = evaluate(small(), out, "cpu", plot=False, log=lambda *_: None)
    assert again.ran == 0 and [r["key"] for r in again.rows] == [r["key"] for r in first.rows]
    cfg = small()
    cfg.attacks[1]["steps"] = 3                                               # touches the 4 noise cells
    changed = evaluate(cfg, out, "cpu", plot=False, log=lambda *_: None)
    assert changed.ran == 4 and changed.other_rows == 4
    other = evaluate(dataclasses.replace(small(), num_images=4), out, "cpu", plot=False, log=lambda *_: None)
    assert other.ran == 8 and all(r["num_images"] == 4 for r in other.rows)
    report = (out / "report.md").read_text()
    assert "8 test images" not in report and "rows of other configs in `results.jsonl` are left out" in report
    # a torn last line (an interrupted write) is dropped and its cell runs again, nothing crashes
    text = (out / "results.jsonl").read_text()
    (out / "results.jsonl").write_text(text + text.splitlines()[-1][: 40])
    notes = []
    evaluate(dataclasses.replace(small(), num_images=4), out, "cpu", plot=False, log=notes.append)
    assert any("unreadable line" in n for n in notes)


@NEEDS_DATA
def test_a_failed_sanity_check_fails_the_command(run_script, tmp_path):
    # a white-box attack at a budget too small to matter: the undefended link is not broken
    (tmp_path / "c.yaml").write_text("name: c\nnum_images: 4\nworst_of_n: 1\nattacks: [{attack: clean}, "
                                     "{attack: pgd_fixed, budgets: [0.0001], steps: 1}]\n")
    res = run_script("scripts/evaluate.py", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o"),
                     "--no-plot")
    assert res.returncode == 1 and "sanity check(s) failed: undefended_attack_succeeds" in res.stderr
    report = (tmp_path / "o" / "report.md").read_text()
    assert report.splitlines()[2].startswith("**") and "FAILED" in report.splitlines()[2]
    # the checks this config gives nothing to check are skipped, said so, and do not fail it
    assert "SKIPPED budget_zero_equals_clean: nothing to check: the config has no image attack at budget 0" in res.stdout
    assert "- SKIPPED `accuracy_falls_with_budget`: nothing to check" in report
