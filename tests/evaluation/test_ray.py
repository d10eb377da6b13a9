"""The evaluation on Ray: a local instance with 2 CPUs computes the same rows as the in-process run."""

import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.evaluation.config import Config
from semcom_phy.evaluation.run import evaluate

ray = pytest.importorskip("ray", reason="Ray is a dependency of the project (make setup installs it)")
pytestmark = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


def test_cells_on_a_local_ray_instance_give_the_in_process_rows(tmp_path):
    cfg = Config(name="ray", num_images=8, worst_of_n=2,
                 defenses=[{"label": "none", "defense": "none"},
                           {"label": "latent", "defense": "latent", "stochastic": True}],
                 attacks=[{"attack": "clean"}, {"attack": "pgd_adaptive", "budgets": [0, 0.1], "steps": 2, "eot": 2},
                          {"attack": "air_adaptive", "budgets": [-10], "steps": 2}])
    cfg.check()
    local = evaluate(cfg, tmp_path / "local", "cpu", plot=False, log=lambda *_: None)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        notes = []
        remote = evaluate(cfg, tmp_path / "ray", "cpu", plot=False, log=notes.append, ray="auto")
        assert any(n.startswith("ray: 2 worker(s)") for n in notes)
    finally:
        ray.shutdown()
    assert remote.ran == local.ran == len(local.rows) == 8
    for a, b in zip(local.rows, remote.rows):
        assert a["key"] == b["key"]
        for k, v in a.items():
            if k.endswith("_mean") and not k.startswith("ms_"):
                assert b[k] == pytest.approx(v, abs=1e-6), (a["defense"], a["attack"], k)
    # the rows streamed into the file as cells finished: a rerun in-process has nothing to do
    again = evaluate(cfg, tmp_path / "ray", "cpu", plot=False, log=lambda *_: None)
    assert again.ran == 0
