"""The magnitude-matching attacker: a known-plaintext attack on the permuting scrambling.

The permuting scrambling (:mod:`semcom_phy.purify.scramble`, ``scramble_mode = "permute"``)
sends ``s'[n] = s[perm[n]] exp(j theta[n])``: every transmitted symbol keeps the magnitude of the
source symbol it carries. An attacker who knows the source image (hence its clean symbols: the
codec is public) and hears the transmission:

1. sorts the magnitudes of the clean symbols and of the observed ones and pairs them rank by rank
   (:func:`match_magnitudes`): slot n carries the source symbol of the same magnitude rank;
2. reads each slot's phase off its pair, ``exp(j theta[n]) = sgn(o[n] conj(s[perm[n]]))``;
3. crafts the per-image L2 air attack (PGD on the transmitted symbols, as
   :func:`~semcom_phy.attacks.pgd_air`) on the link with that scrambling
   (:class:`KnownScramblingLink`), as if it held the key.

With a clean observation of a permuted image the magnitudes of a continuous-valued codec are
distinct, so step 1 recovers the permutation exactly; observation noise swaps the symbols whose
magnitudes lie closer than the noise. Against the mixing scrambling (``"mix"``) the same steps
recover nothing: every transmitted magnitude is that of a secret combination of all the source
symbols, so the pairing is a random one and the crafted perturbation reaches the decoder as
noise. The evaluation runs it as the ``magnitude_match`` attack
(:mod:`semcom_phy.evaluation.attacks`).
"""

from __future__ import annotations

import torch

from ..purify import Scrambling
from ..symbol_link import SymbolLink

__all__ = ["KnownScramblingLink", "match_magnitudes", "matched_fraction", "observe"]


def observe(tx: torch.Tensor, obs_snr_db: float | None, generator: torch.Generator | None = None) -> torch.Tensor:
    """The attacker's observation of the transmitted symbols tx complex [B, k] (unit mean power):
    tx itself (``obs_snr_db`` None), or tx plus circular Gaussian noise of variance
    ``10^(-obs_snr_db / 10)`` per symbol, drawn from generator (on its device)."""
    if obs_snr_db is None:
        return tx.detach().clone()
    dev = generator.device if generator is not None else tx.device
    n = torch.randn(tx.shape + (2,), generator=generator, device=dev).to(tx.device)
    sigma = (10.0 ** (-float(obs_snr_db) / 10.0) / 2.0) ** 0.5
    return tx.detach() + sigma * torch.complex(n[..., 0], n[..., 1]).to(tx.dtype)


def match_magnitudes(s: torch.Tensor, observed: torch.Tensor) -> Scrambling:
    """The permuting scrambling that magnitude matching recovers, per image.

    s : complex [B, k], the clean symbols in the encoder's order (the attacker's encoding of the
        known source image); observed : complex [B, k], the transmitted symbols as heard.
    returns a permute :class:`~semcom_phy.purify.Scrambling`: slot n carries the source symbol
    whose magnitude rank equals slot n's (``perm[argsort|o|[r]] = argsort|s|[r]``), with the
    phase of observed[n] over that symbol's.
    """
    if s.shape != observed.shape or s.dim() != 2:
        raise ValueError(f"s {tuple(s.shape)}, observed {tuple(observed.shape)}: expected the same [B, k]")
    s, observed = s.detach(), observed.detach().to(s.device)
    by_s, by_o = s.abs().argsort(dim=1), observed.abs().argsort(dim=1)
    perm = torch.empty_like(by_s).scatter_(1, by_o, by_s)
    phase = torch.sgn(observed * torch.gather(s, 1, perm).conj())
    phase = torch.where(phase.abs() > 0, phase, torch.ones_like(phase))         # a zero symbol: no phase
    return Scrambling(perm, phase.to(torch.complex64))


def matched_fraction(estimate: Scrambling, truth: Scrambling) -> float:
    """The fraction of slots whose source symbol the estimate got right (both permute)."""
    if estimate.mode != "permute" or truth.mode != "permute":
        raise ValueError("matched_fraction: both scramblings must be permute scramblings")
    return float((estimate.perm.to(truth.perm.device) == truth.perm).float().mean())


class KnownScramblingLink(SymbolLink):
    """The link as seen by an attacker who holds one scrambling per image (a recovered one, or the
    true one): :class:`~semcom_phy.symbol_link.SymbolLink` with ``scrambling`` in place of the
    draw, so :func:`~semcom_phy.attacks.pgd_air` crafts against it.

    scrambling : Scrambling of the B images attacked, or None (the defense does not scramble); a
        batch of ``c B`` images (EOT copies, the inputs repeated along the batch) uses it ``c``
        times. Every other draw (sender, channel, reverse process) is the link's own.
    """

    def __init__(self, defense, snr_db: float, fading: bool = False, scrambling: Scrambling | None = None):
        super().__init__(defense, snr_db, fading)
        if scrambling is not None and not isinstance(scrambling, Scrambling):
            raise ValueError(f"scrambling = {type(scrambling).__name__}: a semcom_phy.purify.Scrambling or None")
        self.scrambling = scrambling

    def scrambling_of(self, s: torch.Tensor, generator: torch.Generator | None) -> Scrambling | None:
        """The recovered scrambling, tiled over the batch of s complex [c B, k] (EOT copies)."""
        sc = self.scrambling
        if sc is None:
            return None
        n, b = len(sc.perm), len(s)
        if b % n:
            raise ValueError(f"a batch of {b} images for the scrambling of {n}: expected a multiple of {n}")
        rep = (b // n,) + (1,) * (sc.perm.dim() - 1)
        return Scrambling(sc.perm.repeat(*rep).to(s.device), sc.phase.repeat(*rep).to(s.device))
