"""Diffusion purification: noise schedules and the DDPM/DDIM scheduler, the denoisers, sender
diffusion and receiver denoising (latent and image space), keyed symbol scrambling, and the
defense switch of the link.

The names below are imported on first use (PEP 562): ``from semcom_phy.purify import
DefenseConfig`` imports no torch (:mod:`.config`); the models load with the first name that
needs them."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "DEFENSES": ".config", "DefenseConfig": ".config",
    "Defense": ".defense", "load_defense": ".defense",
    "ImageUNet": ".models", "ImageUNetConfig": ".models", "LatentDenoiser": ".models", "LatentDenoiserConfig": ".models",
    "diffuse_image": ".purifier", "diffuse_latent": ".purifier", "match_noise": ".purifier",
    "purify_image": ".purifier", "purify_latent": ".purifier", "receiver_step": ".purifier", "reverse": ".purifier",
    "to_complex": ".purifier", "to_real": ".purifier",
    "NoiseSchedule": ".schedule", "beta_schedule": ".schedule",
    "Scrambling": ".scramble",
})
