"""Adversarial attacks on the semantic link and their honest evaluation (docs/conventions.md section 3).

Threat models: T1, input attacks, perturb the source image before the sender within an L-inf or
L2 budget (:func:`fgsm`, :func:`pgd`); T2, physical-layer attacks, add a perturbation to the
transmitted symbols within a PSR budget, per example and white box (:func:`pgd_air`) or one
input-agnostic vector (:func:`universal_air`), with Gaussian jamming at the same PSR as the control
(:func:`gaussian_jamming`). Attacks are adaptive: they differentiate the whole
:class:`LinkModel` (sender diffusion, channel, every reverse step of the purification) with
expectation over transformation over its randomness, with BPDA as a second view and a fixed-noise
white-box variant; :func:`evaluate` scores a defense over independent draws, including the
worst-of-N (resubmission) figure. Report the lowest robust accuracy over these views.
"""

from .attacks import NORMS, evaluate, fgsm, gaussian_jamming, pgd, pgd_air, universal_air
from .model import LinkModel, psr_db, psr_radius, scale_to_psr

__all__ = ["NORMS", "LinkModel", "evaluate", "fgsm", "gaussian_jamming", "pgd", "pgd_air", "psr_db", "psr_radius",
           "scale_to_psr", "universal_air"]
