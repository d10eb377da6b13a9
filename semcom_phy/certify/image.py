"""Certified robustness of the image at the sender (threat model T1): randomized smoothing over the
sender's own image-space diffusion, the paper's "diffusing process at the sender".

The sender's diffusion, read as smoothing
-----------------------------------------
The image defense's sender diffuses the image x in [0, 1] to step t_s before encoding it
(:func:`~semcom_phy.purify.purifier.diffuse_image`, in the [-1, 1] space of the denoiser)::

    x_t = sqrt(ab) (2 x - 1) + sqrt(1 - ab) eps,      eps ~ N(0, I),  ab = alpha_bar(t_s)
        = sqrt(ab) (2 (x + sigma eps) - 1),             sigma = sqrt((1 - ab) / ab) / 2

so sending x through the diffusing sender is sending the noisy image ``u = x + sigma eps`` (in
the [0, 1] pixel scale of the attacks' budgets) through a fixed map ``u -> (sqrt(ab) (2 u - 1) +
1) / 2 -> encoder``. The base classifier ``f(u)`` is that map, the channel (a fresh draw each
time), the receiver (decoder, and the image UNet's purification for the ``image`` receiver) and
the classifier; the smoothed classifier ``g(x) = argmax_c P[f(x + sigma eps) = c]`` is what a
receiver that votes over several transmissions of one image decides. The channel's and the
denoiser's randomness do not depend on the image: ``f`` is a randomized base classifier, certified
as a deterministic one (:mod:`.smoothing`). Cohen's Theorem 1 on the 784 pixels then gives, with
probability >= 1 - alpha over the draws, ``g(x + delta) = c`` for every image perturbation with
``||delta||_2 < R = sigma Phi^-1(p_A_lower)`` (the L2 budget of :func:`~semcom_phy.attacks.pgd`
with ``norm="l2"``: per image, on the [0, 1] scale). Unlike T2 the certificate needs the
transmissions: CERTIFY's ``n0 + n`` draws are ``n0 + n`` transmissions of the image, and their
air time is reported with the radius.

Receivers (``t1_receivers``)
----------------------------
=======  ===================================================================================
none     the link's own codec carries the diffused image; its decoder and classifier, no
         denoiser (the no-denoiser base classifier)
image    the image defense: its fine-tuned codec carries the diffused image, the image UNet
         purifies the decoded image from t* = t_s (``image_nfe`` steps), then its classifier
=======  ===================================================================================
"""

from __future__ import annotations

import math

import torch

from ..purify import Defense
from ..semantic import symbol_channel
from ..symbol_link import SymbolLink
from .config import T1_RECEIVERS

__all__ = ["T1_RECEIVERS", "image_sigma", "ImageSmoothing", "ImageSmoothedLink", "air_time_per_image"]



def image_sigma(schedule, t_s: int) -> float:
    """The smoothing noise, per pixel on the [0, 1] scale, of the sender's diffusion to step t_s:
    ``sqrt((1 - ab) / ab) / 2`` (the module doc derives it)."""
    ab = float(schedule.alphas_cumprod[int(t_s)])
    return math.sqrt((1.0 - ab) / ab) / 2.0


class ImageSmoothing:
    """The base classifier of the image-side smoothing: noisy images in, classes out.

    Parameters
    ----------
    defense : Defense, the receiver (``none``: the link's codec; ``image``: the image defense, whose
        ``image_step`` is the UNet's t*)
    schedule : the diffusion's noise schedule (the image denoiser's)
    t_s : the sender's step, 0..999; ``sigma`` (:func:`image_sigma`) follows from it
    snr_db : float, the channel's Es/N0; fading : Rayleigh per symbol (ZF-equalised) instead of AWGN

    Input (``__call__``)
    --------------------
    u : float [m, 1, 28, 28], noisy images ``x + sigma eps`` on the [0, 1] scale
    generator : torch.Generator | None, the channel's and the receiver's draws

    Output
    ------
    long [m], the classes (no gradient)
    """

    def __init__(self, defense: Defense, schedule, t_s: int, snr_db: float, fading: bool = False):
        if defense.cfg.defense not in T1_RECEIVERS or defense.cfg.votes != 1 or defense.cfg.scramble:
            raise ValueError(f"defense {defense.cfg}: the image-side receivers are {T1_RECEIVERS}, one vote, "
                             "no scrambling")
        self.defense, self.schedule, self.t_s = defense, schedule, int(t_s)
        self.snr_db, self.fading = float(snr_db), bool(fading)
        self.sigma = image_sigma(schedule, t_s)
        self._scale = math.sqrt(float(schedule.alphas_cumprod[self.t_s]))
        self._inference = defense.for_inference()

    def diffused(self, u: torch.Tensor) -> torch.Tensor:
        """Noisy images u -> the sender's diffused images ``(sqrt(ab) (2 u - 1) + 1) / 2`` (what
        :func:`~semcom_phy.purify.purifier.diffuse_image` makes of ``x`` with the same noise)."""
        return (self._scale * (2.0 * u - 1.0) + 1.0) / 2.0

    def channel(self, s: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        b = len(s)
        return symbol_channel(s, torch.full((b,), self.snr_db, device=s.device),
                              torch.full((b,), self.fading, dtype=torch.bool, device=s.device), generator)

    def __call__(self, u: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        with torch.inference_mode():
            z_hat, no_eff = self.channel(self.defense.codec.encode(self.diffused(u)), generator)
            return self._inference.decode(z_hat, no_eff, generator)[1].argmax(-1)

    def link(self) -> ImageSmoothedLink:
        """The link an attacker on the smoothed receiver targets (:class:`ImageSmoothedLink`)."""
        return ImageSmoothedLink(self)


class ImageSmoothedLink(SymbolLink):
    """The diffusing link as one differentiable function of the clean image, for
    :func:`~semcom_phy.attacks.pgd` (EOT over the sender's diffusion noise is EOT over the smoothing
    noise: the attack on the smoothed classifier through its base classifier's expected loss).

    images x -> + sigma eps (from the generator) -> :meth:`ImageSmoothing.diffused` -> encoder ->
    channel -> receiver -> (x_hat, scores). For the ``image`` receiver this is the image defense's
    own link (its sender diffuses the same way)."""

    def __init__(self, smoothing: ImageSmoothing):
        super().__init__(smoothing.defense, smoothing.snr_db, smoothing.fading)
        self.smoothing = smoothing

    def transmit(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        self._check_generator(generator)
        gen_dev = generator.device if generator is not None else x.device
        eps = torch.randn(tuple(x.shape), generator=generator, device=gen_dev).to(x.device, x.dtype)
        return self.defense.codec.encode(self.smoothing.diffused(x + self.smoothing.sigma * eps))


def air_time_per_image() -> float:
    """Seconds on the air of one transmission of an image with the default link (one frame of k
    symbols and its gap at the default sample rate: :class:`~semcom_phy.experiments.config.LoopbackConfig`)."""
    from ..experiments.config import LoopbackConfig
    from ..experiments.sizes import codec_symbols
    from ..phy.frame import frame_length_samples, kind_code

    link = LoopbackConfig().link
    frame = frame_length_samples(link.ofdm, kind_code(link.modem.mode, link.modem.modulation), codec_symbols(link.codec))
    return (frame + link.modem.gap_samples) / link.ofdm.sample_rate_hz
