"""The detector on the shipped models (semcom_phy.detect.scores, .run): the scores' shapes, dtypes
and determinism given a generator, the Detector agrees with the standalone scores, a large air
perturbation (PSR 0 dB) is flagged at a threshold calibrated on other clean images, the adaptive
attacker stays in its budget, and a tiny end-to-end run writes its rows, resumes without
recomputing, reruns only what changed and plots."""

import json

import numpy as np
import pytest
import torch

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT

pytestmark = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


@pytest.fixture(scope="module")
def runner():
    from semcom_phy.detect.config import DetectConfig
    from semcom_phy.detect.run import runner_config
    from semcom_phy.evaluation.runner import Runner

    return Runner(runner_config(DetectConfig(name="t", num_images=8)), torch.device("cpu"))


def received(runner, idx, snr=10.0, delta=None, seed=0):
    from semcom_phy.semantic import symbol_channel

    x, y = runner.test_x[idx], runner.test_y[idx]
    with torch.no_grad():
        s = runner.undefended.codec.encode(x)
    s_tx = s if delta is None else s + delta
    b = len(s)
    z, no = symbol_channel(s_tx, torch.full((b,), snr), torch.zeros(b, dtype=torch.bool),
                           torch.Generator().manual_seed(seed))
    return x, y, s, z, no


def make_detector(runner, **kw):
    from semcom_phy.detect.config import DetectConfig
    from semcom_phy.detect.run import detector

    return detector(runner, DetectConfig(name="t", **kw))


def test_scores_shapes_dtypes_and_determinism(runner):
    from semcom_phy.detect.scores import (SCORES, Detector, cycle_residual, disagreement, image_residual, latent_residual,
                                          latent_step)

    _, _, _, z, no = received(runner, np.arange(6))
    lat, img, codec = runner.defenses["latent"], runner.defenses["image"], runner.undefended.codec
    g = lambda: torch.Generator().manual_seed(5)                      # noqa: E731
    with torch.no_grad():
        outs = {"latent_residual": lambda gen: latent_residual(lat.denoiser, lat.schedule, z, no, 50, 2, lat.max_step,
                                                               gen),
                "image_residual": lambda gen: image_residual(codec, img.denoiser, img.schedule, z, no, 10, 2, gen),
                "cycle_residual": lambda gen: cycle_residual(codec, z, no),
                "disagreement": lambda gen: disagreement(codec, lat.denoiser, lat.schedule, z, no, 50, 2, lat.max_step,
                                                         gen)}
        for name, f in outs.items():
            a, b, c = f(g()), f(g()), f(torch.Generator().manual_seed(6))
            assert a.shape == (6,) and a.dtype == torch.float32 and torch.isfinite(a).all(), name
            assert torch.equal(a, b), name                              # the generator fixes the draws
            if name != "cycle_residual":                                # deterministic by construction
                assert not torch.equal(a, c), name
            assert (a >= 0).all(), name
        det = make_detector(runner, latent_draws=2, image_draws=2)
        d = det(z, no, g())
        assert list(d) == ["logits", *SCORES] and d["logits"].shape == (6, 10)
        # the Detector's latent draws come first from the generator: its latent residual is the standalone one
        assert torch.allclose(d["latent_residual"], outs["latent_residual"](g()))
        assert torch.allclose(d["cycle_residual"], outs["cycle_residual"](None))
    t = latent_step(lat.schedule, no, 50, lat.max_step)
    assert t.dtype == torch.long and (t <= lat.max_step).all() and (t > 50).all()
    with pytest.raises(ValueError, match="z_hat"):
        cycle_residual(codec, z.real, no)
    with pytest.raises(ValueError, match="scores"):
        Detector(codec, lat.denoiser, lat.schedule, scores=["energy"])


def test_a_large_air_perturbation_is_flagged(runner):
    from semcom_phy.attacks import gaussian_jamming, pgd_air
    from semcom_phy.detect.scores import Calibration
    from semcom_phy.symbol_link import SymbolLink

    det = make_detector(runner, latent_draws=2, image_draws=1)
    cal_idx, test_idx = np.arange(100, 164), np.arange(8)                # disjoint images
    with torch.no_grad():
        _, _, _, z, no = received(runner, cal_idx, seed=1)
        cal_scores = {k: v.double().numpy() for k, v in det(z, no, torch.Generator().manual_seed(2)).items()
                      if k != "logits"}
    cal = Calibration.fit(cal_scores, 0.05)
    x, y, s, _, _ = received(runner, test_idx)
    link = SymbolLink(runner.undefended, 10.0)
    air = pgd_air(link, x, y, 0.0, steps=3, generator=torch.Generator().manual_seed(3))
    jam = gaussian_jamming(tuple(s.shape), 0.0, torch.Generator().manual_seed(4))
    with torch.no_grad():
        for delta in (air, jam, None):
            _, _, _, z, no = received(runner, test_idx, delta=delta, seed=5)
            d = det(z, no, torch.Generator().manual_seed(6))
            flags = cal.flags({k: v.double().numpy() for k, v in d.items() if k != "logits"})
            if delta is None:                                         # clean images: at most one false alarm of 8
                assert flags["latent_residual"].sum() <= 1
            else:
                assert flags["latent_residual"].all() and flags["combined"].all()


def test_the_adaptive_attacker_stays_in_its_budget_and_lowers_the_score(runner):
    from semcom_phy.detect.scores import evade_air

    det = make_detector(runner, scores=["latent_residual"], latent_draws=1)
    x, y, s, _, _ = received(runner, np.arange(6))
    k = s.shape[1]
    objective = lambda d: d["latent_residual"]                            # noqa: E731
    out = {}
    for lam in (0.0, 100.0):
        delta = evade_air(det, s, y, 10.0, False, -10.0, objective, lam, steps=10,
                          generator=torch.Generator().manual_seed(7))
        assert delta.dtype == torch.complex64 and delta.shape == s.shape
        assert ((delta.abs() ** 2).sum(-1) <= k * 0.1 * (1 + 1e-5)).all()          # PSR <= -10 dB
        with torch.no_grad():
            _, _, _, z, no = received(runner, np.arange(6), delta=delta, seed=8)
            out[lam] = float(det(z, no, torch.Generator().manual_seed(9))["latent_residual"].mean())
    assert out[100.0] < out[0.0]                                           # the detector term is evaded


def test_a_tiny_run_writes_rows_resumes_and_plots(tmp_path):
    from semcom_phy.detect.config import DetectConfig
    from semcom_phy.detect.run import detect_run, table

    cfg = DetectConfig(name="tiny", num_images=6, calibration_images=10, psr_db=[-10], linf=[], steps=1,
                       latent_draws=1, image_draws=1, adaptive_lambdas=[5], universal_images=8)
    logs = []
    r1 = detect_run(cfg, tmp_path, torch.device("cpu"), log=logs.append)
    rows = [json.loads(ln) for ln in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert r1.ran == 6 and len(rows) == 6 and (tmp_path / "roc.png").stat().st_size > 10_000
    assert [r.get("attack", r["kind"]) for r in rows] == ["calibration", "clean", "air", "universal", "jamming",
                                                          "adaptive"]
    cal, clean, air, uni = rows[:4]
    assert uni["symbol_psr_db"] <= -10 + 1e-3 and uni["num_images"] == 6
    assert cal["num_images"] == 10 and len(cal["label"]) == 10 and len(clean["label"]) == 6
    assert all(cal["false_alarm"][k] <= cfg.false_alarm for k in cal["false_alarm"])
    assert air["attack"] == "air" and set(air["auc"]) == set(cal["calibration"]["thresholds"])
    assert all(0.0 <= v <= 1.0 for v in air["auc"].values()) and air["symbol_psr_db"] <= -10 + 1e-3
    assert "code" in (tmp_path / "config.yaml").read_text()
    assert any("pgd_air (T2) -10 dB" in ln for ln in table(r1.rows))
    assert any("universal (T2) -10 dB" in ln for ln in table(r1.rows))
    before = (tmp_path / "results.jsonl").read_text()
    r2 = detect_run(cfg, tmp_path, torch.device("cpu"), plot_it=False, log=logs.append)
    assert r2.ran == 0 and (tmp_path / "results.jsonl").read_text() == before and r2.rows == r1.rows
    r3 = detect_run(DetectConfig(**{**cfg.to_dict(), "adaptive_lambdas": [5, 50]}), tmp_path, torch.device("cpu"),
                    plot_it=False, log=logs.append)
    assert r3.ran == 1 and r3.rows[:6] == r1.rows and r3.rows[6]["lam"] == 50
