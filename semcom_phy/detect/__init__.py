"""Attack detection from the diffusion models' residuals (issue 22, item 5): the detector scores
and their statistics (:mod:`.scores`: the latent and image residuals, the codec's cycle residual,
the denoiser's disagreement, AUC, ROC, the calibrated thresholds and the adaptive attacker that
evades them), the config (:mod:`.config`), the resumable driver and its ROC plot (:mod:`.run`)
and the command line (:mod:`.cli`, ``scripts/detect.py``); docs/detect.md states the protocol
and the measured numbers."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "DetectConfig": ".config", "SCORES": ".config", "ADAPTIVE_TARGETS": ".config",
    "Detector": ".scores", "Calibration": ".scores", "latent_step": ".scores", "latent_estimates": ".scores",
    "latent_residual": ".scores", "image_residual": ".scores", "cycle_residual": ".scores",
    "disagreement": ".scores", "auc": ".scores", "roc_curve": ".scores", "threshold": ".scores",
    "evade_air": ".scores",
    "DetectResult": ".run", "detect_run": ".run", "main": ".cli",
})
