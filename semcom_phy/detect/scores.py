"""Attack detector scores from the diffusion models' residuals, their statistics (AUC, ROC, the
threshold of a false-alarm rate, the calibration) and the adaptive attacker that evades them.

Every score maps what the receiver has, the equalised symbols ``z_hat`` complex [B, k] and the
channel's noise variance ``no_eff`` float [B, k] (estimated from the preamble: an air
perturbation does not touch it), to one number per image, **higher = more suspicious**:

================  ==========================================================================
latent_residual   ``mean_j (u_j - u0_j)^2 / no_eff_j`` over the 2k real entries, averaged over
                  ``draws`` noise top-ups: ``u = sqrt(2) [Re z_hat, Im z_hat]``, ``u0`` the
                  latent denoiser's one-shot estimate of the clean symbols from the step
                  ``t = t*(no_eff) + offset`` (t* the step whose noise matches the measured
                  noise, as the receiver defense picks it; ``offset`` > 0 adds fresh noise on
                  top: :func:`~semcom_phy.purify.match_noise`). The residual energy relative to
                  what the measured noise predicts: a perturbation the denoiser does not see as
                  signal adds to it.
image_residual    ``mean_pixels (x_hat - x_pur)^2``, averaged over ``draws``: ``x_hat`` the
                  link's decoded image, ``x_pur`` the image UNet's DiffPure purification of it
                  (diffused to ``step`` with fresh noise, one reverse step).
cycle_residual    ``mean_i |z_hat_i - E(D(z_hat))_i|^2 / no_eff_i``: the codec's own manifold
                  (re-encode the decoded image); no diffusion model, the baseline.
disagreement      ``1/2 ||p - q||_1`` averaged over the latent draws: ``p`` the plain
                  receiver's class posterior, ``q`` the posterior after the latent
                  denoiser's estimate ``u0`` (feature squeezing with the diffusion model).
================  ==========================================================================

:class:`Detector` computes any subset in one pass (the latent draws are shared by
``latent_residual`` and ``disagreement``); it is differentiable (the adaptive attacker,
:func:`evade_air`, takes gradients through it). Randomness comes only from the generator: the
latent draws first (one top-up each), then the image draws (one diffusion each).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..purify import match_noise, purify_image, receiver_step, to_complex, to_real
from ..purify.schedule import NoiseSchedule
from ..semantic import symbol_channel

__all__ = ["SCORES", "Detector", "Calibration", "latent_step", "latent_estimates", "latent_residual",
           "image_residual", "cycle_residual", "disagreement", "auc", "roc_curve", "threshold", "evade_air"]

SCORES = ("latent_residual", "image_residual", "cycle_residual", "disagreement")
_FLOOR = 1e-12


def _check_received(z_hat: torch.Tensor, no_eff: torch.Tensor) -> None:
    if not isinstance(z_hat, torch.Tensor) or not z_hat.is_complex() or z_hat.dim() != 2:
        raise ValueError(f"z_hat: {getattr(z_hat, 'dtype', type(z_hat))} {tuple(getattr(z_hat, 'shape', ()))}, "
                         "expected complex [B, k]")
    if not isinstance(no_eff, torch.Tensor) or not no_eff.is_floating_point() or no_eff.shape != z_hat.shape:
        raise ValueError(f"no_eff: {getattr(no_eff, 'dtype', type(no_eff))} {tuple(getattr(no_eff, 'shape', ()))}, "
                         f"expected float {list(z_hat.shape)}")


# --------------------------------------------------------------------------- the scores

def latent_step(schedule: NoiseSchedule, no_eff: torch.Tensor, offset: int = 0,
                max_step: int | None = None) -> torch.Tensor:
    """The step the latent residual is measured at.

    Input
    -----
    schedule : NoiseSchedule, the latent denoiser's
    no_eff : float [B, k], the measured noise variance per symbol
    offset : int >= 0, steps above t* (fresh noise on top of the channel's)
    max_step : int | None, the denoiser's largest step (the receiver defense's ``max_step``)

    Output
    ------
    long [B], ``min(t*(no_eff) + offset, max_step)`` with t* from
    :func:`~semcom_phy.purify.receiver_step` (no sender diffusion).
    """
    t = receiver_step(schedule, no_eff, -1, max_step) + int(offset)
    hi = schedule.num_train_steps - 1 if max_step is None else max_step
    return t.clamp(max=hi)


def latent_estimates(denoiser: torch.nn.Module, schedule: NoiseSchedule, z_hat: torch.Tensor, no_eff: torch.Tensor,
                     offset: int = 0, draws: int = 1, max_step: int | None = None,
                     generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """The latent denoiser's one-shot estimates of the clean symbols, one per noise top-up.

    Input
    -----
    denoiser : the latent denoiser (eps prediction on ``u`` float [B, 2k], step long [B])
    schedule : its NoiseSchedule; z_hat : complex [B, k]; no_eff : float [B, k]
    offset, max_step : as :func:`latent_step`; draws : int >= 1
    generator : torch.Generator | None, the top-up noise (one draw of [B, 2k] per estimate)

    Output
    ------
    list of ``draws`` float [B, 2k] (z_hat's dtype's real part): ``u0 = predict_x0(eps(x_t, t), t, x_t)``
    with ``x_t = match_noise(u, no_eff, t)`` (differentiable in z_hat).
    """
    _check_received(z_hat, no_eff)
    u = to_real(z_hat)
    var = torch.cat([no_eff, no_eff], dim=-1)
    t = latent_step(schedule, no_eff, offset, max_step)
    out = []
    for _ in range(int(draws)):
        x_t = match_noise(u, var, t, 1.0, schedule, generator)
        out.append(schedule.predict_x0(denoiser(x_t, t), t, x_t))
    return out


def _residual(u: torch.Tensor, estimates: list[torch.Tensor], no_eff: torch.Tensor) -> torch.Tensor:
    var = torch.cat([no_eff, no_eff], dim=-1).clamp_min(_FLOOR)
    return torch.stack([((u - u0) ** 2 / var).mean(-1) for u0 in estimates]).mean(0)


def latent_residual(denoiser: torch.nn.Module, schedule: NoiseSchedule, z_hat: torch.Tensor, no_eff: torch.Tensor,
                    offset: int = 0, draws: int = 1, max_step: int | None = None,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """The latent residual score.

    Input
    -----
    denoiser, schedule, offset, draws, max_step, generator : as :func:`latent_estimates`
    z_hat : complex [B, k], the equalised received symbols; no_eff : float [B, k]

    Output
    ------
    float [B], ``mean over draws of mean_j (u_j - u0_j)^2 / no_eff_j`` (``u = sqrt(2) [Re, Im]``
    has noise variance ``no_eff`` per entry; with AWGN this is ``||z_hat - z0||^2 / (k no_eff)``).
    About 0.5-1 on clean traffic (the denoiser's own error included); higher = more suspicious.
    """
    est = latent_estimates(denoiser, schedule, z_hat, no_eff, offset, draws, max_step, generator)
    return _residual(to_real(z_hat), est, no_eff)


def image_residual(codec, denoiser: torch.nn.Module, schedule: NoiseSchedule, z_hat: torch.Tensor,
                   no_eff: torch.Tensor, step: int = 10, draws: int = 1, generator: torch.Generator | None = None,
                   x_hat: torch.Tensor | None = None) -> torch.Tensor:
    """The image residual score.

    Input
    -----
    codec : the link's codec (``decode(z_hat, no_eff)``); denoiser, schedule : the image UNet
    z_hat : complex [B, k]; no_eff : float [B, k]
    step : int >= 1, the DiffPure step; draws : int >= 1 diffusions averaged
    generator : the diffusion noise (one draw of [B, 1, 28, 28] per draw)
    x_hat : float [B, 1, 28, 28] | None, the decoded image if already computed

    Output
    ------
    float [B], ``mean over draws of mean_pixels (x_hat - purify_image(x_hat, step))^2``.
    """
    _check_received(z_hat, no_eff)
    x_hat = codec.decode(z_hat, no_eff) if x_hat is None else x_hat
    res = [((x_hat - purify_image(denoiser, schedule, x_hat, int(step), 1, 0.0, generator)) ** 2).flatten(1).mean(-1)
           for _ in range(int(draws))]
    return torch.stack(res).mean(0)


def cycle_residual(codec, z_hat: torch.Tensor, no_eff: torch.Tensor, x_hat: torch.Tensor | None = None) -> torch.Tensor:
    """The codec's cycle residual (no diffusion model: the baseline manifold).

    Input: codec; z_hat complex [B, k]; no_eff float [B, k]; x_hat the decoded image if computed.
    Output: float [B], ``mean_i |z_hat_i - encode(decode(z_hat))_i|^2 / no_eff_i``.
    """
    _check_received(z_hat, no_eff)
    x_hat = codec.decode(z_hat, no_eff) if x_hat is None else x_hat
    return ((z_hat - codec.encode(x_hat)).abs() ** 2 / no_eff.clamp_min(_FLOOR)).mean(-1)


def disagreement(codec, denoiser: torch.nn.Module, schedule: NoiseSchedule, z_hat: torch.Tensor, no_eff: torch.Tensor,
                 offset: int = 0, draws: int = 1, max_step: int | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """The receiver's class posterior before and after the latent denoiser.

    Input: as :func:`latent_estimates`, plus the codec (decode, classify).
    Output: float [B] in [0, 1], ``mean over draws of 1/2 ||softmax(f(z_hat)) - softmax(f(z0))||_1``
    with ``f`` decode-then-classify (both given the channel's ``no_eff``) and ``z0`` the latent estimate.
    """
    est = latent_estimates(denoiser, schedule, z_hat, no_eff, offset, draws, max_step, generator)
    p = codec.classify(codec.decode(z_hat, no_eff)).softmax(-1)
    return _disagreement(codec, p, est, no_eff)


def _disagreement(codec, p: torch.Tensor, estimates: list[torch.Tensor], no_eff: torch.Tensor) -> torch.Tensor:
    b = len(p)
    z0 = to_complex(torch.cat(estimates)).to(torch.complex64)
    q = codec.classify(codec.decode(z0, no_eff.repeat(len(estimates), 1))).softmax(-1).view(len(estimates), b, -1)
    return 0.5 * (q - p).abs().sum(-1).mean(0)


class Detector:
    """The detector's scores in one pass.

    Parameters
    ----------
    codec : the link's codec (the plain receiver: ``decode``, ``classify``, ``encode``)
    latent_denoiser, latent_schedule : the latent denoiser and its schedule; max_step its largest step
    image_denoiser, image_schedule : the image UNet and its schedule (needed for ``image_residual``)
    scores : the names to compute (a subset of :data:`SCORES`)
    latent_offset, latent_draws, image_step, image_draws : the scores' settings

    Input (``__call__``)
    --------------------
    z_hat : complex [B, k]; no_eff : float [B, k]; generator : torch.Generator | None

    Output
    ------
    dict name -> float [B] (differentiable; ``with torch.no_grad()`` to score), plus ``"logits"``
    float [B, 10], the plain receiver's class scores (what the attacks aim at).
    """

    def __init__(self, codec, latent_denoiser, latent_schedule: NoiseSchedule, image_denoiser=None,
                 image_schedule: NoiseSchedule | None = None, scores=SCORES, latent_offset: int = 50,
                 latent_draws: int = 4, image_step: int = 10, image_draws: int = 2, max_step: int | None = None):
        unknown = [s for s in scores if s not in SCORES]
        if unknown or not scores:
            raise ValueError(f"scores = {list(scores)!r}: a non-empty subset of {list(SCORES)}")
        if "image_residual" in scores and (image_denoiser is None or image_schedule is None):
            raise ValueError("image_residual needs the image UNet and its schedule")
        self.codec, self.latent_denoiser, self.latent_schedule = codec, latent_denoiser, latent_schedule
        self.image_denoiser, self.image_schedule = image_denoiser, image_schedule
        self.scores = tuple(scores)
        self.latent_offset, self.latent_draws = int(latent_offset), int(latent_draws)
        self.image_step, self.image_draws, self.max_step = int(image_step), int(image_draws), max_step

    def __call__(self, z_hat: torch.Tensor, no_eff: torch.Tensor,
                 generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        _check_received(z_hat, no_eff)
        out = {}
        x_hat = self.codec.decode(z_hat, no_eff)
        out["logits"] = logits = self.codec.classify(x_hat)
        if "latent_residual" in self.scores or "disagreement" in self.scores:
            est = latent_estimates(self.latent_denoiser, self.latent_schedule, z_hat, no_eff, self.latent_offset,
                                   self.latent_draws, self.max_step, generator)
            if "latent_residual" in self.scores:
                out["latent_residual"] = _residual(to_real(z_hat), est, no_eff)
            if "disagreement" in self.scores:
                out["disagreement"] = _disagreement(self.codec, logits.softmax(-1), est, no_eff)
        if "image_residual" in self.scores:
            out["image_residual"] = image_residual(self.codec, self.image_denoiser, self.image_schedule, z_hat, no_eff,
                                                   self.image_step, self.image_draws, generator, x_hat=x_hat)
        if "cycle_residual" in self.scores:
            out["cycle_residual"] = cycle_residual(self.codec, z_hat, no_eff, x_hat=x_hat)
        return {"logits": logits, **{k: out[k] for k in self.scores}}         # the scores in the config's order


# --------------------------------------------------------------------------- statistics

def _scores_array(v, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64).ravel()
    if a.size == 0 or not np.isfinite(a).all():
        raise ValueError(f"{name}: {a.size} values, expected a non-empty array of finite scores")
    return a


def auc(clean, attacked) -> float:
    """Area under the ROC of "attacked scores higher": the Mann-Whitney statistic.

    Input: clean float [n0], attacked float [n1] (array-likes of finite scores).
    Output: float in [0, 1], ``P(a > c) + 1/2 P(a == c)`` over all (c, a) pairs (ties count half;
    1: every attacked score above every clean one, 0.5: no separation).
    """
    from scipy.stats import rankdata

    c, a = _scores_array(clean, "clean"), _scores_array(attacked, "attacked")
    ranks = rankdata(np.concatenate([c, a]))                       # average ranks: ties count half
    u = ranks[len(c):].sum() - len(a) * (len(a) + 1) / 2
    return float(u / (len(c) * len(a)))


def roc_curve(clean, attacked) -> tuple[np.ndarray, np.ndarray]:
    """The ROC of the rule "flag when score >= threshold" over every threshold.

    Input: clean float [n0], attacked float [n1].
    Output: (false-alarm rate, detection rate), float64 [m + 1] each, from (0, 0) to (1, 1) over
    the m distinct scores in decreasing order; its trapezoid area is :func:`auc`.
    """
    c, a = _scores_array(clean, "clean"), _scores_array(attacked, "attacked")
    thr = np.unique(np.concatenate([c, a]))[::-1]
    fpr = np.searchsorted(np.sort(-c), -thr, side="right") / len(c)    # fraction of clean >= thr
    tpr = np.searchsorted(np.sort(-a), -thr, side="right") / len(a)
    return np.concatenate([[0.0], fpr]), np.concatenate([[0.0], tpr])


def threshold(calibration, false_alarm: float) -> float:
    """The threshold of the rule "flag when score > threshold" for a false-alarm rate.

    Input: calibration float [n], clean scores; false_alarm in (0, 1).
    Output: float, the ``ceil((1 - false_alarm) n)``-th smallest calibration score: at most
    ``false_alarm n`` calibration scores lie above it (exactly ``floor(false_alarm n)`` without ties).
    """
    c = np.sort(_scores_array(calibration, "calibration"))
    if not 0.0 < false_alarm < 1.0:
        raise ValueError(f"false_alarm = {false_alarm!r} is out of range: allowed (0, 1)")
    k = max(1, math.ceil((1.0 - false_alarm) * len(c) - 1e-9))
    return float(c[k - 1])


@dataclass(frozen=True)
class Calibration:
    """Thresholds and the combined score, fitted on clean calibration traffic only.

    false_alarm : the rate the thresholds are set for
    thresholds : name -> threshold (:func:`threshold`), the scores' and ``combined``'s
    medians : name -> median of the calibration scores

    ``combined`` is ``max_j (s_j - median_j) / (threshold_j - median_j)``: each score scaled so
    that its own threshold is 1, the largest taken (an alarm of any score raises it); its own
    threshold is set on the same calibration scores.
    """

    false_alarm: float
    thresholds: dict
    medians: dict

    @classmethod
    def fit(cls, scores: dict, false_alarm: float) -> Calibration:
        """scores : name -> float [n] clean calibration scores (array-likes); false_alarm in (0, 1)."""
        names = [k for k in scores if k not in ("logits", "combined")]
        thr = {k: threshold(scores[k], false_alarm) for k in names}
        med = {k: float(np.median(_scores_array(scores[k], k))) for k in names}
        partial = cls(false_alarm, thr, med)
        thr["combined"] = threshold(partial.combined(scores), false_alarm)
        return cls(false_alarm, thr, med)

    @property
    def names(self) -> list[str]:
        return list(self.medians)

    def combined(self, scores: dict):
        """The combined score of scores (name -> float [B], numpy or torch: the same type back;
        torch keeps gradients)."""
        parts = []
        for k in self.names:
            scale = max(self.thresholds[k] - self.medians[k], _FLOOR)
            parts.append((scores[k] - self.medians[k]) / scale)
        if isinstance(parts[0], torch.Tensor):
            return torch.stack(parts).max(0).values
        return np.max(np.stack([np.asarray(p, dtype=np.float64) for p in parts]), axis=0)

    def flags(self, scores: dict) -> dict:
        """name -> bool [B], ``score > threshold`` for every calibrated score and ``combined``
        (scores: name -> float [B] numpy arrays or lists)."""
        s = {k: np.asarray(scores[k], dtype=np.float64) for k in self.names}
        s["combined"] = self.combined(s)
        return {k: s[k] > self.thresholds[k] for k in self.thresholds}

    def to_dict(self) -> dict:
        return {"false_alarm": self.false_alarm, "thresholds": dict(self.thresholds), "medians": dict(self.medians)}

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        return cls(float(d["false_alarm"]), dict(d["thresholds"]), dict(d["medians"]))


# --------------------------------------------------------------------------- the adaptive attacker

def _scale_real(v: torch.Tensor, radius: float, project: bool) -> torch.Tensor:
    norm = torch.linalg.vector_norm(v.flatten(1), dim=1)[:, None, None]
    factor = radius / norm.clamp_min(1e-30)
    return v * (factor.clamp(max=1.0) if project else factor)


def evade_air(detector: Detector, s: torch.Tensor, y: torch.Tensor, snr_db: float, fading: bool, psr_db: float,
              objective: Callable[[dict], torch.Tensor], lam: float, steps: int = 10,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """An air perturbation that fools the plain receiver and evades the detector (adaptive T2).

    L2 PGD in the real representation, as :func:`~semcom_phy.attacks.pgd_air` (random start on the
    sphere of the budget, normalised-gradient steps of ``2.5 radius / steps``, projection onto
    ``||delta||^2 <= k 10^(psr / 10)``), ascending
    ``CE(logits(z_hat), y) - lam * objective(detector(z_hat, no_eff))`` summed over the batch, with a
    fresh channel draw (:func:`~semcom_phy.semantic.symbol_channel`) and fresh detector noise every
    step: gradients go through the decoder and the denoisers.

    Input
    -----
    detector : Detector (its ``logits`` are the plain receiver's)
    s : complex [B, k], the transmitted symbols (unit power); y : long [B], the true labels
    snr_db, fading : the channel; psr_db : the budget (dB)
    objective : the detector term, dict of scores -> float [B] (e.g. ``lambda d: d["latent_residual"]``
        or a calibration's combined score)
    lam : float >= 0, its weight (0: the plain ``pgd_air`` objective); steps : int >= 1
    generator : torch.Generator | None, the start, the channel and the detector's noise

    Output
    ------
    complex64 [B, k] (detached), ``||delta||^2 <= k 10^(psr_db / 10)`` per example.
    """
    from ..attacks import psr_radius

    b, k = s.shape
    radius = psr_radius(psr_db, k)
    step = 2.5 * radius / steps
    s, y = s.detach(), y.to(s.device)
    gdev = generator.device if generator is not None else s.device
    v = _scale_real(torch.randn((b, k, 2), generator=generator, device=gdev).to(s.device), radius, project=False)
    snr = torch.full((b,), float(snr_db), device=s.device)
    fade = torch.full((b,), bool(fading), dtype=torch.bool, device=s.device)
    for _ in range(int(steps)):
        v = v.detach().requires_grad_(True)
        z_hat, no_eff = symbol_channel(s + torch.complex(v[..., 0], v[..., 1]), snr, fade, generator)
        if lam:
            out = detector(z_hat, no_eff, generator)
            loss = F.cross_entropy(out["logits"].float(), y, reduction="sum") - float(lam) * objective(out).sum()
        else:                                              # the plain objective: no detector pass
            logits = detector.codec.classify(detector.codec.decode(z_hat, no_eff))
            loss = F.cross_entropy(logits.float(), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, v)
        v = v.detach() + step * grad / torch.linalg.vector_norm(grad.flatten(1), dim=1).clamp_min(1e-12)[:, None, None]
        v = _scale_real(v, radius, project=True)
    return torch.complex(v[..., 0], v[..., 1]).detach().to(torch.complex64)
