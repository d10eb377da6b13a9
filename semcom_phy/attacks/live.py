"""Attacks on a live link: what a run sends instead of the clean images and symbols.

The attacks of :mod:`.attacks`, crafted before transmission against a :class:`LinkModel` of the
link (its defense, at the run's SNR) and then sent through the real transport, so recordings and
over-the-air runs carry them. The attacker is white box against the defense (gradients through
its sender and purification, EOT 1) but does not know the realisation of the link's own noise: the
sender's diffusion noise and the channel are drawn anew when the link runs.

* ``jamming``: complex Gaussian noise added to the transmitted symbols at ``psr_db`` (the control);
* ``air``: per-example L2 PGD on the transmitted symbols at ``psr_db`` (T2);
* ``universal``: one perturbation for every image, learned on training images, at ``psr_db`` (T2);
* ``pgd``: L-inf PGD on the source image at ``eps`` (T1).

Air perturbations are added to the semantic symbols on the payload's data resource elements (the
same thing as adding them to the OFDM samples of those elements: the FFT is unitary); the
preamble, header and pilots are untouched.
"""

from __future__ import annotations

import torch

from .attacks import gaussian_jamming, pgd, pgd_air, universal_air
from .config import AIR_ATTACKS, LIVE_ATTACKS, AttackConfig  # noqa: F401 (re-exported)
from .model import LinkModel


class LiveAttack:
    """The attack of one run, crafted batch by batch as the run sends its images.

    cfg : the :class:`AttackConfig`; model : the :class:`LinkModel` it is crafted against;
    generator : the attacker's randomness (keep it apart from the link's; it carries on from
    batch to batch); train : (images, labels) the universal perturbation learns from.

    ``attack(x, y)`` with x float [B, 1, 28, 28] in [0, 1], y long [B] returns (x_sent float
    [B, 1, 28, 28], delta_air complex64 [B, k] or None). The universal perturbation is learned
    once, at the first batch, and sent with every batch."""

    def __init__(self, cfg: AttackConfig, model: LinkModel, generator: torch.Generator,
                 train: tuple[torch.Tensor, torch.Tensor] | None = None):
        if cfg.attack == "universal" and train is None:
            raise ValueError("the universal attack needs training images (train=(images, labels))")
        self.cfg, self.model, self.generator, self.train = cfg, model, generator, train
        self._universal: torch.Tensor | None = None

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        cfg, model, generator = self.cfg, self.model, self.generator
        if cfg.attack == "none":
            return x, None
        if cfg.attack == "pgd":
            return pgd(model, x, y, cfg.eps, steps=cfg.steps, generator=generator), None
        if cfg.attack == "jamming":
            return x, gaussian_jamming((len(x), model.num_symbols), cfg.psr_db, generator, x.device)
        if cfg.attack == "air":
            return x, pgd_air(model, x, y, cfg.psr_db, steps=cfg.steps, generator=generator)
        if self._universal is None:
            tx, ty = self.train
            pick = torch.randperm(len(tx), generator=torch.Generator().manual_seed(int(generator.initial_seed())))
            pick = pick[:cfg.universal_images]
            self._universal = universal_air(model, tx[pick], ty[pick], cfg.psr_db, epochs=2, generator=generator)
        return x, self._universal.expand(len(x), -1)


def craft(cfg: AttackConfig, model: LinkModel, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator,
          train: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The images and air perturbation a run of the images x float [B, 1, 28, 28], labels y long
    [B] sends (:class:`LiveAttack` in one batch): (x_sent float [B, 1, 28, 28], delta_air complex64
    [B, k] or None)."""
    return LiveAttack(cfg, model, generator, train)(x, y)
