"""The image-side certificate (T1, semcom_phy.certify.image): the sender's diffusion is exactly
Gaussian noise of sigma = sqrt((1 - ab) / ab) / 2 on the [0, 1] image, so the diffusing link is
the smoothed classifier's base classifier; images certified at an L2 budget survive an L2 PGD
crafted through the diffusing sender (EOT) at that budget; and a run with every row kind writes
valid rows, both plots, a sanity table with no flipped certificate, and resumes."""

import math

import numpy as np
import pytest
import torch

from semcom_phy.certify.smoothing import ABSTAIN, certify, max_radius, noise_like, predict
from semcom_phy.data.fashion_mnist import DEFAULT_ROOT

pytestmark = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


@pytest.fixture(scope="module")
def runner():
    from semcom_phy.certify.cells import runner_config
    from semcom_phy.certify.config import CertifyConfig
    from semcom_phy.evaluation.runner import Runner

    cfg = CertifyConfig(name="t", num_images=12, receivers=("none",), t1_steps=(120,))
    return Runner(runner_config(cfg), torch.device("cpu"))


def smoothing(runner, receiver="image", t_s=120):
    from semcom_phy.certify.cells import _image_smoothing

    return _image_smoothing(runner, "awgn", 10.0, receiver, t_s)


def test_the_diffusing_sender_is_gaussian_noise_on_the_image(runner):
    from semcom_phy.certify.image import image_sigma

    f = smoothing(runner)
    image = runner.defenses["image_t120"]
    ab = float(image.schedule.alphas_cumprod[120])
    assert math.isclose(f.sigma, math.sqrt((1 - ab) / ab) / 2) and math.isclose(image_sigma(image.schedule, 120), f.sigma)
    x, _ = runner.data(0)
    # the link's sender with a generator is the image defense's own sender with the same generator
    a = f.link().transmit(x, torch.Generator().manual_seed(3))
    b = image.encode(x, torch.Generator().manual_seed(3))
    assert torch.allclose(a, b, atol=1e-5)
    # and diffused(x + sigma eps) is the forward diffusion of x with eps, in [0, 1] space
    eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(4))
    x_t = image.schedule.add_noise(2 * x - 1, eps, torch.full((len(x),), 120))
    assert torch.allclose(f.diffused(x + f.sigma * eps), (x_t + 1) / 2, atol=1e-5)


def test_real_inputs_get_real_noise_and_the_real_radius():
    z = torch.zeros(20_000, 3)
    e = noise_like(z, 0.3, torch.Generator().manual_seed(0))
    assert e.dtype == torch.float32 and abs(float(e.std()) - 0.3) < 0.005
    # f(u) = 1[u_0 > -m] at u = 0: p_A = Phi(m / sigma), the true radius m; CERTIFY is below it
    m, sigma = 0.5, 0.4
    f = lambda u, g: (u[:, 0] > -m).long()                            # noqa: E731
    out = certify(f, torch.zeros(6, 3), sigma, n0=32, n=4000, alpha=0.001, generator=torch.Generator().manual_seed(1))
    assert bool((out.prediction == 1).all()) and bool((out.radius <= m + 1e-9).all()) and bool((out.radius > 0.4).all())
    assert max_radius(sigma, 4000, 0.001, is_complex=False) == pytest.approx(math.sqrt(2) * max_radius(sigma, 4000, 0.001))


def test_certified_images_survive_an_image_attack_through_the_diffusing_sender(runner):
    """T1's sanity check: an image certified at an L2 budget is not flipped by pgd L2 at that
    budget crafted through the diffusing link with EOT over the sender's noise; each image may fail
    with probability <= 2 alpha, so none may on 12. A budget far outside every radius flips some."""
    from semcom_phy.attacks import pgd

    f = smoothing(runner)
    x, y = runner.data(0)
    gen = torch.Generator().manual_seed(5)
    cert = certify(f, x, f.sigma, n0=16, n=200, alpha=0.001, batch=400, generator=gen)
    budget = 0.15
    held = (cert.prediction != ABSTAIN) & (cert.radius > budget)
    assert int(held.sum()) >= 4, cert.radius

    def attacked(eps):
        x_adv = pgd(f.link(), x, y, eps, norm="l2", steps=5, eot=2, generator=torch.Generator().manual_seed(6))
        return predict(f, x_adv, f.sigma, n=100, alpha=0.001, batch=400, generator=gen).prediction

    after = attacked(budget)
    assert int((held & (after != cert.prediction) & (after != ABSTAIN)).sum()) == 0, (cert.prediction, after)
    strong = attacked(4.0)                                            # 4x the largest radius 200 draws give
    clean = predict(f, x, f.sigma, n=100, alpha=0.001, batch=400, generator=gen).prediction
    assert float((strong == y).float().mean()) < float((clean == y).float().mean()) - 0.25


def test_a_run_with_every_kind_writes_rows_plots_and_resumes(tmp_path):
    from semcom_phy.certify.config import CertifyConfig
    from semcom_phy.certify.report import sanity, table
    from semcom_phy.certify.run import certify_run

    cfg = CertifyConfig(name="all", num_images=4, sigmas=(0.5,), receivers=("none", "image"), n0=8, n=40, n_predict=20,
                        batch=100, psr_db=(-40, -30), air_psr_db=(-20,), air_steps=1, smoothed_psr_db=(-35,),
                        t1_steps=(60,), l2_eps=(0, 0.05, 0.1), t1_attack_eps=(0.05,), attack_steps=2, attack_eot=2)
    quiet = lambda *_: None                                               # noqa: E731
    res = certify_run(cfg, tmp_path, "cpu", log=quiet)
    kinds = [r["kind"] for r in res.rows]
    assert kinds == ["certify"] * 2 + ["smoothed_air"] * 2 + ["air"] + ["t1"] * 2 + ["t1_attack"] * 2 + ["image_pgd"]
    assert (tmp_path / "certified.png").is_file() and (tmp_path / "certified_t1.png").is_file()
    t1 = [r for r in res.rows if r["kind"] == "t1"]
    for r in t1:
        assert r["air_time_s_per_image"] == pytest.approx(48 * r["air_time_s_per_transmission"])
        assert all(0 <= v <= r["radius_cap"] + 1e-9 for v in r["radius"]) and len(r["predict"]) == 4
    assert {r["weights"]["codec"] for r in t1} == {res.rows[0]["weights"]["codec"],
                                                   res.rows[1]["weights"]["codec"]}      # link codec, image codec
    checks = sanity(res.rows)
    assert len(checks) == 4 and all(c["flipped"] == 0 for c in checks)
    assert any(line.startswith("T1") for line in table(res.rows))
    again = certify_run(cfg, tmp_path, "cpu", plot_it=False, log=quiet)
    assert again.ran == 0 and [r["key"] for r in again.rows] == [r["key"] for r in res.rows]
    assert np.isfinite([r["clean_accuracy"] for r in res.rows if "clean_accuracy" in r]).all()
