import math

import pytest
import torch

from semcom_phy.purify.schedule import NoiseSchedule, beta_schedule

T = 1000


@pytest.fixture(scope="module")
def sched():
    return NoiseSchedule(T, "linear")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- tables

def test_linear_betas_closed_form(sched):
    assert sched.betas.dtype == torch.float64 and sched.betas.shape == (T,)
    torch.testing.assert_close(sched.betas, torch.linspace(1e-4, 0.02, T, dtype=torch.float64))
    torch.testing.assert_close(sched.betas.float(), torch.linspace(1e-4, 0.02, T))
    torch.testing.assert_close(sched.alphas_cumprod, torch.cumprod(1 - sched.betas, 0))
    torch.testing.assert_close(sched.alphas, 1 - sched.betas)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_alphas_cumprod_monotone_in_unit_interval(kind):
    ab = NoiseSchedule(T, kind).alphas_cumprod
    assert bool((ab > 0).all()) and bool((ab < 1).all())
    assert bool((ab[1:] < ab[:-1]).all())


def test_cosine_matches_closed_form():
    s = 0.008
    sch = NoiseSchedule(T, "cosine")
    t = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos(((t / T) + s) / (1 + s) * math.pi / 2) ** 2
    ab = (f / f[0])[1:]
    unclipped = torch.cumprod(sch.betas < 0.999, 0).bool()
    assert unclipped.sum() > 0.9 * T and not unclipped[-1]                # only the tail is clipped
    torch.testing.assert_close(sch.alphas_cumprod[unclipped], ab[unclipped], rtol=1e-10, atol=0)
    assert float(sch.betas.max()) == pytest.approx(0.999)


def test_to_dict_round_trip():
    sch = NoiseSchedule(50, "cosine")
    again = NoiseSchedule(**sch.to_dict())
    assert again.to_dict() == sch.to_dict()
    torch.testing.assert_close(again.betas, sch.betas)


def test_alpha_bar_convention(sched):
    like = torch.zeros(3, dtype=torch.float32)
    ab = sched.alpha_bar(torch.tensor([-1, 0, T - 1]), like)
    assert ab.dtype == torch.float32 and ab.shape == (3,)
    assert float(ab[0]) == 1.0
    assert float(ab[1]) == pytest.approx(float(sched.alphas_cumprod[0]))
    assert float(ab[2]) == pytest.approx(float(sched.alphas_cumprod[-1]), rel=1e-6)
    assert sched.alpha_bar(5, like.double()).dtype == torch.float64


# --------------------------------------------------------------------------- forward process

def test_add_noise_formula_per_sample(sched):
    x0, noise = torch.randn(4, 3, 5, generator=_gen(0)), torch.randn(4, 3, 5, generator=_gen(1))
    t = torch.tensor([-1, 0, 10, 999])
    out = sched.add_noise(x0, noise, t)
    ab = torch.cat([torch.ones(1, dtype=torch.float64), sched.alphas_cumprod])[t + 1].float()[:, None, None]
    torch.testing.assert_close(out, ab.sqrt() * x0 + (1 - ab).sqrt() * noise)
    torch.testing.assert_close(out[0], x0[0])
    torch.testing.assert_close(sched.add_noise(x0, noise, 10)[2], out[2])


def test_add_noise_preserves_unit_variance(sched):
    x0, noise = torch.randn(8, 20000, generator=_gen(2)), torch.randn(8, 20000, generator=_gen(3))
    out = sched.add_noise(x0, noise, torch.linspace(0, T - 1, 8).long())
    torch.testing.assert_close(out.var(dim=1), torch.ones(8), atol=0.05, rtol=0)


# --------------------------------------------------------------------------- ratio <-> step

@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_noise_step_round_trip(kind):
    sch = NoiseSchedule(T, kind)
    t = torch.arange(-1, T)
    ratio = sch.step_to_noise(t)
    assert ratio.dtype == torch.float64 and float(ratio[0]) == 0.0
    t_back, t_float = sch.noise_to_step(ratio)
    assert torch.equal(t_back, t)
    torch.testing.assert_close(t_float, t.double())
    t32, _ = sch.noise_to_step(sch.step_to_noise(t, like=torch.zeros(1)))  # float32 ratios
    assert torch.equal(t32, t)


def test_noise_to_step_edges(sched):
    t, t_float = sched.noise_to_step(torch.tensor([[0.0, 1e-12], [1e9, math.inf]]))
    assert t.tolist() == [[-1, 0], [T - 1, T - 1]] and t_float.dtype == torch.float32
    ratio = 0.5 * (sched.step_to_noise(100) + sched.step_to_noise(101))
    assert int(sched.noise_to_step(ratio)[0]) in (100, 101)
    # sender step s plus channel noise sigma^2: t* is later than s
    s, sigma2 = 200, 0.1
    ab_s = float(sched.alphas_cumprod[s])
    assert int(sched.noise_to_step(torch.tensor(((1 - ab_s) + sigma2) / ab_s))[0]) > s


# --------------------------------------------------------------------------- timesteps

def test_timesteps_rule(sched):
    t_start = torch.tensor([999, 500, 3, 0, -1])
    steps = sched.timesteps(10, t_start)
    assert steps.shape == (11, 5) and steps.dtype == torch.long
    assert torch.equal(steps[0], t_start)
    assert bool((steps[-1] == -1).all())
    assert bool((steps[1:] <= steps[:-1]).all())
    assert bool((steps[1:, :2] < steps[:-1, :2]).all())                  # strict where t_start >= 9
    assert bool((steps[:, -1] == -1).all())
    assert steps[:, 0].tolist() == [999, 899, 799, 699, 599, 499, 399, 299, 199, 99, -1]
    assert sched.timesteps(1, torch.tensor([7])).tolist() == [[7], [-1]]


# --------------------------------------------------------------------------- reverse step

def _noisy(sched, t_start, shape=(4, 2, 6), seed=0):
    x0, eps = torch.randn(*shape, generator=_gen(seed)), torch.randn(*shape, generator=_gen(seed + 1))
    return x0, eps, sched.add_noise(x0, eps, t_start)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("num_steps", [1, 7])
def test_ddim_oracle_eps_recovers_x0(kind, num_steps):
    sched = NoiseSchedule(T, kind)
    t_start = torch.tensor([999, 400, 3, -1])
    x0 = torch.randn(4, 2, 6, generator=_gen(0), dtype=torch.float64)
    eps = torch.randn(4, 2, 6, generator=_gen(1), dtype=torch.float64)
    x = sched.add_noise(x0, eps, t_start)
    steps = sched.timesteps(num_steps, t_start)
    for i in range(num_steps):
        oracle = torch.where((steps[i] >= 0)[:, None, None], eps, torch.zeros_like(eps))
        x, pred_x0 = sched.step(oracle, steps[i], steps[i + 1], x, eta=0.0)
        torch.testing.assert_close(pred_x0[:3], x0[:3], atol=1e-5, rtol=0)
        # the deterministic path stays on the forward trajectory of (x0, eps)
        torch.testing.assert_close(x, sched.add_noise(x0, eps, steps[i + 1]), atol=1e-5, rtol=0)
    torch.testing.assert_close(x, x0, atol=1e-5, rtol=0)


def test_ddim_oracle_float32(sched):
    t_start = torch.tensor([999, 250, 10, 0])
    x0, eps, x = _noisy(sched, t_start)
    for prediction, out in (("epsilon", eps), ("sample", x0)):
        prev, pred_x0 = sched.step(out, t_start, -1, x, prediction=prediction)
        torch.testing.assert_close(prev, x0, atol=1e-4, rtol=0)
        torch.testing.assert_close(pred_x0, x0, atol=1e-4, rtol=0)


def test_step_identity(sched):
    x = torch.randn(3, 4, generator=_gen(5))
    out = torch.randn(3, 4, generator=_gen(6))
    t = torch.tensor([-1, 0, 500])
    for eta in (0.0, 1.0):
        prev, _ = sched.step(out, t, t, x, eta=eta, generator=_gen(7))
        assert torch.equal(prev, x)
    prev, pred_x0 = sched.step(torch.full_like(x, math.nan), torch.tensor([-1, -1, -1]), -1, x, eta=1.0,
                               generator=_gen(7))
    assert torch.equal(prev, x) and torch.equal(pred_x0, x)
    for prediction in ("epsilon", "sample"):
        p = sched.predict_x0(out, t, x, prediction=prediction)
        assert torch.equal(p[0], x[0]) and bool(torch.isfinite(p).all())


def test_clip_recomputes_eps(sched):
    x0, _, x = _noisy(sched, 300)
    x0_big = 5 * x0
    prev, pred_x0 = sched.step(x0_big, 300, 100, x, prediction="sample", clip=1.0)
    assert float(pred_x0.abs().max()) <= 1.0
    ab_t = float(sched.alphas_cumprod[300])
    eps_c = (x - math.sqrt(ab_t) * pred_x0) / math.sqrt(1 - ab_t)
    ab_p = float(sched.alphas_cumprod[100])
    torch.testing.assert_close(prev, math.sqrt(ab_p) * pred_x0 + math.sqrt(1 - ab_p) * eps_c)


@pytest.mark.parametrize("t", [1, 50, 999])
def test_eta1_consecutive_is_ddpm_posterior(sched, t):
    ab, betas = sched.alphas_cumprod, sched.betas
    ab_t, ab_p, beta_t = float(ab[t]), float(ab[t - 1]), float(betas[t])
    beta_tilde = (1 - ab_p) / (1 - ab_t) * beta_t                          # Ho et al. eq. 7
    x = torch.randn(1, 200000, generator=_gen(8), dtype=torch.float64)
    out = torch.randn(1, 200000, generator=_gen(9), dtype=torch.float64)
    prev, pred_x0 = sched.step(out, t, t - 1, x, eta=1.0, generator=_gen(10))
    mean, _ = sched.step(out, t, t - 1, x, eta=0.0)
    # DDPM posterior mean mu_tilde(x_t, x0) (eq. 7) ...
    mu = math.sqrt(ab_p) * beta_t / (1 - ab_t) * pred_x0 + math.sqrt(1 - beta_t) * (1 - ab_p) / (1 - ab_t) * x
    z = prev - mu
    assert float(z.var()) == pytest.approx(beta_tilde, rel=0.02)
    # ... equals the eta = 1 mean, i.e. the eta = 0 update minus its extra eps term
    extra = (math.sqrt(1 - ab_p) - math.sqrt(1 - ab_p - beta_tilde)) * out
    torch.testing.assert_close(mean - extra, mu)


def test_determinism(sched):
    x = torch.randn(2, 8, generator=_gen(11))
    out = torch.randn(2, 8, generator=_gen(12))
    t, tp = torch.tensor([500, 20]), torch.tensor([400, 10])
    a, _ = sched.step(out, t, tp, x, eta=0.5, generator=_gen(1))
    b, _ = sched.step(out, t, tp, x, eta=0.5, generator=_gen(1))
    c, _ = sched.step(out, t, tp, x, eta=0.5, generator=_gen(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    d, _ = sched.step(out, t, tp, x, eta=0.0, generator=_gen(1))
    e, _ = sched.step(out, t, tp, x, eta=0.0)
    assert torch.equal(d, e)


def test_gradient_flows(sched):
    model = torch.nn.Linear(6, 6)
    x = torch.randn(3, 6, generator=_gen(13)).requires_grad_()
    t_start = torch.tensor([999, 100, -1])
    steps = sched.timesteps(3, t_start)
    h = x
    for i in range(3):
        h, _ = sched.step(model(h), steps[i], steps[i + 1], h, eta=1.0, generator=_gen(i), clip=3.0)
    h.sum().backward()
    assert bool(torch.isfinite(x.grad).all()) and float(x.grad.abs().sum()) > 0
    assert bool(torch.isfinite(model.weight.grad).all()) and float(model.weight.grad.abs().sum()) > 0
    assert torch.equal(x.grad[2], torch.ones(6))                         # t_start = -1: identity


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("call, name", [
    (lambda: NoiseSchedule(10, kind="quadratic"), "kind"),
    (lambda: NoiseSchedule(0), "num_train_steps"),
    (lambda: NoiseSchedule(10, beta_start=0.0), "beta_start"),
    (lambda: NoiseSchedule(10, beta_start=0.1, beta_end=0.01), "beta_end"),
    (lambda: beta_schedule("linear", 2.5), "num_steps"),
])
def test_bad_schedule_args(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_bad_step_args(sched):
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"eta = -1 .*\[0, 1\]"):
        sched.step(x, 5, 4, x, eta=-1)
    with pytest.raises(ValueError, match="prediction = 'v'"):
        sched.step(x, 5, 4, x, prediction="v")
    with pytest.raises(ValueError, match="t_prev"):
        sched.step(x, 4, 5, x)
    with pytest.raises(ValueError, match=r"t = 1000 .*\[-1, 999\]"):
        sched.step(x, 1000, 5, x)
    with pytest.raises(ValueError, match="t has values"):
        sched.add_noise(x, x, torch.tensor([-2, 3]))
    with pytest.raises(ValueError, match="t shape"):
        sched.add_noise(x, x, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="t dtype"):
        sched.alpha_bar(torch.tensor([1.0]), x)
    with pytest.raises(ValueError, match="clip"):
        sched.step(x, 5, 4, x, clip=0.0)
    with pytest.raises(ValueError, match="num_steps"):
        sched.timesteps(0, torch.tensor([3]))
    with pytest.raises(ValueError, match="ratio"):
        sched.noise_to_step(torch.tensor([-0.5]))
