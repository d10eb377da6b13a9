"""The smoothed receiver's base classifiers on received symbols, and the link an attacker on the
smoothed receiver targets.

A base classifier takes noisy copies ``z_hat + eps`` of the received symbols (complex [m, k]) and
the channel's noise variance ``no_eff`` (float [m, k], estimated from the preamble: untouched by
an air perturbation and by the smoothing noise), and returns a class per copy:

=======  ============================================================================
none     the noise-aware decoder given the total noise ``no_eff + sigma^2``, then the
         classifier (the plain link's receiver; :class:`DefenseConfig` ``none``)
latent   the latent diffusion denoiser from the step t* whose noise matches
         ``no_eff + sigma^2`` (``nfe`` DDIM steps; :class:`DefenseConfig` ``receiver``: no
         sender diffusion, so both receivers see the same transmitted symbols), then the
         decoder (given the denoiser's residual variance) and the classifier
=======  ============================================================================

Both come from the evaluation's loaded models (:class:`~semcom_phy.evaluation.runner.Runner`:
the link's codec and the shipped latent denoiser, checked against their manifests).
"""

from __future__ import annotations

import torch

from ..purify import Defense
from ..symbol_link import SymbolLink
from .config import RECEIVERS
from .smoothing import smoothing_noise

__all__ = ["RECEIVERS", "SmoothedReceiver", "SmoothedLink", "receiver_defenses"]


def receiver_defenses(latent_nfe: int = 1) -> list[dict]:
    """The evaluation's defense entries of the receivers, labelled by receiver name (what
    :class:`~semcom_phy.evaluation.runner.Runner` loads)."""
    return [{"label": "none", "defense": "none"}, {"label": "latent", "defense": "receiver", "nfe": latent_nfe}]


class SmoothedReceiver:
    """A base classifier of the smoothed receiver: one receiver at one smoothing sigma.

    Parameters
    ----------
    defense : Defense
        ``none`` or ``receiver`` (the latent denoiser; no sender diffusion)
    sigma : float
        The smoothing noise (``E|eps|^2 = sigma^2`` per symbol) the copies carry: the decoder and the
        denoiser are told ``no_eff + sigma^2``

    Input (``__call__``)
    --------------------
    z : complex [m, k], noisy copies of the received symbols
    generator : torch.Generator | None, the denoiser's own noise
    no_eff : float [m, k], the channel's noise variance of each copy's symbols

    Output
    ------
    long [m], the classes (no gradient: the decoder and classifier as
    :meth:`~semcom_phy.purify.Defense.for_inference` runs them); :meth:`scores` gives the logits
    with gradients.
    """

    def __init__(self, defense: Defense, sigma: float):
        if defense.cfg.defense not in ("none", "receiver") or defense.cfg.votes != 1 or defense.cfg.scramble:
            raise ValueError(f"defense {defense.cfg}: the smoothed receivers are 'none' and 'receiver' (latent), "
                             "one vote, no scrambling")
        self.defense, self.sigma = defense, float(sigma)
        self._inference = defense.for_inference()          # the classes: no gradients, the same outputs


    def scores(self, z: torch.Tensor, no_eff: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits float [m, 10] of copies z complex [m, k] with channel noise no_eff float [m, k]."""
        return self.defense.decode(z, no_eff + self.sigma ** 2, generator)[1]

    def __call__(self, z: torch.Tensor, generator: torch.Generator | None, no_eff: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self._inference.decode(z, no_eff + self.sigma ** 2, generator)[1].argmax(-1)


class SmoothedLink(SymbolLink):
    """The link as an attacker on the smoothed receiver sees it, for
    :func:`~semcom_phy.attacks.pgd_air` (EOT over the smoothing noise: the attack on the smoothed
    classifier through its base classifier's expected cross-entropy).

    images x -> encoder -> s + delta_air -> + the fixed channel noise of each image (the
    realisation the certificate is conditioned on) -> + smoothing noise CN(0, sigma^2) (from the
    generator) -> :class:`SmoothedReceiver` -> (x_hat, logits)

    Parameters
    ----------
    receiver : SmoothedReceiver
    channel_noise : complex [B, k], ``z_hat - s`` of the B images the attack is run on (a batch
        of B, or c copies of it stacked, as EOT passes it)
    no_eff : float [B, k], their channel noise variances
    snr_db : float, for the record (the noise is fixed)
    """

    def __init__(self, receiver: SmoothedReceiver, channel_noise: torch.Tensor, no_eff: torch.Tensor,
                 snr_db: float):
        super().__init__(receiver.defense, snr_db)
        self.smoothed, self.channel_noise, self.no_eff = receiver, channel_noise, no_eff

    def __call__(self, x: torch.Tensor, delta_air: torch.Tensor | None = None,
                 generator: torch.Generator | None = None, bpda: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.sender(x, None, delta_air, generator)
        copies, rem = divmod(len(s), len(self.channel_noise))
        if rem:
            raise ValueError(f"{len(s)} images, the channel noise is fixed for {len(self.channel_noise)}")
        z = s + self.channel_noise.repeat(copies, 1)
        z = z + smoothing_noise(tuple(z.shape), self.smoothed.sigma, generator, z.device)
        no_eff = self.no_eff.repeat(copies, 1)
        x_hat, scores = self.defense.decode(z, no_eff + self.smoothed.sigma ** 2, generator, bpda=bpda)
        return x_hat, scores
