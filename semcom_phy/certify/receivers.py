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
image    denoised smoothing in the image (Salman et al. 2020, Carlini et al. 2023): the image
         defense's codec decodes (given ``no_eff + sigma^2``), its image UNet purifies the
         decoded image from the step ``image_step`` (``image_nfe`` steps), then its classifier.
         Its sender encodes the clean image with the image defense's codec (no sender
         diffusion), so its transmitted symbols are that codec's, not the link's
=======  ============================================================================

All come from the evaluation's loaded models (:class:`~semcom_phy.evaluation.runner.Runner`:
the link's codec, the shipped latent denoiser, the image defense's codec and UNet, checked
against their manifests).
"""

from __future__ import annotations

import torch

from ..purify import Defense
from ..symbol_link import SymbolLink
from .config import RECEIVERS
from .smoothing import smoothing_noise

__all__ = ["RECEIVERS", "SmoothedReceiver", "SmoothedLink", "receiver_defenses", "t1_label"]


def receiver_defenses(cfg) -> list[dict]:
    """The evaluation's defense entries a :class:`~semcom_phy.certify.CertifyConfig` needs (what
    :class:`~semcom_phy.evaluation.runner.Runner` loads), labelled by receiver: ``none``, ``latent``
    and ``image`` (T2, where listed in ``receivers``) and ``image_t<t_s>`` (T1: the image defense
    diffusing to each of ``t1_steps``; it also gives T1's ``none`` receiver its schedule)."""
    out = [{"label": "none", "defense": "none"}]
    if "latent" in cfg.receivers:
        out.append({"label": "latent", "defense": "receiver", "nfe": cfg.latent_nfe})
    if "image" in cfg.receivers:
        out.append({"label": "image", "defense": "image", "sender_step": cfg.image_step, "nfe": cfg.image_nfe})
    out += [{"label": t1_label(t), "defense": "image", "sender_step": t, "nfe": cfg.image_nfe} for t in cfg.t1_steps]
    return out


def t1_label(t_s: int) -> str:
    """The runner's label of the image defense diffusing to t_s (T1)."""
    return f"image_t{int(t_s)}"


class SmoothedReceiver:
    """A base classifier of the smoothed receiver: one receiver at one smoothing sigma.

    Parameters
    ----------
    defense : Defense
        ``none``, ``receiver`` (the latent denoiser; no sender diffusion) or ``image`` (its
        UNet purifies from ``image_step``; its sender diffusion is not used)
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
        if defense.cfg.defense not in ("none", "receiver", "image") or defense.cfg.votes != 1 or defense.cfg.scramble:
            raise ValueError(f"defense {defense.cfg}: the smoothed receivers are 'none', 'receiver' (latent) and "
                             "'image', one vote, no scrambling")
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

    images x -> the receiver's codec's encoder (no sender diffusion) -> s + delta_air -> + the fixed channel noise of each image (the
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
        s = self.sender.transmit(self.defense.codec.encode(x), None, delta_air)   # no sender diffusion
        copies, rem = divmod(len(s), len(self.channel_noise))
        if rem:
            raise ValueError(f"{len(s)} images, the channel noise is fixed for {len(self.channel_noise)}")
        z = s + self.channel_noise.repeat(copies, 1)
        z = z + smoothing_noise(tuple(z.shape), self.smoothed.sigma, generator, z.device)
        no_eff = self.no_eff.repeat(copies, 1)
        x_hat, scores = self.defense.decode(z, no_eff + self.smoothed.sigma ** 2, generator, bpda=bpda)
        return x_hat, scores
