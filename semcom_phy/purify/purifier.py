"""Sender diffusion and receiver purification (docs/conventions.md section 5), as pure functions.

Latent space (the symbols): the unit-power symbols z complex [B, k] are seen as real vectors
``u = sqrt(2) [Re z, Im z]`` float [B, 2k] with unit variance per entry.

* Sender: ``u_s = sqrt(ab_s) u + sqrt(1 - ab_s) eps`` at step t_s, renormalised to unit power per
  image (the transmit power stays exactly 1).
* Channel and equaliser: ``u_y = u_s + n``, n of variance ``no_eff`` per entry, so
  ``u_y = sqrt(ab_s) u + noise`` of variance ``(1 - ab_s) + no_eff``.
* Receiver: the step t* with ``(1 - ab*) / ab* = ((1 - ab_s) + no_eff) / ab_s`` (per image, from the
  median over its symbols: deep-faded carriers must not drag the whole vector to a high step),
  ``x_t* = sqrt(ab*) / sqrt(ab_s) u_y`` with the noise of every entry matched to t* (extra
  Gaussian noise where it is lower, a variance-preserving shrink where it is higher), then the
  reverse process from t* to 0 in ``nfe`` steps (DDIM, eta 0: deterministic; eta 1: DDPM-like).
  The decoder then gets the purified symbols with the denoiser's measured residual variance as
  their ``no_eff``.

Image space (DiffPure-style): the sender diffuses the image (in [-1, 1]) to t_s before the encoder;
the receiver diffuses the decoded image to the same step with fresh noise and runs the image
denoiser back to 0 before the classifier.

Everything here is differentiable (attacks take gradients through it); randomness comes only
from the ``generator`` arguments.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .schedule import NoiseSchedule


def to_real(z: torch.Tensor) -> torch.Tensor:
    """complex [B, k] -> float [B, 2k], sqrt(2) [Re, Im]: unit variance per entry for unit power."""
    return torch.cat([z.real, z.imag], dim=-1) * math.sqrt(2)


def to_complex(u: torch.Tensor) -> torch.Tensor:
    """float [B, 2k] -> complex [B, k], the inverse of :func:`to_real`."""
    k = u.shape[-1] // 2
    return torch.complex(u[..., :k], u[..., k:]) / math.sqrt(2)


def _randn(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    device = generator.device if generator is not None else like.device
    return torch.randn(like.shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


def diffuse_latent(z: torch.Tensor, schedule: NoiseSchedule, t_s: int,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Sender diffusion of unit-power symbols z complex [B, k] to step t_s (-1: none).

    returns complex [B, k], renormalised to mean power exactly 1 per image.
    """
    if t_s < 0:
        return z
    u = to_real(z)
    t = torch.full((u.shape[0],), t_s, dtype=torch.long, device=u.device)
    u_s = schedule.add_noise(u, _randn(u, generator), t)
    u_s = u_s * torch.rsqrt(u_s.pow(2).mean(dim=-1, keepdim=True))
    return to_complex(u_s)


def receiver_step(schedule: NoiseSchedule, no_eff: torch.Tensor, t_s: int, max_step: int | None = None) -> torch.Tensor:
    """Starting step t* long [B] for received symbols with noise no_eff float [B, k] after sender
    diffusion at t_s (-1: none): ratio ``((1 - ab_s) + median no_eff) / ab_s`` mapped to a step,
    at most ``max_step`` (the denoiser's training range; noisier entries are shrunk instead)."""
    ab_s = float(schedule.alphas_cumprod[t_s]) if t_s >= 0 else 1.0
    ratio = ((1.0 - ab_s) + no_eff.median(dim=-1).values) / ab_s
    t = schedule.noise_to_step(ratio)[0]
    return t if max_step is None else t.clamp(max=max_step)


def match_noise(u_y: torch.Tensor, var: torch.Tensor, t_star: torch.Tensor, ab_s: float,
                schedule: NoiseSchedule, generator: torch.Generator | None = None) -> torch.Tensor:
    """Turn ``u_y = sqrt(ab_s) u + n`` (n of variance ``var`` float [B, 2k]) into a sample of x_t*.

    Scaled by sqrt(ab* / ab_s), each entry has noise variance ``ab* var / ab_s``; where that is
    below the step's ``1 - ab*`` Gaussian noise tops it up, where it is above, the entry is shrunk
    so its total variance is 1 as the forward process has it. Entries with t* = -1 pass as is.
    """
    ab = schedule.alpha_bar(t_star, u_y)[:, None]                       # [B, 1]
    x = u_y * torch.sqrt(ab / ab_s)
    noise = ab * var / ab_s                                             # [B, 2k]
    target = 1.0 - ab
    top_up = torch.sqrt((target - noise).clamp_min(0.0)) * _randn(u_y, generator)
    shrink = torch.sqrt((ab + target) / (ab + noise).clamp_min(1e-12))
    return torch.where(noise < target, x + top_up, x * shrink)


def reverse(model: nn.Module, schedule: NoiseSchedule, x: torch.Tensor, t_star: torch.Tensor, nfe: int,
            eta: float = 0.0, generator: torch.Generator | None = None, clip: float | None = None) -> torch.Tensor:
    """The reverse process from per-sample step t* long [B] to 0 in ``nfe`` model evaluations.

    x float [B, ...] a sample of x_t*; returns the purified float [B, ...] (the last pred_x0).
    """
    steps = schedule.timesteps(nfe, t_star)                             # [nfe + 1, B]
    for i in range(nfe):
        eps = model(x, steps[i])
        x, _ = schedule.step(eps, steps[i], steps[i + 1], x, eta=eta, generator=generator, clip=clip)
    return x


def purify_latent(model: nn.Module, schedule: NoiseSchedule, z_hat: torch.Tensor, no_eff: torch.Tensor,
                  t_s: int, nfe: int, eta: float = 0.0, generator: torch.Generator | None = None,
                  max_step: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Receiver denoising of equalised symbols z_hat complex [B, k] with noise no_eff float [B, k].

    t_s: the sender's diffusion step (-1: none, receiver-only denoising); max_step: the largest
    starting step (:func:`receiver_step`). returns (purified symbols complex [B, k], t* long [B]).
    """
    ab_s = float(schedule.alphas_cumprod[t_s]) if t_s >= 0 else 1.0
    t_star = receiver_step(schedule, no_eff, t_s, max_step)
    var = (1.0 - ab_s) + torch.cat([no_eff, no_eff], dim=-1)
    x = match_noise(to_real(z_hat), var, t_star, ab_s, schedule, generator)
    return to_complex(reverse(model, schedule, x, t_star, nfe, eta, generator)), t_star


def diffuse_image(x: torch.Tensor, schedule: NoiseSchedule, t_s: int,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Image x float [B, 1, H, W] in [0, 1] diffused to step t_s in [-1, 1] space, returned in
    [0, 1] space (not clipped: the noise is what the encoder carries)."""
    if t_s < 0:
        return x
    t = torch.full((x.shape[0],), t_s, dtype=torch.long, device=x.device)
    return (schedule.add_noise(2 * x - 1, _randn(x, generator), t) + 1) / 2


def purify_image(model: nn.Module, schedule: NoiseSchedule, x: torch.Tensor, t_star: int, nfe: int,
                 eta: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """DiffPure on images x float [B, 1, H, W] in [0, 1]: diffuse to t* with fresh noise, reverse
    to 0 in ``nfe`` steps; returns images in [0, 1]."""
    if t_star < 0:
        return x
    t = torch.full((x.shape[0],), t_star, dtype=torch.long, device=x.device)
    x_t = schedule.add_noise(2 * x - 1, _randn(x, generator), t)
    return (reverse(model, schedule, x_t, t, nfe, eta, generator, clip=1.0).clamp(-1, 1) + 1) / 2
