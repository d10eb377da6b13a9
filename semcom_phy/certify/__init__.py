"""Certified robustness of the semantic link: Cohen et al.'s PREDICT and CERTIFY
(:mod:`.smoothing`) on the received symbols (T2, the air: the smoothed receiver's base classifiers
in :mod:`.receivers`: the noise-aware decoder, the latent denoiser, the image UNet) and over the
sender's image diffusion (T1, :mod:`.image`); the config (:mod:`.config`), what each row computes
(:mod:`.cells`), the resumable driver, in process or on Ray (:mod:`.run`), the table and plots
(:mod:`.report`) and the command line (:mod:`.cli`, ``scripts/certify.py``); docs/certify.md
states what is certified."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "CertifyConfig": ".config", "RECEIVERS": ".config",
    "ABSTAIN": ".smoothing", "CertifyOutput": ".smoothing", "PredictOutput": ".smoothing", "certify": ".smoothing",
    "predict": ".smoothing", "lower_confidence_bound": ".smoothing", "max_radius": ".smoothing",
    "psr_db_to_radius": ".smoothing", "radius_to_psr_db": ".smoothing",
    "SmoothedLink": ".receivers", "SmoothedReceiver": ".receivers",
    "CertifyResult": ".run", "certify_run": ".run", "main": ".cli", "T1_RECEIVERS": ".config",
    "ImageSmoothing": ".image", "ImageSmoothedLink": ".image", "image_sigma": ".image",
    "table": ".report", "plot": ".report", "sanity": ".report",
})
