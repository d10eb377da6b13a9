"""Untargeted adversarial attacks on the link (T1: the source image; T2: the transmitted symbols),
and the evaluation that scores them honestly (docs/conventions.md section 3).

Every attack maximises the cross-entropy of the true label ``y`` on the link's class scores
(logits: the attacks need ``votes == 1``; a K-vote defense is attacked through its votes=1
pipeline and scored with K votes, majority or worst-of-N, by :func:`evaluate`).

* T1, image attacks: :func:`fgsm` (Goodfellow et al., "Explaining and harnessing adversarial
  examples", ICLR 2015) and :func:`pgd` in L-inf or L2 (Madry et al., "Towards deep learning
  models resistant to adversarial attacks", ICLR 2018). Images stay in [0, 1].
* T2, physical-layer attacks on the transmitted symbols at a PSR budget (Sadeghi & Larsson,
  "Physical adversarial attacks against end-to-end autoencoder communication systems", IEEE
  Commun. Lett. 2019): :func:`pgd_air` (per example, white box), :func:`universal_air`
  (input-agnostic, Moosavi-Dezfooli et al., "Universal adversarial perturbations", CVPR 2017,
  in its minibatch-gradient form), and :func:`gaussian_jamming`, the control at the same PSR.
* Adaptive attacks on stochastic defenses (Athalye et al., "Obfuscated gradients give a false
  sense of security", ICML 2018; Lee & Kim, "Robust evaluation of diffusion-based adversarial
  purification", ICCV 2023): gradients go through the whole stochastic pipeline (sender noise,
  channel noise, every reverse step: the full gradient), averaged over ``eot`` passes with
  independent randomness (expectation over transformation, EOT); ``bpda=True`` replaces the
  purification's backward pass by the identity (BPDA) as a second view; ``fixed_noise_seed``
  attacks one fixed noise draw (white box against that draw).
* :func:`evaluate`: accuracy over ``n`` independent draws and the worst-of-N figure (an attacker
  who may resubmit wins when any draw is wrong).

All functions work on a batch, leave their inputs untouched, do not change the models'
``.train()`` state (attack models in eval mode) and are deterministic given the generator.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F

from ..data import minibatches
from ..progress import progress as progress_report
from ..validation import check_bool, check_int, check_number, check_seed
from .model import LinkModel, psr_radius, scale_to_psr

__all__ = ["NORMS", "fgsm", "pgd", "pgd_air", "universal_air", "gaussian_jamming", "evaluate"]

NORMS = ("linf", "l2")

GenFn = Callable[[], "torch.Generator | None"]          # the generator of one forward pass


# --------------------------------------------------------------------------- argument checks

def _check_model(model: LinkModel, attack: bool = True) -> None:
    if not isinstance(model, LinkModel):
        raise ValueError(f"model = {type(model).__name__}: must be a semcom_phy.attacks.LinkModel")
    if attack and model.votes > 1:
        raise ValueError(f"model.defense.cfg.votes = {model.votes}: the vote counts are not differentiable; attack "
                         "its one-vote pipeline (a link on defense.single_vote(): one purification, or one "
                         "smoothing draw for 'smoothed') and score the "
                         f"{model.votes}-vote defense at evaluation (evaluate(): majority vote, worst-of-N)")


def _check_data(model: LinkModel, x: torch.Tensor, y: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 4 or x.shape[1:] != (1, 28, 28):
        raise ValueError(f"x: {getattr(x, 'dtype', type(x))} {tuple(getattr(x, 'shape', ()))}, expected float "
                         "[B, 1, 28, 28]")
    if len(x) == 0:
        raise ValueError("x: empty batch")
    if bool((x < 0).any()) or bool((x > 1).any()):
        raise ValueError(f"x: values in [{float(x.min()):g}, {float(x.max()):g}], allowed [0, 1]")
    if not isinstance(y, torch.Tensor) or y.dtype != torch.long or tuple(y.shape) != (len(x),):
        raise ValueError(f"y: {getattr(y, 'dtype', type(y))} {tuple(getattr(y, 'shape', ()))}, expected long "
                         f"[{len(x)}] (the true labels)")
    if bool((y < 0).any()) or bool((y > 9).any()):
        raise ValueError("y: labels must lie in [0, 9]")


def _noise(generator: torch.Generator | None, fixed_noise_seed: int | None, eot: int,
           model: LinkModel) -> GenFn:
    """The generator of each forward pass: ``generator`` itself, or a freshly seeded one per pass."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator = {generator!r}: must be a torch.Generator or None")
    if fixed_noise_seed is None:
        return lambda: generator
    fixed_noise_seed = check_seed(fixed_noise_seed, "fixed_noise_seed")
    if eot != 1:
        raise ValueError(f"eot = {eot} with fixed_noise_seed = {fixed_noise_seed}: a fixed noise draw makes every "
                         "pass identical, use eot=1")
    device = model.device
    return lambda: torch.Generator(device).manual_seed(fixed_noise_seed)


def _randn(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Standard normal float32 of ``shape``, drawn on the generator's device, returned on ``device``."""
    gen_dev = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=gen_dev).to(device)


def _rand(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    gen_dev = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=gen_dev).to(device)


def _rowwise_norm(v: torch.Tensor) -> torch.Tensor:
    """L2 norm of every example of v float [B, ...] -> [B, 1, ..., 1] (broadcastable against v)."""
    return torch.linalg.vector_norm(v.flatten(1), dim=1).view(-1, *([1] * (v.dim() - 1)))


def _as_complex(v: torch.Tensor) -> torch.Tensor:
    """Real representation float [..., k, 2] -> complex [..., k] (differentiable)."""
    return torch.complex(v[..., 0], v[..., 1])


# --------------------------------------------------------------------------- gradients with EOT

def _eot_grad(loss_fn: Callable[[torch.Tensor, int], torch.Tensor], v: torch.Tensor, eot: int,
              eot_batch: int | None) -> torch.Tensor:
    """Gradient wrt v of the loss averaged over ``eot`` passes with independent randomness.

    ``loss_fn(v, c)`` runs c passes in one forward (the inputs repeated c times along the batch,
    so every copy draws its own noise) and returns the loss summed over examples and copies.
    """
    chunk = eot if eot_batch is None else min(eot, eot_batch)
    v = v.detach().requires_grad_(True)
    grad = torch.zeros_like(v)
    for start in range(0, eot, chunk):
        (g,) = torch.autograd.grad(loss_fn(v, min(chunk, eot - start)), v)
        grad += g
    return grad / eot


def _cross_entropy(model: LinkModel, x: torch.Tensor, y: torch.Tensor, copies: int, gen: GenFn, bpda: bool,
                   delta: torch.Tensor | None = None, delta_per_example: bool = True) -> torch.Tensor:
    """Cross-entropy summed over the batch and ``copies`` independent passes (inputs repeated)."""
    xr = x.repeat(copies, 1, 1, 1)
    if delta is not None and delta_per_example:
        delta = delta.repeat(copies, 1)
    _, scores = model(xr, delta_air=delta, generator=gen(), bpda=bpda)
    return F.cross_entropy(scores.float(), y.repeat(copies), reduction="sum")


# --------------------------------------------------------------------------- T1: image attacks

def fgsm(model: LinkModel, x: torch.Tensor, y: torch.Tensor, eps: float, generator: torch.Generator | None = None,
         eot: int = 1, bpda: bool = False, eot_batch: int | None = None) -> torch.Tensor:
    """Fast gradient sign method (Goodfellow et al. 2015): one L-inf step of size eps.

    x : float [B, 1, 28, 28] in [0, 1]; y : long [B] true labels; eps : L-inf budget >= 0
    eot : passes averaged per gradient (EOT, Athalye et al. 2018); bpda : identity backward
    through the purification; eot_batch : passes per forward (default: all ``eot`` in one).
    returns x_adv float [B, 1, 28, 28] in [0, 1] with ``||x_adv - x||_inf <= eps`` (detached).
    """
    eps = check_number(eps, "eps", 0.0)
    return pgd(model, x, y, eps, norm="linf", steps=1, step_size=eps, random_start=False, eot=eot,
               generator=generator, bpda=bpda, eot_batch=eot_batch)


def pgd(model: LinkModel, x: torch.Tensor, y: torch.Tensor, eps: float, norm: str = "linf", steps: int = 10,
        step_size: float | None = None, random_start: bool = True, eot: int = 1,
        generator: torch.Generator | None = None, bpda: bool = False, fixed_noise_seed: int | None = None,
        eot_batch: int | None = None) -> torch.Tensor:
    """Projected gradient ascent on the cross-entropy (Madry et al. 2018), L-inf or L2, with EOT.

    x : float [B, 1, 28, 28] in [0, 1]; y : long [B] true labels
    eps : budget >= 0 (L-inf: per pixel; L2: per image, on the [0, 1] scale)
    norm : "linf" (signed-gradient steps, clipping to the box) or "l2" (per-image normalised
        gradient steps, projection onto the L2 ball)
    steps : iterations >= 1; step_size : default ``2.5 eps / steps``
    random_start : start at a uniform point of the L-inf box, or of the L2 ball (drawn from
        generator)
    eot : passes with independent randomness (sender, channel and reverse-process noise) averaged
        per gradient (Athalye et al. 2018, EOT); run as one forward on the batch repeated ``eot``
        times, or in chunks of ``eot_batch`` passes
    generator : the source of the random start and of every pass's noise
    bpda : the purification's backward pass is the identity (BPDA); default: the full gradient
        through every reverse step (Lee & Kim 2023)
    fixed_noise_seed : every forward uses ``torch.Generator(model.device).manual_seed(seed)``
        (needs eot == 1): a white-box attack on one fixed noise draw; evaluate it with a generator
        seeded the same way on the same batch to report the fixed-noise figure
    returns x_adv float [B, 1, 28, 28] in [0, 1], the last iterate (detached), with
    ``||x_adv - x||_inf <= eps`` (linf) or ``||x_adv - x||_2 <= eps`` per image (l2).
    """
    _check_model(model)
    _check_data(model, x, y)
    eps = check_number(eps, "eps", 0.0)
    if norm not in NORMS:
        raise ValueError(f"norm = {norm!r}: allowed values are {', '.join(map(repr, NORMS))}")
    steps = check_int(steps, "steps", 1)
    step_size = 2.5 * eps / steps if step_size is None else check_number(step_size, "step_size", 0.0)
    check_bool(random_start, "random_start")
    check_bool(bpda, "bpda")
    eot = check_int(eot, "eot", 1)
    if eot_batch is not None:
        check_int(eot_batch, "eot_batch", 1)
    gen = _noise(generator, fixed_noise_seed, eot, model)

    x = x.detach()
    y = y.to(x.device)
    delta = torch.zeros_like(x)
    if random_start and eps > 0:
        if norm == "linf":
            delta = (2 * _rand(x.shape, generator, x.device) - 1) * eps
        else:                                           # uniform in the L2 ball: direction, radius ~ U^(1/d)
            d = _randn(x.shape, generator, x.device)
            r = _rand((len(x),), generator, x.device) ** (1.0 / x[0].numel())
            delta = d / _rowwise_norm(d).clamp_min(1e-12) * (eps * r).view(-1, 1, 1, 1)
    x_adv = _project_image(x, x + delta, eps, norm)

    def loss_fn(v: torch.Tensor, copies: int) -> torch.Tensor:
        return _cross_entropy(model, v, y, copies, gen, bpda)

    for _ in range(steps):
        grad = _eot_grad(loss_fn, x_adv, eot, eot_batch)
        if norm == "linf":
            x_adv = x_adv + step_size * grad.sign()
        else:
            x_adv = x_adv + step_size * grad / _rowwise_norm(grad).clamp_min(1e-12)
        x_adv = _project_image(x, x_adv, eps, norm)
    return x_adv.detach()


def _project_image(x: torch.Tensor, x_adv: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """Project x_adv onto the eps ball around x, then clip to [0, 1] (the clip keeps it in the ball:
    x lies in the box, so clipping moves no pixel further from x)."""
    delta = x_adv - x
    if norm == "linf":
        delta = delta.clamp(-eps, eps)
    else:
        delta = delta * torch.clamp(eps / _rowwise_norm(delta).clamp_min(1e-30), max=1.0)
    return (x + delta).clamp(0.0, 1.0)


# --------------------------------------------------------------------------- T2: physical-layer attacks

def pgd_air(model: LinkModel, x: torch.Tensor, y: torch.Tensor, psr_db: float, steps: int = 10,
            step_size: float | None = None, eot: int = 1, generator: torch.Generator | None = None,
            bpda: bool = False, fixed_noise_seed: int | None = None, eot_batch: int | None = None) -> torch.Tensor:
    """Per-example white-box perturbation of the transmitted symbols at a PSR budget (T2).

    L2 PGD in the real representation (real and imaginary parts; the same norm as the complex
    vector): a random start on the sphere of the budget, normalised-gradient steps, projection
    onto the ball ``||delta||^2 <= k 10^(psr / 10)`` (Sadeghi & Larsson 2019; Madry et al. 2018).

    x : float [B, 1, 28, 28] in [0, 1] (the images sent; not perturbed); y : long [B]
    psr_db : budget in dB relative to the unit-power symbols (-inf: no perturbation)
    steps >= 1; step_size : default ``2.5 radius / steps``, radius = ``sqrt(k 10^(psr / 10))``
    eot, generator, bpda, fixed_noise_seed, eot_batch : as in :func:`pgd`
    returns delta complex64 [B, k] (detached) with PSR <= psr_db per example.
    """
    _check_model(model)
    _check_data(model, x, y)
    k = model.num_symbols
    radius = psr_radius(psr_db, k)
    steps = check_int(steps, "steps", 1)
    step_size = 2.5 * radius / steps if step_size is None else check_number(step_size, "step_size", 0.0)
    check_bool(bpda, "bpda")
    eot = check_int(eot, "eot", 1)
    if eot_batch is not None:
        check_int(eot_batch, "eot_batch", 1)
    gen = _noise(generator, fixed_noise_seed, eot, model)

    x, y = x.detach(), y.to(x.device)
    v = _randn((len(x), k, 2), generator, x.device)                   # real representation [B, k, 2]
    v = _scale_real(v, radius, project=False)

    def loss_fn(w: torch.Tensor, copies: int) -> torch.Tensor:
        return _cross_entropy(model, x, y, copies, gen, bpda, delta=_as_complex(w))

    for _ in range(steps):
        grad = _eot_grad(loss_fn, v, eot, eot_batch)
        v = v + step_size * grad / _rowwise_norm(grad).clamp_min(1e-12)
        v = _scale_real(v, radius, project=True)
    return _as_complex(v.detach())


def _scale_real(v: torch.Tensor, radius: float, project: bool) -> torch.Tensor:
    """Scale (project=False) or project (True) every example of v float [B, k, 2] or [k, 2] to the
    L2 radius."""
    norm = torch.linalg.vector_norm(v.flatten(-2), dim=-1)[..., None, None]
    factor = radius / norm.clamp_min(1e-30)
    return v * (factor.clamp(max=1.0) if project else factor)


def universal_air(model: LinkModel, x: torch.Tensor, y: torch.Tensor, psr_db: float, epochs: int = 5,
                  batch_size: int = 64, step_size: float | None = None, eot: int = 1,
                  generator: torch.Generator | None = None, progress: bool = False) -> torch.Tensor:
    """One input-agnostic perturbation of the transmitted symbols at a PSR budget (T2, universal).

    Minibatch gradient ascent on the mean cross-entropy over the training images, with normalised
    steps and projection onto the budget ball after each (the gradient form of Moosavi-Dezfooli et
    al. 2017, as Sadeghi & Larsson 2019 build universal physical-layer perturbations). Starts at
    zero; the minibatch order and every pass's noise come from generator.

    x : float [N, 1, 28, 28] in [0, 1], the attacker's training images (any device: minibatches
        move to the model's); y : long [N]
    psr_db : budget in dB (-inf: zeros); epochs >= 1 passes over x; batch_size >= 1
    step_size : default ``0.25 radius``, radius = ``sqrt(k 10^(psr / 10))``
    eot : passes averaged per gradient, one forward per minibatch; progress : a progress report over epochs
    returns delta complex64 [k] (detached) with PSR <= psr_db.
    """
    _check_model(model)
    _check_data(model, x, y)
    k = model.num_symbols
    radius = psr_radius(psr_db, k)
    epochs = check_int(epochs, "epochs", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    step_size = 0.25 * radius if step_size is None else check_number(step_size, "step_size", 0.0)
    eot = check_int(eot, "eot", 1)
    check_bool(progress, "progress")
    gen = _noise(generator, None, eot, model)
    device = model.device
    shuffle_gen = generator if generator is not None and generator.device.type == "cpu" else None
    if generator is not None and shuffle_gen is None:        # the shuffle needs a CPU generator: derive one
        shuffle_gen = torch.Generator().manual_seed(int(torch.randint(2 ** 62, (1,), generator=generator,
                                                                      device=generator.device)))

    v = torch.zeros(k, 2, device=device)
    bar = progress_report(range(epochs), desc=f"universal_air {psr_db:g} dB", unit="epoch", disable=not progress)
    for _ in bar:
        for idx in minibatches(len(x), batch_size, shuffle_gen):
            xb, yb = x[idx].to(device), y[idx].to(device)
            grad = _eot_grad(partial(_universal_loss, model, xb, yb, gen), v, eot, None)
            v = v + step_size * grad / torch.linalg.vector_norm(grad).clamp_min(1e-12)
            v = _scale_real(v, radius, project=True)
    return _as_complex(v.detach())


def _universal_loss(model: LinkModel, x: torch.Tensor, y: torch.Tensor, gen: GenFn, w: torch.Tensor,
                    copies: int) -> torch.Tensor:
    """Mean cross-entropy per image (summed over copies) for a universal delta in the real form w [k, 2]."""
    return _cross_entropy(model, x, y, copies, gen, False, delta=_as_complex(w), delta_per_example=False) / len(x)


def gaussian_jamming(shape: tuple[int, ...], psr_db: float, generator: torch.Generator | None,
                     device: torch.device | str | None = None) -> torch.Tensor:
    """Complex Gaussian jamming, the control for the air attacks (same PSR, no optimisation).

    shape : (B, k) per example or (k,) one vector; psr_db : budget in dB (-inf: zeros)
    generator : the source of the draw (its device draws; None: torch's default generator)
    device : where the result goes (default: the generator's device, or CPU)
    returns complex64 ``shape``, CN(0, 10^(psr/10)) per symbol, each example then scaled to
    exactly ``||delta||^2 = k 10^(psr / 10)``.
    """
    shape = tuple(shape)
    if len(shape) not in (1, 2) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape):
        raise ValueError(f"shape = {shape!r}: expected (B, k) or (k,) with positive integers")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator = {generator!r}: must be a torch.Generator or None")
    psr_radius(psr_db, shape[-1])                                        # validates psr_db
    device = torch.device(device) if device is not None else (generator.device if generator is not None
                                                              else torch.device("cpu"))
    v = _randn(shape + (2,), generator, device)
    return scale_to_psr(_as_complex(v), psr_db, shape[-1])


# --------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(model: LinkModel, x: torch.Tensor, y: torch.Tensor, delta_air: torch.Tensor | None = None, n: int = 1,
             generator: torch.Generator | None = None, batch_size: int = 256) -> dict:
    """Accuracy of the (stochastic) link over ``n`` draws with fresh randomness, and worst-of-N.

    x : float [B, 1, 28, 28] in [0, 1] (clean or adversarial; any device); y : long [B]
    delta_air : complex [B, k] or [k], added to the transmitted symbols (None: no air attack)
    n >= 1 draws of the whole pipeline (sender, channel, reverse-process noise) from generator;
    draws run one after another, each in minibatches of ``batch_size`` (a fixed-noise figure: a
    generator seeded as the attack's ``fixed_noise_seed``, n = 1 and batch_size >= B reproduce the
    attacked draw). Works for every defense, votes > 1 included (scores by majority vote).
    returns {"accuracy": float, mean over draws and images; "worst_of_n": float, fraction of
    images classified correctly in all n draws (resubmission scoring: an attacker who may resubmit
    wins when any draw is wrong); "correct": bool [n, B] on the CPU}.
    """
    _check_model(model, attack=False)
    _check_data(model, x, y)
    n = check_int(n, "n", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator = {generator!r}: must be a torch.Generator or None")
    b, device = len(x), model.device
    if delta_air is not None and delta_air.dim() == 2 and len(delta_air) != b:
        raise ValueError(f"delta_air: shape {tuple(delta_air.shape)}, expected [{b}, k] or [k]")
    correct = torch.zeros(n, b, dtype=torch.bool)
    for i in range(n):
        for start in range(0, b, batch_size):
            sl = slice(start, start + batch_size)
            d = None
            if delta_air is not None:
                d = (delta_air[sl] if delta_air.dim() == 2 else delta_air).to(device)
            _, scores = model(x[sl].to(device), delta_air=d, generator=generator)
            correct[i, sl] = (scores.argmax(-1) == y[sl].to(device)).cpu()
    return {"accuracy": float(correct.float().mean()), "worst_of_n": float(correct.all(0).float().mean()),
            "correct": correct}
