"""Diffusion purification: noise schedules and the DDPM/DDIM scheduler, the denoisers, sender
diffusion and receiver denoising (latent and image space), keyed symbol scrambling, and the
defense switch of the link."""

from .defense import DEFENSES, Defense, DefenseConfig, load_defense
from .models import ImageUNet, ImageUNetConfig, LatentDenoiser, LatentDenoiserConfig
from .purifier import (
                       diffuse_image,
                       diffuse_latent,
                       match_noise,
                       purify_image,
                       purify_latent,
                       receiver_step,
                       reverse,
                       to_complex,
                       to_real,
)
from .schedule import NoiseSchedule, beta_schedule
from .scramble import Scrambling

__all__ = ["DEFENSES", "Defense", "DefenseConfig", "load_defense", "ImageUNet", "ImageUNetConfig", "LatentDenoiser",
           "LatentDenoiserConfig", "diffuse_image", "diffuse_latent", "match_noise", "purify_image", "purify_latent",
           "receiver_step", "reverse", "to_complex", "to_real", "NoiseSchedule", "beta_schedule", "Scrambling"]
