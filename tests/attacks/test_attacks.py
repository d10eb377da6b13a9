"""Attacks on the link: budgets, sanity checks (budget 0 = clean, adversarial beats random), determinism,
fixed noise, BPDA and argument checks. Small untrained models, plus the shipped codec where cheap."""

import math

import pytest
import torch

from semcom_phy.attacks import (
    LinkModel,
    evaluate,
    fgsm,
    gaussian_jamming,
    pgd,
    pgd_air,
    psr_db,
    scale_to_psr,
    universal_air,
)
from semcom_phy.data import load_split, to_tensor
from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.purify import Defense, DefenseConfig, LatentDenoiser, LatentDenoiserConfig, NoiseSchedule
from semcom_phy.semantic import CodecConfig, SemanticCodec, load_codec

needs_data = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")

SCHEDULE = NoiseSchedule(1000, "linear")
TABLE = {"t": [0, 400], "var": [1e-3, 0.5], "var_stochastic": [2e-3, 0.6]}
K = 32
B = 8


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _models(seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        codec = SemanticCodec(CodecConfig(num_symbols=K, channels=16)).eval()
        latent = LatentDenoiser(LatentDenoiserConfig(dim=2 * K, hidden=64, depth=2)).eval()
        # the output layer starts at zero (an identity purifier): give the untrained denoiser a non-trivial map
        torch.nn.init.normal_(latent.out[-1].weight, std=0.2)
        return codec, latent


def _link(defense="none", snr_db=10.0, fading=False, **kw):
    codec, latent = _models()
    cfg = DefenseConfig(defense=defense, sender_step=60, nfe=2, **kw)
    if defense == "none":
        return LinkModel(Defense(cfg, codec), snr_db, fading)
    return LinkModel(Defense(cfg, codec, SCHEDULE, latent, residual_var=TABLE), snr_db, fading)


def _data(b=B, seed=1):
    g = _gen(seed)
    return torch.rand(b, 1, 28, 28, generator=g), torch.randint(0, 10, (b,), generator=g)


# --------------------------------------------------------------------------- budgets

def test_linf_attacks_stay_in_the_budget_and_the_image_box():
    model = _link("latent", fading=True, stochastic=True)
    x, y = _data()
    x0 = x.clone()
    for x_adv in (pgd(model, x, y, 0.05, steps=1, eot=2, generator=_gen()), fgsm(model, x, y, 0.05, _gen())):
        assert x_adv.shape == x.shape and not x_adv.requires_grad
        assert float((x_adv - x).abs().max()) <= 0.05 + 1e-6
        assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0
        assert float((x_adv - x).abs().max()) > 0.01          # it moved
    assert torch.equal(x, x0)                                 # inputs untouched
    assert not model.defense.codec.training                   # eval state untouched


def test_l2_pgd_stays_in_the_per_image_ball():
    model = _link()
    x, y = _data()
    x_adv = pgd(model, x, y, 1.5, norm="l2", steps=1, generator=_gen())
    norms = torch.linalg.vector_norm((x_adv - x).flatten(1), dim=1)
    assert torch.all(norms <= 1.5 + 1e-5) and torch.all(norms > 0.1)
    assert float(x_adv.min()) >= 0.0 and float(x_adv.max()) <= 1.0


def test_air_perturbations_respect_the_psr_budget():
    model = _link("receiver", stochastic=True)
    x, y = _data()
    s = model.transmit(x)
    delta = pgd_air(model, x, y, -10.0, steps=2, eot=2, generator=_gen())
    assert delta.shape == (B, K) and delta.is_complex()
    assert torch.all(psr_db(delta, s) <= -10.0 + 1e-4)
    assert torch.all(psr_db(delta, s) > -10.5)                # PGD uses its budget
    uni = universal_air(model, x, y, -12.0, epochs=1, batch_size=4, generator=_gen())
    assert uni.shape == (K,) and uni.is_complex()
    assert torch.all(psr_db(uni, s) <= -12.0 + 1e-4)
    jam = gaussian_jamming((B, K), -7.0, _gen())
    assert jam.shape == (B, K) and jam.dtype == torch.complex64
    torch.testing.assert_close(psr_db(jam), torch.full((B,), -7.0), atol=1e-4, rtol=0)
    torch.testing.assert_close(psr_db(gaussian_jamming((K,), 3.0, _gen())), torch.tensor(3.0), atol=1e-4, rtol=0)


def test_psr_helpers():
    g = _gen()
    d = torch.complex(torch.randn(4, K, generator=g), torch.randn(4, K, generator=g))
    scaled = scale_to_psr(d, -5.0, K)
    torch.testing.assert_close(scaled.abs().pow(2).sum(-1), torch.full((4,), K * 10 ** -0.5))
    small = scale_to_psr(d * 1e-3, -5.0, K, project=True)     # inside the ball: projection leaves it
    torch.testing.assert_close(small, d * 1e-3)
    assert torch.all(scale_to_psr(d, -math.inf, K) == 0)
    s = 2 * torch.ones(4, K, dtype=torch.complex64)           # power 4 per symbol: PSR 6 dB lower
    torch.testing.assert_close(psr_db(scaled, s), torch.full((4,), -5.0 - 10 * math.log10(4)))


# --------------------------------------------------------------------------- sanity: budget 0 is clean

def test_budget_zero_equals_clean():
    model = _link("receiver", stochastic=True)
    x, y = _data()
    clean = evaluate(model, x, y, generator=_gen(7))
    x_adv = pgd(model, x, y, 0.0, steps=1, generator=_gen())
    assert torch.equal(x_adv, x)                              # hence the same accuracy for the same draw
    assert torch.equal(fgsm(model, x, y, 0.0, _gen()), x)
    delta = pgd_air(model, x, y, -math.inf, steps=1, generator=_gen())
    assert torch.all(delta == 0)
    assert torch.equal(evaluate(model, x, y, delta, generator=_gen(7))["correct"], clean["correct"])
    tiny = pgd_air(model, x, y, -200.0, steps=1, generator=_gen())
    assert evaluate(model, x, y, tiny, generator=_gen(7))["accuracy"] == clean["accuracy"]
    assert torch.all(gaussian_jamming((B, K), -math.inf, _gen()) == 0)


def test_evaluate_counts_worst_of_n():
    model = _link("receiver", snr_db=0.0, stochastic=True)
    x, y = _data(8)
    r = evaluate(model, x, y, n=2, generator=_gen(), batch_size=5)
    assert r["correct"].shape == (2, 8) and r["correct"].dtype == torch.bool
    assert r["accuracy"] == pytest.approx(float(r["correct"].float().mean()))
    assert r["worst_of_n"] == pytest.approx(float(r["correct"].all(0).float().mean()))
    assert r["worst_of_n"] <= r["accuracy"]
    # n = 1 in one batch is exactly one call of the link with that generator (the fixed-noise figure)
    _, scores = model(x, generator=_gen(4))
    assert torch.equal(evaluate(model, x, y, n=1, generator=_gen(4))["correct"][0], scores.argmax(-1) == y)
    # a voting defense is evaluated (not attacked)
    voting = _link("receiver", stochastic=True, votes=3)
    assert evaluate(voting, x, y, n=1, generator=_gen())["correct"].shape == (1, 8)


def test_universal_delta_broadcasts_like_a_repeated_per_example_delta():
    model = _link("none", fading=True)
    x, _ = _data()
    d = gaussian_jamming((K,), -5.0, _gen())
    a = model(x, d, generator=_gen(3))[1]
    b = model(x, d.expand(B, K), generator=_gen(3))[1]
    torch.testing.assert_close(a, b)


# --------------------------------------------------------------------------- the shipped codec: attacks really work

@pytest.fixture(scope="module")
def shipped():
    if not DEFAULT_ROOT.exists():
        pytest.skip("Debian package dataset-fashion-mnist not installed")
    split = load_split("test")
    x = to_tensor(split.images[:64])
    y = torch.from_numpy(split.labels[:64].astype("int64"))
    return LinkModel(Defense(DefenseConfig("none"), load_codec()), 20.0), x, y


@needs_data
def test_pgd_beats_random_sign_noise_on_the_shipped_codec(shipped):
    model, x, y = shipped
    clean = evaluate(model, x, y, generator=_gen())["accuracy"]
    adv = evaluate(model, pgd(model, x, y, 0.1, steps=10, generator=_gen(1)), y, generator=_gen())["accuracy"]
    signs = 2 * torch.randint(0, 2, x.shape, generator=_gen(2)).float() - 1
    noisy = evaluate(model, (x + 0.1 * signs).clamp(0, 1), y, generator=_gen())["accuracy"]
    assert clean > 0.75
    assert adv < clean - 0.4 and adv < noisy - 0.3


@needs_data
def test_pgd_air_beats_gaussian_jamming_on_the_shipped_codec(shipped):
    model, x, y = shipped
    delta = pgd_air(model, x, y, -10.0, steps=3, generator=_gen(1))
    adv = evaluate(model, x, y, delta, generator=_gen())["accuracy"]
    jam = evaluate(model, x, y, gaussian_jamming((64, model.num_symbols), -10.0, _gen(2)), generator=_gen())
    assert adv < jam["accuracy"] - 0.3


# --------------------------------------------------------------------------- determinism, fixed noise, BPDA

def test_attacks_are_deterministic_given_the_generator():
    model = _link("latent", stochastic=True)
    x, y = _data(4)
    a = pgd(model, x, y, 0.03, steps=1, eot=2, generator=_gen(5))
    torch.testing.assert_close(a, pgd(model, x, y, 0.03, steps=1, eot=2, generator=_gen(5)), rtol=0, atol=0)
    assert not torch.equal(a, pgd(model, x, y, 0.03, steps=1, eot=2, generator=_gen(6)))
    d = pgd_air(model, x, y, -10.0, steps=1, generator=_gen(5))
    assert torch.equal(d, pgd_air(model, x, y, -10.0, steps=1, generator=_gen(5)))
    u = universal_air(model, x, y, -10.0, epochs=1, batch_size=4, generator=_gen(5))
    assert torch.equal(u, universal_air(model, x, y, -10.0, epochs=1, batch_size=4, generator=_gen(5)))
    assert torch.equal(gaussian_jamming((B, K), 0.0, _gen(5)), gaussian_jamming((B, K), 0.0, _gen(5)))


def test_fixed_noise_seed_fixes_every_forward_pass():
    model = _link("latent", fading=True, stochastic=True)
    x, y = _data()
    out = [model(x, generator=torch.Generator().manual_seed(11)) for _ in range(2)]
    torch.testing.assert_close(out[0], out[1], rtol=0, atol=0)
    # without a random start the attack no longer depends on the generator: every pass is the seed's
    a = pgd(model, x, y, 0.03, steps=1, random_start=False, generator=_gen(1), fixed_noise_seed=11)
    b = pgd(model, x, y, 0.03, steps=1, random_start=False, generator=_gen(2), fixed_noise_seed=11)
    assert torch.equal(a, b)
    c = pgd(model, x, y, 0.03, steps=1, random_start=False, generator=_gen(1), fixed_noise_seed=12)
    assert not torch.equal(a, c)
    with pytest.raises(ValueError, match="eot"):
        pgd(model, x, y, 0.03, eot=2, fixed_noise_seed=11)


def _loss_and_grad(model, x, y, bpda):
    x = x.clone().requires_grad_()
    _, scores = model(x, generator=_gen(9), bpda=bpda)
    loss = torch.nn.functional.cross_entropy(scores, y)
    (g,) = torch.autograd.grad(loss, x)
    return scores.detach(), g


def test_bpda_changes_the_gradient_not_the_forward_pass():
    model = _link("receiver", snr_db=5.0, stochastic=True)
    x, y = _data()
    s_full, g_full = _loss_and_grad(model, x, y, bpda=False)
    s_bpda, g_bpda = _loss_and_grad(model, x, y, bpda=True)
    torch.testing.assert_close(s_full, s_bpda, rtol=0, atol=1e-6)          # straight-through: x + (y - x)
    assert g_bpda.abs().sum() > 0
    assert float((g_full - g_bpda).norm() / g_bpda.norm()) > 0.01


# --------------------------------------------------------------------------- argument checks

@pytest.mark.parametrize("call, name", [
    (lambda m, x, y: pgd(m, x, y, 0.1, norm="l3"), "norm"),
    (lambda m, x, y: pgd(m, x, y, -0.1), "eps"),
    (lambda m, x, y: fgsm(m, x, y, -0.1), "eps"),
    (lambda m, x, y: pgd(m, x, y, 0.1, steps=0), "steps"),
    (lambda m, x, y: pgd(m, x, y, 0.1, eot=0), "eot"),
    (lambda m, x, y: pgd(m, x * 2, y, 0.1), "x"),
    (lambda m, x, y: pgd(m, x, y.float(), 0.1), "y"),
    (lambda m, x, y: pgd_air(m, x, y, -10.0, steps=0), "steps"),
    (lambda m, x, y: pgd_air(m, x, y, float("nan")), "psr_db"),
    (lambda m, x, y: universal_air(m, x, y, -10.0, epochs=0), "epochs"),
    (lambda m, x, y: evaluate(m, x, y, n=0), "n"),
    (lambda m, x, y: m(x, torch.zeros(3, K, dtype=torch.complex64)), "delta_air"),
    (lambda m, x, y: gaussian_jamming((B, 0), 0.0, _gen()), "shape"),
])
def test_bad_arguments_raise_value_error_naming_them(call, name):
    model = _link()
    x, y = _data(2)
    with pytest.raises(ValueError, match=name):
        call(model, x, y)


def test_attacks_refuse_a_voting_defense():
    model = _link("receiver", stochastic=True, votes=3)
    x, y = _data(2)
    for call in (lambda: pgd(model, x, y, 0.1), lambda: fgsm(model, x, y, 0.1),
                 lambda: pgd_air(model, x, y, -10.0), lambda: universal_air(model, x, y, -10.0)):
        with pytest.raises(ValueError, match="votes"):
            call()
    with pytest.raises(ValueError, match="snr_db"):
        LinkModel(model.defense, float("inf"))
