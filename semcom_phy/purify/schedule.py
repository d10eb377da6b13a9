"""Variance-preserving diffusion schedule and the generalised DDIM / DDPM reverse step.

Forward process (DDPM, Ho et al. 2020, eq. 4) over training steps ``t = 0 .. T-1``::

    x_t = sqrt(ab[t]) x0 + sqrt(1 - ab[t]) eps,    ab = alphas_cumprod = cumprod(1 - betas)

with the convention ``ab[-1] = 1``: step ``t = -1`` is the clean sample (nothing to remove).

Reverse step (:meth:`NoiseSchedule.step`): generalised DDIM (Song et al. 2021, eq. 12) with
``sigma_t(eta)`` of eq. 16 between arbitrary per-sample steps ``t -> t_prev``. DDPM = eta 1
(with consecutive steps the variance is the posterior ``beta_tilde`` of Ho et al. eq. 7),
DDIM = eta 0 (deterministic).

Schedule tables are float64 on CPU; they are gathered on the sample's device (float64 there,
float32 on MPS) and the coefficients cast to the sample's (real) dtype. The step path is
differentiable w.r.t. the sample and the model output (no in-place ops, no numpy). Step indices
are validated, which costs one host sync per call on an accelerator.
"""

from __future__ import annotations

import math

import torch

from ..validation import check_choice, check_number

__all__ = ["KINDS", "MAX_BETA", "PREDICTIONS", "NoiseSchedule", "beta_schedule"]

KINDS = ("linear", "cosine")
PREDICTIONS = ("epsilon", "sample")
MAX_BETA = 0.999   # cosine schedule clip (Nichol & Dhariwal 2021, section 3.2)


def beta_schedule(kind: str, num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02,
                  cosine_s: float = 0.008) -> torch.Tensor:
    """Diffusion variances ``betas`` float64 [num_steps].

    ``"linear"``: ``linspace(beta_start, beta_end, T)`` (Ho et al. 2020, section 4).
    ``"cosine"``: Nichol & Dhariwal 2021, eq. 17: ``ab(t) = f(t) / f(0)``,
    ``f(t) = cos(((t / T) + s) / (1 + s) * pi / 2)^2``, ``betas[t] = 1 - ab(t+1) / ab(t)``
    clipped to at most ``MAX_BETA`` (so ``alphas_cumprod[t] = ab(t + 1)`` where unclipped).
    """
    check_choice(kind, "kind", KINDS)
    check_number(num_steps, "num_steps", 1, integer=True)
    if kind == "linear":
        check_number(beta_start, "beta_start", 0.0, 1.0, lo_open=True, hi_open=True)
        check_number(beta_end, "beta_end", beta_start, 1.0, hi_open=True)
        return torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float64)
    check_number(cosine_s, "cosine_s", 0.0, 1.0)
    t = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps
    f = torch.cos((t + cosine_s) / (1 + cosine_s) * (math.pi / 2)) ** 2
    ab = f / f[0]
    return (1.0 - ab[1:] / ab[:-1]).clamp(max=MAX_BETA)


def _real_dtype(x: torch.Tensor) -> torch.dtype:
    if x.is_complex():
        return x.real.dtype
    if not x.is_floating_point():
        raise ValueError(f"sample dtype = {x.dtype}: must be floating point or complex")
    return x.dtype


def _per_sample(coef: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """coef [] or [B] -> broadcastable against x [B, ...]."""
    return coef if coef.dim() == 0 else coef.reshape(coef.shape + (1,) * (x.dim() - coef.dim()))


class NoiseSchedule:
    """Variance-preserving schedule with ``num_train_steps`` steps (see the module docstring).

    Attributes ``betas``, ``alphas``, ``alphas_cumprod``: float64 CPU [T].
    """

    def __init__(self, num_train_steps: int = 1000, kind: str = "linear", beta_start: float = 1e-4,
                 beta_end: float = 0.02, cosine_s: float = 0.008):
        check_number(num_train_steps, "num_train_steps", 1, integer=True)
        self.betas = beta_schedule(kind, num_train_steps, beta_start, beta_end, cosine_s)
        self.num_train_steps = int(num_train_steps)
        self.kind = kind
        self.beta_start, self.beta_end, self.cosine_s = float(beta_start), float(beta_end), float(cosine_s)
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, 0)
        log_ab = torch.cumsum(torch.log1p(-self.betas), 0)
        self._log_ab = torch.cat([log_ab.new_zeros(1), log_ab])    # [T + 1]; index t + 1, t = -1 clean
        self._ratio = torch.cat([log_ab.new_zeros(1), torch.expm1(-log_ab)])   # (1 - ab) / ab, [T + 1]
        self._log_ratio = torch.log(self._ratio[1:])                # strictly increasing [T]

    def to_dict(self) -> dict:
        """The constructor arguments (``NoiseSchedule(**d)`` rebuilds the schedule)."""
        return {"num_train_steps": self.num_train_steps, "kind": self.kind, "beta_start": self.beta_start,
                "beta_end": self.beta_end, "cosine_s": self.cosine_s}

    def __repr__(self) -> str:
        return "NoiseSchedule(" + ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items()) + ")"

    # ------------------------------------------------------------------ helpers
    def _steps(self, t, name: str, device: torch.device | None = None) -> torch.Tensor:
        """int or integer tensor -> long tensor on ``device``, validated in [-1, T-1]."""
        hi = self.num_train_steps - 1
        if isinstance(t, torch.Tensor):
            if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
                raise ValueError(f"{name} dtype = {t.dtype}: must be an integer tensor")
            t = t.long() if device is None else t.to(device=device, dtype=torch.long)
            if t.numel() and bool(((t < -1) | (t > hi)).any()):
                raise ValueError(f"{name} has values in [{int(t.min())}, {int(t.max())}], out of range: "
                                 f"allowed [-1, {hi}]")
            return t
        check_number(t, name, -1, hi, integer=True)
        return torch.tensor(int(t), dtype=torch.long, device=device)

    @staticmethod
    def _check_batch(name: str, t: torch.Tensor, x: torch.Tensor) -> None:
        if t.dim() > 1 or (t.dim() == 1 and (x.dim() == 0 or t.shape[0] != x.shape[0])):
            raise ValueError(f"{name} shape = {tuple(t.shape)}: must be [] or [B] with B = "
                             f"{x.shape[0] if x.dim() else 'x.shape[0]'} (x shape {tuple(x.shape)})")

    def _log_alpha_bar(self, t: torch.Tensor, device: torch.device) -> torch.Tensor:
        """log ab[t] for validated long t, float64 (float32 on MPS) on ``device``."""
        dtype = torch.float32 if device.type == "mps" else torch.float64
        return self._log_ab.to(device=device, dtype=dtype)[t.to(device) + 1]

    # ------------------------------------------------------------------ public API
    def alpha_bar(self, t, like: torch.Tensor) -> torch.Tensor:
        """``ab[t]`` with ``ab[-1] = 1``; t long [B] (any shape) or int; returns like t's shape,
        in like's (real) dtype on like's device."""
        t = self._steps(t, "t", like.device)
        return torch.exp(self._log_alpha_bar(t, like.device)).to(_real_dtype(like))

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t) -> torch.Tensor:
        """Forward diffusion (Ho et al. eq. 4): x0, noise float [B, ...]; t long [B] or int.

        returns x_t float [B, ...] = sqrt(ab[t]) x0 + sqrt(1 - ab[t]) noise.
        """
        if noise.shape != x0.shape:
            raise ValueError(f"noise shape = {tuple(noise.shape)}: must equal x0 shape {tuple(x0.shape)}")
        t = self._steps(t, "t", x0.device)
        self._check_batch("t", t, x0)
        la, dtype = self._log_alpha_bar(t, x0.device), _real_dtype(x0)
        a = _per_sample(torch.exp(0.5 * la).to(dtype), x0)
        s = _per_sample(torch.sqrt(-torch.expm1(la)).to(dtype), x0)
        return a * x0 + s * noise

    def step_to_noise(self, t, like: torch.Tensor | None = None) -> torch.Tensor:
        """Noise-to-signal variance ratio ``(1 - ab[t]) / ab[t]`` (0 for t = -1) of step t.

        t long (any shape) or int; returns float64 on t's device, or like's dtype/device if given.
        """
        t = self._steps(t, "t")
        r = self._ratio.to(t.device)[t + 1]
        return r if like is None else r.to(device=like.device, dtype=_real_dtype(like))

    def noise_to_step(self, ratio) -> tuple[torch.Tensor, torch.Tensor]:
        """Step whose noise-to-signal ratio ``(1 - ab) / ab`` is closest to ``ratio``.

        The caller computes the ratio; for a sender diffused to step s plus channel noise of
        variance sigma^2 the receiver's step t* solves
        ``(1 - ab[t*]) / ab[t*] = ((1 - ab[s]) + sigma^2) / ab[s]``.

        ratio : float (any shape), >= 0 (inf saturates at T-1).
        returns (t long, t_float) of ratio's shape on its device: t_float linearly interpolates t
        over log(ratio table) clamped to [0, T-1]; t = round(t_float); both are -1 where ratio = 0.
        """
        r = torch.as_tensor(ratio)
        out_dtype = r.dtype if r.is_floating_point() else torch.float64
        r64 = r.detach().to("cpu", torch.float64)
        if bool(torch.isnan(r64).any()) or bool((r64 < 0).any()):
            raise ValueError(f"ratio has values in [{float(r64.min())}, {float(r64.max())}]: "
                             "allowed [0, inf], no NaN")
        last = self.num_train_steps - 1
        if last == 0:
            t_float = torch.zeros_like(r64)
        else:
            log_r, tab = torch.log(r64), self._log_ratio
            hi = torch.searchsorted(tab, log_r.contiguous()).clamp(1, last)
            frac = (log_r - tab[hi - 1]) / (tab[hi] - tab[hi - 1])
            t_float = (hi - 1 + frac).clamp(0.0, float(last))
        t_float = torch.where(r64 > 0, t_float, -1.0)
        t = torch.round(t_float).long()
        return t.to(r.device), t_float.to(device=r.device, dtype=out_dtype)

    def timesteps(self, num_steps: int, t_start) -> torch.Tensor:
        """Per-sample descending step sequences, long [num_steps + 1, *t_start.shape].

        With ``n = t_start + 1`` noise levels above clean, row i is
        ``round_half_up(n * (num_steps - i) / num_steps) - 1`` (exact integer arithmetic): row 0
        is t_start, the last row is -1, rows are evenly spaced in between ("trailing" spacing).
        Non-increasing per item, strictly decreasing where ``t_start >= num_steps - 1``; smaller
        t_start repeat values, and :meth:`step` with ``t == t_prev`` is the identity, so those
        items idle. Items with t_start = -1 stay -1 throughout.
        """
        check_number(num_steps, "num_steps", 1, integer=True)
        n = self._steps(t_start, "t_start") + 1
        i = torch.arange(num_steps + 1, device=n.device).reshape((-1,) + (1,) * n.dim())
        return (2 * n * (num_steps - i) + num_steps) // (2 * num_steps) - 1

    def _x0_eps(self, model_output, sample, t, la, prediction, clip):
        """pred_x0 and eps float [B, ...] (identity pred_x0 = sample, eps = 0 where t = -1)."""
        check_choice(prediction, "prediction", PREDICTIONS)
        if clip is not None:
            check_number(clip, "clip", 0.0, lo_open=True)
        if model_output.shape != sample.shape:
            raise ValueError(f"model_output shape = {tuple(model_output.shape)}: must equal sample "
                             f"shape {tuple(sample.shape)}")
        dtype, clean = _real_dtype(sample), _per_sample(t < 0, sample)
        sa = _per_sample(torch.exp(0.5 * la).to(dtype), sample)                 # sqrt(ab_t)
        so = torch.sqrt(-torch.expm1(la))                                       # sqrt(1 - ab_t)
        so_safe = _per_sample(torch.where(t < 0, 1.0, so).to(dtype), sample)    # no 0/0 at t = -1
        if prediction == "epsilon":
            eps = model_output
            x0 = (sample - _per_sample(so.to(dtype), sample) * eps) / sa
        else:
            x0 = model_output
            eps = (sample - sa * x0) / so_safe
        if clip is not None:
            x0 = x0.clamp(-clip, clip)
            eps = (sample - sa * x0) / so_safe
        return torch.where(clean, sample, x0), torch.where(clean, torch.zeros_like(eps), eps)

    def predict_x0(self, model_output: torch.Tensor, t, sample: torch.Tensor, prediction: str = "epsilon",
                   clip: float | None = None) -> torch.Tensor:
        """pred_x0 float [B, ...] from the model output at step t [B] (or int) for sample x_t [B, ...].

        "epsilon": ``(x_t - sqrt(1 - ab_t) eps) / sqrt(ab_t)`` (inverting eq. 4); "sample": the
        output is x0. Optionally clamped to [-clip, clip]. Where t = -1 it is the sample itself.
        """
        t = self._steps(t, "t", sample.device)
        self._check_batch("t", t, sample)
        la = self._log_alpha_bar(t, sample.device)
        return self._x0_eps(model_output, sample, t, la, prediction, clip)[0]

    def step(self, model_output: torch.Tensor, t, t_prev, sample: torch.Tensor, eta: float = 0.0,
             generator: torch.Generator | None = None, prediction: str = "epsilon",
             clip: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Generalised DDIM update (Song et al. 2021, eq. 12) from step t to t_prev <= t.

        model_output, sample : float [B, ...] (eps or x0 prediction, and x_t)
        t, t_prev : long [B] or int, -1 <= t_prev <= t <= T-1 (t_prev = -1: ab_prev = 1, clean)
        eta : float in [0, 1]; DDPM = eta 1, DDIM = eta 0. Eq. 16:
            ``sigma = eta sqrt((1 - ab_prev) / (1 - ab_t)) sqrt(1 - ab_t / ab_prev)``
        generator : the only source of randomness (``z ~ N(0, I)`` drawn only when eta > 0, on the
            generator's device, then moved to the sample's)
        clip : if set, pred_x0 is clamped to [-clip, clip] and eps recomputed from it.

        returns (prev_sample, pred_x0) float [B, ...] with
        ``prev = sqrt(ab_prev) pred_x0 + sqrt(1 - ab_prev - sigma^2) eps + sigma z``;
        ``prev = sample`` exactly where t == t_prev (and pred_x0 = sample where t = -1).
        """
        check_number(eta, "eta", 0.0, 1.0)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator = {generator!r}: must be a torch.Generator or None")
        dev = sample.device
        t, t_prev = self._steps(t, "t", dev), self._steps(t_prev, "t_prev", dev)
        self._check_batch("t", t, sample)
        self._check_batch("t_prev", t_prev, sample)
        if bool((t_prev > t).any()):
            raise ValueError("t_prev must be <= t for every item (allowed -1 <= t_prev <= t)")
        la_t, la_p = self._log_alpha_bar(t, dev), self._log_alpha_bar(t_prev, dev)
        x0, eps = self._x0_eps(model_output, sample, t, la_t, prediction, clip)
        om_t, om_p = -torch.expm1(la_t), -torch.expm1(la_p)                    # 1 - ab
        sigma2 = eta ** 2 * om_p / torch.where(om_t > 0, om_t, 1.0) * -torch.expm1(la_t - la_p)
        dtype = _real_dtype(sample)
        c_x0 = _per_sample(torch.exp(0.5 * la_p).to(dtype), sample)
        c_eps = _per_sample(torch.sqrt((om_p - sigma2).clamp_min(0.0)).to(dtype), sample)
        prev = c_x0 * x0 + c_eps * eps
        if eta > 0:
            gen_dev = generator.device if generator is not None else dev
            z = torch.randn(sample.shape, generator=generator, device=gen_dev, dtype=sample.dtype).to(dev)
            prev = prev + _per_sample(torch.sqrt(sigma2).to(dtype), sample) * z
        return torch.where(_per_sample(t == t_prev, sample), sample, prev), x0
