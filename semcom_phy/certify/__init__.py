"""Certified robustness of the smoothed receiver over the air (issue 22, T2): Cohen et al.'s
PREDICT and CERTIFY on the received symbols (:mod:`.smoothing`), the smoothed receiver's base
classifiers (:mod:`.receivers`: the noise-aware decoder, the latent denoiser), the config
(:mod:`.config`), the resumable driver and its plot (:mod:`.run`) and the command line
(:mod:`.cli`, ``scripts/certify.py``); docs/certify.md states what is certified."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "CertifyConfig": ".config", "RECEIVERS": ".config",
    "ABSTAIN": ".smoothing", "CertifyOutput": ".smoothing", "PredictOutput": ".smoothing", "certify": ".smoothing",
    "predict": ".smoothing", "lower_confidence_bound": ".smoothing", "max_radius": ".smoothing",
    "psr_db_to_radius": ".smoothing", "radius_to_psr_db": ".smoothing",
    "SmoothedLink": ".receivers", "SmoothedReceiver": ".receivers",
    "CertifyResult": ".run", "certify_run": ".run", "main": ".cli",
})
