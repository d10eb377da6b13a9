"""Sender diffusion and receiver purification as functions (small untrained models)."""

import numpy as np
import pytest
import torch

from semcom_phy.purify import (
    Defense,
    DefenseConfig,
    ImageUNet,
    ImageUNetConfig,
    LatentDenoiser,
    LatentDenoiserConfig,
    NoiseSchedule,
    diffuse_image,
    diffuse_latent,
    match_noise,
    purify_image,
    purify_latent,
    receiver_step,
    to_complex,
    to_real,
)
from semcom_phy.semantic import CodecConfig, SemanticCodec

SCHEDULE = NoiseSchedule(1000, "linear")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _unit_symbols(b, k, seed=0):
    g = _gen(seed)
    z = torch.complex(torch.randn(b, k, generator=g), torch.randn(b, k, generator=g))
    return z * (k ** 0.5) / torch.linalg.vector_norm(z, dim=-1, keepdim=True)


def _models(seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return (SemanticCodec(CodecConfig(num_symbols=32, channels=16)).eval(),
                LatentDenoiser(LatentDenoiserConfig(dim=64, hidden=64, depth=2)).eval(),
                ImageUNet(ImageUNetConfig(channels=8)).eval())


def test_real_complex_round_trip_and_unit_variance():
    z = _unit_symbols(64, 128)
    u = to_real(z)
    assert u.shape == (64, 256)
    np.testing.assert_allclose(u.pow(2).mean(-1).numpy(), 1.0, rtol=1e-5)
    torch.testing.assert_close(to_complex(u), z)


@pytest.mark.parametrize("t_s", [10, 60, 300])
def test_sender_diffusion_keeps_transmit_power_exactly_one(t_s):
    z = _unit_symbols(256, 128)
    x = diffuse_latent(z, SCHEDULE, t_s, _gen())
    np.testing.assert_allclose(x.abs().pow(2).mean(-1).numpy(), 1.0, rtol=1e-5)
    # the signal part is sqrt(ab_s) z: correlation with z matches it
    ab = float(SCHEDULE.alphas_cumprod[t_s])
    corr = float((x * z.conj()).real.mean())
    assert abs(corr - ab ** 0.5) < 0.02
    assert diffuse_latent(z, SCHEDULE, -1) is z


def test_receiver_step_matches_sender_plus_channel_noise():
    ab_s = float(SCHEDULE.alphas_cumprod[60])
    no = torch.full((4, 128), 0.1)
    t = receiver_step(SCHEDULE, no, 60)
    ratio = SCHEDULE.step_to_noise(t)
    expected = ((1 - ab_s) + 0.1) / ab_s
    assert torch.all((ratio / expected - 1).abs() < 0.02)
    assert torch.all(receiver_step(SCHEDULE, no, -1) < t)                    # no sender noise: lower step
    assert torch.all(receiver_step(SCHEDULE, no * 100, -1, max_step=300) == 300)


def test_match_noise_gives_the_forward_process_variance():
    g = _gen(1)
    b, d = 64, 256
    u = torch.randn(b, d, generator=g)
    var = torch.rand(b, d, generator=g) * 0.4 + 0.05                         # uneven noise per entry
    u_y = u + var.sqrt() * torch.randn(b, d, generator=g)
    t = torch.full((b,), int(SCHEDULE.noise_to_step(torch.tensor(0.25))[0]))
    x = match_noise(u_y, var, t, 1.0, SCHEDULE, g)
    ab = SCHEDULE.alpha_bar(t, x)[:, None]
    low = var * 1.0 < (1 - ab) / ab                                          # entries topped up with noise
    resid = x - ab.sqrt() * u
    np.testing.assert_allclose(float(resid[low].pow(2).mean()), float((1 - ab).mean()), rtol=0.05)
    assert abs(float(x.pow(2).mean()) - 1.0) < 0.05                          # variance preserving overall


def test_purification_is_deterministic_given_a_generator_and_differs_across_seeds():
    _, latent, unet = _models()
    z = _unit_symbols(8, 32)
    no = torch.full(z.shape, 0.2)
    a, ta = purify_latent(latent, SCHEDULE, z, no, 60, 3, eta=1.0, generator=_gen(5))
    b, tb = purify_latent(latent, SCHEDULE, z, no, 60, 3, eta=1.0, generator=_gen(5))
    c, _ = purify_latent(latent, SCHEDULE, z, no, 60, 3, eta=1.0, generator=_gen(6))
    torch.testing.assert_close(a, b)
    assert torch.equal(ta, tb) and not torch.allclose(a, c)
    x = torch.rand(4, 1, 28, 28, generator=_gen())
    torch.testing.assert_close(purify_image(unet, SCHEDULE, x, 50, 2, 1.0, _gen(3)),
                               purify_image(unet, SCHEDULE, x, 50, 2, 1.0, _gen(3)))


@pytest.mark.parametrize("defense", ["receiver", "latent", "image"])
def test_gradients_flow_from_the_classifier_back_to_the_image(defense):
    codec, latent, unet = _models()
    table = {"t": [0, 400], "var": [1e-3, 0.5], "var_stochastic": [2e-3, 0.6]}
    cfg = DefenseConfig(defense=defense, sender_step=60, nfe=3, stochastic=True)
    d = Defense(cfg, codec, SCHEDULE, unet if defense == "image" else latent, residual_var=table,
                own_codec=codec)
    g = _gen(2)
    x = torch.rand(4, 1, 28, 28, generator=g).requires_grad_()
    z = d.encode(x, g)
    noise = 0.1 ** 0.5 * torch.complex(torch.randn(z.shape, generator=g), torch.randn(z.shape, generator=g)) / 2 ** 0.5
    x_hat, logits = d.decode(z + noise, torch.full(z.shape, 0.1), g)
    logits[:, 0].sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_votes_return_one_score_row_per_image():
    codec, latent, _ = _models()
    table = {"t": [0, 400], "var": [1e-3, 0.5], "var_stochastic": [2e-3, 0.6]}
    d = Defense(DefenseConfig(defense="receiver", nfe=2, stochastic=True, votes=5), codec, SCHEDULE, latent,
                residual_var=table)
    z = _unit_symbols(3, 32)
    x_hat, scores = d.decode(z, torch.full(z.shape, 0.1), _gen())
    assert x_hat.shape == (3, 1, 28, 28) and scores.shape == (3, 10)
    assert torch.all(scores.floor().sum(-1) == 5)                            # the vote counts add up to K


def test_image_defense_purifies_from_its_image_step_not_the_sender_step():
    codec, _, unet = _models()
    d = Defense(DefenseConfig(defense="image", sender_step=60, image_step=10, nfe=2), codec, SCHEDULE, unet,
                own_codec=codec)
    z = d.encode(torch.rand(4, 1, 28, 28, generator=_gen(1)), _gen(2))
    no = torch.full(z.shape, 0.1)
    with torch.no_grad():
        x_hat, _ = d.decode(z, no, _gen(3))
        x_rx = codec.decode(z, no)
        torch.testing.assert_close(x_hat, purify_image(unet, SCHEDULE, x_rx, 10, 2, 0.0, _gen(3)))
        assert not torch.allclose(x_hat, purify_image(unet, SCHEDULE, x_rx, 60, 2, 0.0, _gen(3)))


def test_single_vote_is_the_same_defense_with_one_purification_and_shared_models():
    codec, latent, _ = _models()
    table = {"t": [0, 400], "var": [1e-3, 0.5], "var_stochastic": [2e-3, 0.6]}
    d = Defense(DefenseConfig(defense="receiver", nfe=2, stochastic=True, votes=5), codec, SCHEDULE, latent,
                residual_var=table)
    one = d.single_vote()
    assert one.cfg.votes == 1 and d.cfg.votes == 5 and one.cfg.nfe == 2 and one.cfg.stochastic
    assert one.denoiser is d.denoiser and one.codec is d.codec
    z = _unit_symbols(3, 32)
    assert one.decode(z, torch.full(z.shape, 0.1), _gen())[1].shape == (3, 10)


def test_image_diffusion_is_the_forward_process_in_minus_one_one_space():
    x = torch.full((2000, 1, 28, 28), 0.75)
    xs = diffuse_image(x, SCHEDULE, 100, _gen())
    ab = float(SCHEDULE.alphas_cumprod[100])
    assert abs(float((2 * xs - 1).mean()) - ab ** 0.5 * 0.5) < 0.01
    assert abs(float((2 * xs - 1).var()) - (1 - ab)) < 0.01


@pytest.mark.parametrize("kw, field", [
    (dict(defense="diffpure"), "defense"), (dict(nfe=0), "nfe"), (dict(votes=3), "votes"),
    (dict(sender_step=1000), "sender_step"), (dict(image_step=1000), "image_step"),
    (dict(image_step=-2), "image_step")])
def test_defense_config_rejects_bad_values_by_name(kw, field):
    with pytest.raises(ValueError, match=field):
        DefenseConfig(**kw)


def test_median_filter_matches_scipy():
    from scipy.ndimage import median_filter as scipy_median

    from semcom_phy.purify.defense import median_filter
    x = torch.rand(3, 1, 28, 28, generator=_gen(4))
    want = np.stack([scipy_median(img[0].numpy(), 3, mode="mirror") for img in x])[:, None]
    np.testing.assert_array_equal(median_filter(x).numpy(), want)


@pytest.mark.parametrize("defense", ["receiver", "image"])
def test_bf16_autocast_runs_and_stays_close_to_float32(defense):
    codec, latent, unet = _models()
    table = {"t": [0, 400], "var": [1e-3, 0.5], "var_stochastic": [2e-3, 0.6]}
    outs = []
    for bf16 in (False, True):
        d = Defense(DefenseConfig(defense=defense, nfe=2, bf16=bf16), codec, SCHEDULE,
                    unet if defense == "image" else latent, residual_var=table, own_codec=codec)
        z = d.encode(torch.rand(4, 1, 28, 28, generator=_gen(1)), _gen(2))
        with torch.no_grad():
            outs.append(d.decode(z, torch.full(z.shape, 0.1), _gen(3))[0])
    assert outs[1].dtype == torch.float32 and torch.isfinite(outs[1]).all()
    assert (outs[0] - outs[1]).abs().max() < 0.1
