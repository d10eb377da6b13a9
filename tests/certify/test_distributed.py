"""The certification on Ray: a local instance with 2 CPUs computes the rows of the in-process run,
number for number, and a rerun of the same folder computes nothing."""

import pytest

from semcom_phy.certify.config import CertifyConfig
from semcom_phy.certify.run import certify_run
from semcom_phy.data.fashion_mnist import DEFAULT_ROOT

ray = pytest.importorskip("ray", reason="Ray is a dependency of the project (make setup installs it)")
pytestmark = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


def test_rows_on_a_local_ray_instance_are_the_in_process_rows(tmp_path):
    cfg = CertifyConfig(name="ray", num_images=3, sigmas=[0.25], receivers=["none"], n0=4, n=20, n_predict=10,
                        batch=20, psr_db=[-40, -30], air_psr_db=[-20], air_steps=1)
    quiet = lambda *_: None                                                     # noqa: E731
    local = certify_run(cfg, tmp_path / "local", "cpu", plot_it=False, log=quiet)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        notes = []
        remote = certify_run(cfg, tmp_path / "ray", "cpu", plot_it=False, log=notes.append, ray="auto")
        assert any(n.startswith("ray: 2 worker(s)") for n in notes)
    finally:
        ray.shutdown()
    assert remote.ran == local.ran == len(local.rows) == 2
    assert [r["kind"] for r in remote.rows] == ["certify", "air"]
    for a, b in zip(local.rows, remote.rows):
        assert list(a) == list(b)                                               # the same fields, in order
        assert {k: v for k, v in a.items() if k != "elapsed_s"} == {k: v for k, v in b.items() if k != "elapsed_s"}
    # the rows streamed into the file as cells finished: a rerun (in-process) has nothing to do
    again = certify_run(cfg, tmp_path / "ray", "cpu", plot_it=False, log=quiet)
    assert again.ran == 0 and again.rows == remote.rows
