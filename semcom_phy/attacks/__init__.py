"""Adversarial attacks on the semantic link and their honest evaluation (docs/conventions.md section 3).

Threat models: T1, input attacks, perturb the source image before the sender within an L-inf or
L2 budget (:func:`fgsm`, :func:`pgd`); T2, physical-layer attacks, add a perturbation to the
transmitted symbols within a PSR budget, per example and white box (:func:`pgd_air`) or one
input-agnostic vector (:func:`universal_air`), with Gaussian jamming at the same PSR as the control
(:func:`gaussian_jamming`); against the permuting scrambling, the magnitude-matching attacker
recovers each image's scrambling from the source it knows and the transmission it hears
(:mod:`.magnitude`). Attacks are adaptive: they differentiate the whole
:class:`~semcom_phy.symbol_link.SymbolLink` (sender diffusion, channel, every reverse step of the purification) with
expectation over transformation over its randomness, with BPDA as a second view and a fixed-noise
white-box variant; :func:`evaluate` scores a defense over independent draws, including the
worst-of-N (resubmission) figure. Report the lowest robust accuracy over these views.

The names below are imported on first use (PEP 562); :mod:`.config` (``AttackConfig``) imports
no torch.
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "NORMS": ".attacks", "evaluate": ".attacks", "fgsm": ".attacks", "gaussian_jamming": ".attacks", "pgd": ".attacks",
    "pgd_air": ".attacks", "universal_air": ".attacks",
    "LinkModel": ".model", "psr_db": ".model", "psr_radius": ".model", "scale_to_psr": ".model",
    "KnownScramblingLink": ".magnitude", "match_magnitudes": ".magnitude", "matched_fraction": ".magnitude",
    "observe": ".magnitude",
    "SymbolLink": "..symbol_link",
})
