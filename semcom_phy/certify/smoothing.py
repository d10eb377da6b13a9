"""Randomized smoothing on received symbols: Cohen et al.'s PREDICT and CERTIFY (Cohen, Rosenfeld
& Kolter, "Certified adversarial robustness via randomized smoothing", ICML 2019), generic over a
base classifier of complex symbol vectors.

The smoothed classifier
-----------------------
A base classifier ``f`` maps symbol vectors ``z`` in C^k to a class. The smoothed classifier is::

    g(z) = argmax_c  P[ f(z + eps) = c ],   eps ~ CN(0, sigma^2 I_k)

``eps`` is circularly-symmetric complex Gaussian noise with ``E|eps_j|^2 = sigma^2`` per complex
symbol, i.e. variance ``sigma^2 / 2`` on each real and each imaginary part (the convention of the
channel's ``no_eff``: :func:`~semcom_phy.semantic.symbol_channel` adds noise of ``E|n|^2 = no_eff``).
``f`` may draw random numbers of its own (the latent denoiser's noise) as long as they do not
depend on its input: Cohen's bound rests on the Neyman-Pearson lemma, which holds for any
[0, 1]-valued decision function ``h(z) = P_omega[f_omega(z) = c]`` (Salman et al. 2019, Lemma 2:
``Phi^-1(E h(z + eps))`` is Lipschitz for every such h), so a randomized base classifier is
certified exactly as a deterministic one.

The radius, derived
-------------------
Write ``z`` in C^k as the real vector ``r(z) = [Re z, Im z]`` in R^(2k). Then

* ``||delta||_2`` over C^k (``sqrt(sum_j |delta_j|^2)``) equals ``||r(delta)||_2`` over R^(2k):
  the complex-symbol L2 norm and the real L2 norm are the same number, no factor between them;
* ``r(eps) ~ N(0, s^2 I_2k)`` with ``s = sigma / sqrt(2)`` (each real part has variance sigma^2/2).

Cohen et al.'s Theorem 1 for isotropic ``N(0, s^2 I_d)`` in R^d: if ``P[f(z + eps) = c_A] >= p_A
> 1/2`` then ``g(z + delta) = c_A`` for every ``||delta||_2 < s Phi^-1(p_A)``. Here, with ``d = 2k``
and ``s = sigma / sqrt(2)``::

    R = sigma / sqrt(2) * Phi^-1(p_A_lower)        (an L2 norm on C^k, equivalently on R^(2k))

(In the purifier's scaled real form ``u = sqrt(2) [Re z, Im z]``, :func:`~semcom_phy.purify.purifier.to_real`,
the noise has standard deviation ``sigma`` per entry and the same ball has radius
``sigma * Phi^-1(p_A_lower)``: a factor sqrt(2) on both, the same set of perturbations.)

As a PSR against unit-power symbols (``||s||^2 = k``, docs/conventions.md section 2)::

    PSR_dB(R) = 20 log10(R / sqrt(k)) = 10 log10(R^2 / k)

(:func:`radius_to_psr_db`, :func:`psr_db_to_radius`; the same budget convention as
:func:`~semcom_phy.attacks.model.psr_radius`).

Real inputs (images, T1)
------------------------
The same functions take real inputs float [B, ...] (the sender's images): the noise is then
``N(0, sigma^2 I)`` per entry (:func:`noise_like`) and Cohen's Theorem 1 applies as it stands,
``R = sigma * Phi^-1(p_A_lower)`` in L2 over the entries (:func:`per_entry_std` is the factor in
both cases). :mod:`.image` builds the image-side smoothing on it.

Monte Carlo
-----------
:func:`certify` is CERTIFY: ``n0`` draws select the top class ``c_A``, ``n`` fresh draws count it,
``p_A_lower`` is the one-sided Clopper-Pearson lower bound at level ``1 - alpha``
(``scipy.stats.beta.ppf(alpha, n_A, n - n_A + 1)``); it abstains when ``p_A_lower <= 1/2``. With
probability at least ``1 - alpha`` over its draws, a returned ``(c_A, R)`` is correct: g is
constant on the open ball of radius R. The largest radius n draws can give is
``s Phi^-1(alpha^(1/n))`` (:func:`max_radius`), reached when all n draws vote ``c_A``.

:func:`predict` is PREDICT: ``n`` draws, the two-sided binomial test of the top two counts
(``scipy.stats.binomtest``) at level ``alpha``; it returns ``g(z)`` or abstains, and returns a
class other than ``g(z)`` with probability at most ``alpha``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..validation import check_int, check_number

__all__ = ["ABSTAIN", "CertifyOutput", "PredictOutput", "certify", "predict", "sample_counts",
           "lower_confidence_bound", "max_radius", "radius_to_psr_db", "psr_db_to_radius", "smoothing_noise",
           "noise_like", "per_entry_std"]

ABSTAIN = -1
"""The label of an abstention."""

BaseClassifier = Callable[..., torch.Tensor]
"""``f(z, generator) -> long [m]`` (or ``f(z, generator, side)`` with side information): the class
of each of the m noisy symbol vectors ``z`` complex [m, k]."""


@dataclass
class CertifyOutput:
    """What :func:`certify` returns.

    prediction : long [B]
        ``c_A`` where certified, ``ABSTAIN`` (-1) where ``p_A_lower <= 1/2``
    radius : float64 [B]
        The certified L2 radius on C^k (``sigma / sqrt(2) * Phi^-1(p_A_lower)``); 0 where abstained
    p_a_lower : float64 [B]
        The Clopper-Pearson lower bound of ``P[f(z + eps) = c_A]``
    counts_a : long [B]
        ``n_A``, the estimation draws that voted ``c_A``
    selected : long [B]
        ``c_A``, the class the ``n0`` selection draws chose (also where abstained)
    """

    prediction: torch.Tensor
    radius: torch.Tensor
    p_a_lower: torch.Tensor
    counts_a: torch.Tensor
    selected: torch.Tensor

    def __iter__(self):
        """``prediction, radius = certify(...)``."""
        return iter((self.prediction, self.radius))


@dataclass
class PredictOutput:
    """What :func:`predict` returns.

    prediction : long [B]
        The top class where the binomial test rejects ``p = 1/2`` at level alpha, ``ABSTAIN`` (-1)
        elsewhere
    counts : long [B, C]
        The votes of the ``n`` draws per class
    p_value : float64 [B]
        The two-sided binomial test's p-value of the top two counts
    """

    prediction: torch.Tensor
    counts: torch.Tensor
    p_value: torch.Tensor


def smoothing_noise(shape: tuple[int, ...], sigma: float, generator: torch.Generator | None,
                    device: torch.device | str) -> torch.Tensor:
    """Complex Gaussian noise complex64 ``shape`` with ``E|eps|^2 = sigma^2`` per entry (variance
    ``sigma^2 / 2`` per real part), drawn on the generator's device, returned on ``device``."""
    gen_dev = generator.device if generator is not None else torch.device(device)
    v = torch.randn(tuple(shape) + (2,), generator=generator, device=gen_dev).to(device) * (sigma / math.sqrt(2.0))
    return torch.complex(v[..., 0], v[..., 1])


def _check_inputs(z: torch.Tensor, sigma: float, side: torch.Tensor | None) -> float:
    if not isinstance(z, torch.Tensor) or len(z) == 0 or not (
            (torch.is_complex(z) and z.dim() == 2) or (torch.is_floating_point(z) and z.dim() >= 2)):
        raise ValueError(f"z: {getattr(z, 'dtype', type(z))} {tuple(getattr(z, 'shape', ()))}, "
                         "expected complex [B, k] (symbols) or float [B, ...] (images), B >= 1")
    if side is not None and (not isinstance(side, torch.Tensor) or len(side) != len(z)):
        raise ValueError(f"side: expected a tensor with {len(z)} rows (one per input), got "
                         f"{tuple(getattr(side, 'shape', ()))}")
    return check_number(sigma, "sigma", 0.0, lo_open=True)


def noise_like(z: torch.Tensor, sigma: float, generator: torch.Generator | None) -> torch.Tensor:
    """Smoothing noise of z's shape and dtype: :func:`smoothing_noise` (``E|eps|^2 = sigma^2`` per
    complex entry) for complex z, ``N(0, sigma^2)`` per entry for real z."""
    if torch.is_complex(z):
        return smoothing_noise(tuple(z.shape), sigma, generator, z.device).to(z.dtype)
    gen_dev = generator.device if generator is not None else z.device
    return (torch.randn(tuple(z.shape), generator=generator, device=gen_dev) * sigma).to(z.device, z.dtype)


def per_entry_std(sigma: float, is_complex: bool = True) -> float:
    """The standard deviation of the smoothing noise on each real coordinate: ``sigma / sqrt(2)``
    for complex inputs (``sigma^2 / 2`` per real and imaginary part), ``sigma`` for real ones;
    Cohen's radius is this times ``Phi^-1(p_A_lower)``."""
    return sigma / math.sqrt(2.0) if is_complex else sigma


@torch.no_grad()
def sample_counts(f: BaseClassifier, z: torch.Tensor, sigma: float, num: int, batch: int = 1000,
                  generator: torch.Generator | None = None, num_classes: int = 10,
                  side: torch.Tensor | None = None) -> torch.Tensor:
    """The votes of ``num`` noisy copies of every input.

    Input
    -----
    f : base classifier, ``f(z_noisy [m, ...], generator) -> long [m]`` in [0, num_classes)
        (``f(z_noisy, generator, side_rows)`` when ``side`` is given)
    z : complex [B, k] (symbols) or float [B, ...] (images), the inputs (not changed)
    sigma : > 0, the smoothing noise (:func:`noise_like`): ``E|eps|^2 = sigma^2`` per complex
        symbol, ``N(0, sigma^2)`` per real entry
    num : >= 0 copies per input; batch : >= 1 copies per call of f (the copies of several inputs
        share a call; image-major order)
    generator : the noise's source (and f's, which gets it too)
    side : [B, ...] | None, side information per input passed to f with each copy, unperturbed
        (the receivers' ``no_eff``)

    Output
    ------
    long [B, num_classes] on the CPU
    """
    sigma = _check_inputs(z, sigma, side)
    num, batch = check_int(num, "num", 0), check_int(batch, "batch", 1)
    b = len(z)
    counts = torch.zeros(b * num_classes, dtype=torch.long)
    total = b * num
    for start in range(0, total, batch):
        rows = torch.arange(start, min(start + batch, total), device=z.device) // num       # the input of each copy
        noisy = z[rows] + noise_like(z[rows], sigma, generator)
        labels = f(noisy, generator) if side is None else f(noisy, generator, side[rows])
        labels = torch.as_tensor(labels).reshape(-1).long().to(rows.device)
        if len(labels) != len(rows) or bool((labels < 0).any()) or bool((labels >= num_classes).any()):
            raise ValueError(f"the base classifier returned {tuple(labels.shape)} labels in "
                             f"[{int(labels.min())}, {int(labels.max())}], expected {len(rows)} in [0, {num_classes})")
        counts += torch.bincount((rows * num_classes + labels).cpu(), minlength=b * num_classes)
    return counts.view(b, num_classes)


def lower_confidence_bound(k, n: int, alpha: float) -> np.ndarray:
    """The one-sided ``(1 - alpha)`` Clopper-Pearson lower bound of a binomial proportion.

    Input: k int or int array (successes, 0..n); n >= 1 trials; alpha in (0, 1).
    Output: float64 array of k's shape, ``scipy.stats.beta.ppf(alpha, k, n - k + 1)``, 0 where k = 0.
    """
    from scipy.stats import beta

    k = np.asarray(k, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        p = beta.ppf(alpha, k, n - k + 1)
    return np.where(k > 0, p, 0.0)


def max_radius(sigma: float, n: int, alpha: float, is_complex: bool = True) -> float:
    """The largest radius CERTIFY with ``n`` estimation draws can certify at level alpha: all n
    draws vote c_A, ``p_A_lower = alpha^(1/n)``, ``R = per_entry_std(sigma) * Phi^-1(alpha^(1/n))``
    (``sigma / sqrt(2)`` on complex symbols, ``sigma`` on real images)."""
    from scipy.stats import norm

    return float(per_entry_std(sigma, is_complex) * norm.ppf(float(lower_confidence_bound(n, n, alpha))))


def radius_to_psr_db(radius, num_symbols: int) -> np.ndarray:
    """An L2 radius on C^k as a PSR against unit-power symbols: ``20 log10(R / sqrt(k))`` dB
    (-inf for R = 0). Input: float or array; k >= 1. Output: float64 array of radius's shape."""
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(np.asarray(radius, dtype=np.float64) / math.sqrt(num_symbols))


def psr_db_to_radius(psr_db, num_symbols: int) -> np.ndarray:
    """The inverse of :func:`radius_to_psr_db`: ``sqrt(k) 10^(psr / 20)`` (0 at -inf dB)."""
    return math.sqrt(num_symbols) * 10.0 ** (np.asarray(psr_db, dtype=np.float64) / 20.0)


def _check_level(alpha: float, n: int, name: str = "n") -> tuple[float, int]:
    return check_number(alpha, "alpha", 0.0, 1.0, lo_open=True, hi_open=True), check_int(n, name, 1)


def certify(f: BaseClassifier, z: torch.Tensor, sigma: float, n0: int, n: int, alpha: float, batch: int = 1000,
            generator: torch.Generator | None = None, num_classes: int = 10,
            side: torch.Tensor | None = None) -> CertifyOutput:
    """CERTIFY (Cohen et al. 2019, Algorithm 1) for every input.

    Input
    -----
    f : the base classifier, as :func:`sample_counts`
    z : complex [B, k], the observed inputs (T2: the received symbols, the channel's realisation
        included), or float [B, ...] (T1: the images)
    sigma : > 0, the smoothing noise: ``eps ~ CN(0, sigma^2 I_k)`` (variance sigma^2 / 2 per real
        part) on complex inputs, ``N(0, sigma^2 I)`` on real ones
    n0 : >= 1 selection draws (choose c_A); n : >= 1 estimation draws (count c_A), independent of them
    alpha : in (0, 1), the failure probability of each certificate
    batch : copies per call of f; generator : all randomness (noise, and f's own)
    num_classes : C; side : as :func:`sample_counts`

    Output
    ------
    :class:`CertifyOutput` (unpacks as ``prediction long [B], radius float64 [B]``): with probability
    at least ``1 - alpha`` over the draws, where ``prediction[i] != -1`` the smoothed classifier g
    returns ``prediction[i]`` on every ``z[i] + delta`` with ``||delta||_2 < radius[i]``
    (``radius = sigma / sqrt(2) * Phi^-1(p_A_lower)``, L2 over C^k: the module doc derives it; on
    real inputs ``sigma * Phi^-1(p_A_lower)``, Cohen's Theorem 1 as it stands).
    """
    from scipy.stats import norm

    alpha, n = _check_level(alpha, n)
    n0 = check_int(n0, "n0", 1)
    sel = sample_counts(f, z, sigma, n0, batch, generator, num_classes, side).argmax(1)
    counts = sample_counts(f, z, sigma, n, batch, generator, num_classes, side)
    n_a = counts.gather(1, sel[:, None])[:, 0]
    p_low = lower_confidence_bound(n_a.numpy(), n, alpha)
    ok = p_low > 0.5
    radius = np.where(ok, per_entry_std(sigma, torch.is_complex(z)) * norm.ppf(np.where(ok, p_low, 0.75)), 0.0)
    pred = torch.where(torch.from_numpy(ok), sel, torch.full_like(sel, ABSTAIN))
    return CertifyOutput(pred, torch.from_numpy(radius), torch.from_numpy(p_low), n_a, sel)


def predict(f: BaseClassifier, z: torch.Tensor, sigma: float, n: int, alpha: float, batch: int = 1000,
            generator: torch.Generator | None = None, num_classes: int = 10,
            side: torch.Tensor | None = None) -> PredictOutput:
    """PREDICT (Cohen et al. 2019, Algorithm 1) for every input.

    Input
    -----
    f, z, sigma, batch, generator, num_classes, side : as :func:`certify`
    n : >= 1 draws; alpha : in (0, 1), the test's level

    Output
    ------
    :class:`PredictOutput`: ``prediction`` long [B] is the top class of the n votes where the
    two-sided binomial test of the top two counts ``n_A`` vs ``n_A + n_B`` against 1/2 has
    p-value <= alpha, ``ABSTAIN`` (-1) elsewhere; it differs from g(z) (without abstaining) with
    probability at most alpha.
    """
    from scipy.stats import binomtest

    alpha, n = _check_level(alpha, n)
    counts = sample_counts(f, z, sigma, n, batch, generator, num_classes, side)
    top2 = counts.topk(2, dim=1)
    pvals = np.array([binomtest(int(a), int(a + b), 0.5).pvalue if a + b > 0 else 1.0
                      for a, b in top2.values.tolist()])
    ok = torch.from_numpy(pvals <= alpha)
    pred = torch.where(ok, top2.indices[:, 0], torch.full_like(top2.indices[:, 0], ABSTAIN))
    return PredictOutput(pred, counts, torch.from_numpy(pvals))
