"""The link model the attacks target, and the PSR budget helpers.

:class:`LinkModel` is :class:`semcom_phy.symbol_link.SymbolLink`, the differentiable symbol-level
link (defense sender, scrambling, ``+ delta_air``, symbol channel, unscrambling, purification,
decoder, classifier; its module doc says where the air perturbation enters and how scrambling is
a random variable to the attacker), under the name the attacks use.

The PSR helpers: PSR ``10 log10(||delta||^2 / ||s||^2)`` per example (docs/conventions.md section 2;
for unit-power symbols a budget is the energy ``||delta||^2 <= k 10^(psr / 10)``, see
:mod:`semcom_phy.symbol_link`).
"""

from __future__ import annotations

import math

import torch

from ..symbol_link import SymbolLink
from ..validation import check_psr

__all__ = ["LinkModel", "psr_db", "psr_radius", "scale_to_psr"]


def psr_radius(psr_db: float, num_symbols: int) -> float:
    """The L2 radius ``sqrt(k 10^(psr / 10))`` of a PSR budget for unit-power symbols (0 at -inf dB)."""
    psr_db = check_psr(psr_db)
    if isinstance(num_symbols, bool) or not isinstance(num_symbols, int) or num_symbols < 1:
        raise ValueError(f"num_symbols = {num_symbols!r}: must be an integer >= 1")
    return math.sqrt(num_symbols * 10.0 ** (psr_db / 10.0))


def psr_db(delta: torch.Tensor, s: torch.Tensor | None = None) -> torch.Tensor:
    """Perturbation-to-signal ratio per example, ``10 log10(||delta||^2 / ||s||^2)`` (docs/conventions.md section 2).

    delta : complex [B, k] (per example) or [k] (universal, broadcast against s)
    s : complex [B, k] or [k], the transmitted symbols; None: unit-power symbols, ``||s||^2 = k``
    returns float32 [B] (or a 0-d tensor when both are 1-d); -inf where delta is zero.
    """
    if delta.dim() not in (1, 2):
        raise ValueError(f"delta: shape {tuple(delta.shape)}, expected [B, k] or [k]")
    energy = delta.abs().pow(2).sum(-1)
    if s is None:
        ref = torch.full_like(energy, float(delta.shape[-1]))
    else:
        if s.shape[-1] != delta.shape[-1]:
            raise ValueError(f"s: {s.shape[-1]} symbols per example, delta has {delta.shape[-1]}")
        ref = s.abs().pow(2).sum(-1).to(energy.device)
    return (10.0 * torch.log10(energy / ref)).float()


def scale_to_psr(delta: torch.Tensor, psr_db: float, num_symbols: int | None = None,
                 project: bool = False) -> torch.Tensor:
    """Scale each example of delta to the energy ``k 10^(psr / 10)`` of a PSR budget.

    delta : complex or real [B, k] or [k] (a real tensor is the real representation, its last axis
        holding all 2k real parts; the norm is the same either way)
    psr_db : the budget in dB; -inf gives zeros
    num_symbols : k, the symbols per example the budget refers to (default: ``delta.shape[-1]``,
        right for complex delta; pass k for the real representation)
    project : False: scale every example exactly onto the sphere of the budget (zero rows stay
        zero); True: the Euclidean projection onto the ball, only examples above the budget shrink.
    returns a new tensor, same shape and dtype as delta.
    """
    if delta.dim() not in (1, 2):
        raise ValueError(f"delta: shape {tuple(delta.shape)}, expected [B, k] or [k]")
    radius = psr_radius(psr_db, int(num_symbols if num_symbols is not None else delta.shape[-1]))
    norm = torch.linalg.vector_norm(delta, dim=-1, keepdim=True)
    if project:
        factor = torch.clamp(radius / norm.clamp_min(1e-30), max=1.0)
    else:
        factor = radius / norm.clamp_min(1e-30)
    return delta * factor


LinkModel = SymbolLink      # the name the attacks were written against
