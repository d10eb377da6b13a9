"""The certification's config: channels x SNR x receivers x smoothing sigmas, as a YAML file,
checked field by field before any work (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from ..evaluation.config import CHANNELS, ListFieldsConfig
from ..validation import check_choice, check_number, check_seed

__all__ = ["RECEIVERS", "T1_RECEIVERS", "CertifyConfig"]

RECEIVERS = ("none", "latent", "image")
"""The smoothed receivers' base classifiers on the symbols (T2, :mod:`.receivers`)."""
T1_RECEIVERS = ("none", "image")
"""The base classifiers of the image-side smoothing (T1, :mod:`.image`)."""
_LIST_FIELDS = ("channels", "snr_db", "sigmas", "receivers", "psr_db", "air_psr_db", "smoothed_psr_db", "t1_steps",
          "t1_receivers", "l2_eps", "t1_attack_eps")
_EMPTY_OK = ("air_psr_db", "smoothed_psr_db", "t1_steps", "t1_attack_eps")


@dataclass(frozen=True)
class CertifyConfig(ListFieldsConfig):
    """The certification run; unknown keys are refused by name.

    name : str, the results folder's name (``results/certify/<name>``)
    num_images : 1..10000 test images, picked as the evaluation picks them for ``seed``
    seed : >= 0, the images, the channel realisations and the smoothing draws
    channels : ``awgn`` / ``multipath`` (Rayleigh per symbol, ZF-equalised)
    snr_db : channel Es/N0 values in [-30, 100] dB
    sigmas : smoothing noise sigma_r values in (0, 10] (``E|eps|^2 = sigma_r^2`` per symbol)
    receivers : ``none`` / ``latent`` / ``image`` (:mod:`.receivers`)
    latent_nfe : 1..100 denoiser evaluations of the latent receiver
    image_step : 0..120, the step t* the ``image`` receiver's UNet purifies the decoded image from
        (the image denoiser is trained to 120); image_nfe : 1..100 UNet evaluations (``image``
        receiver and the T1 ``image`` receiver)
    n0 : 1..10^6 selection draws; n : 1..10^7 estimation draws (CERTIFY); n_predict : 1..10^7
        draws of PREDICT (clean accuracy with abstention)
    alpha : in (0, 0.5], the failure probability of each certificate and PREDICT's level
    batch : 1..65536 noisy copies per base-classifier call
    psr_db : the radii, as PSR in [-80, 20] dB, at which certified accuracy is reported
    air_psr_db : PSRs in [-80, 20] dB of the empirical baseline (the undefended link under
        ``pgd_air``; empty: none); air_steps : 1..1000 PGD steps
    smoothed_psr_db : PSRs in [-80, 20] dB of the empirical attack on each smoothed receiver
        (``pgd_air`` with EOT over its noise, then PREDICT; empty: none)
    t1_steps : the sender's diffusion steps t_s in 0..120 of the image-side smoothing (T1,
        :mod:`.image`; empty: none); t1_receivers : ``none`` / ``image``
    l2_eps : the image L2 radii in [0, 28] (the [0, 1] pixel scale) at which T1's certified
        accuracy is reported; t1_attack_eps : L2 budgets in (0, 28] of the empirical T1 attack
        (``pgd`` L2 with EOT through the diffusing sender, then PREDICT over transmissions; and the
        undefended link under ``pgd`` L2; empty: none)
    attack_steps : 1..1000 PGD steps and attack_eot : 1..256 EOT draws of the attacks on the
        smoothed receivers
    """

    _LISTS, _MAY_BE_EMPTY, _RESULTS = _LIST_FIELDS, _EMPTY_OK, "certify"

    name: str
    num_images: int = 64
    seed: int = 0
    channels: tuple = ("awgn",)
    snr_db: tuple = (10,)
    sigmas: tuple = (0.25,)
    receivers: tuple = ("none", "latent")
    latent_nfe: int = 1
    n0: int = 100
    n: int = 1000
    n_predict: int = 1000
    alpha: float = 0.001
    batch: int = 1000
    psr_db: tuple = tuple(range(-40, -9))
    air_psr_db: tuple = (-30, -25, -20, -15, -10)
    air_steps: int = 10
    image_step: int = 60
    image_nfe: int = 1
    smoothed_psr_db: tuple = ()
    t1_steps: tuple = ()
    t1_receivers: tuple = ("none", "image")
    l2_eps: tuple = tuple(round(0.1 * i, 1) for i in range(21))
    t1_attack_eps: tuple = ()
    attack_steps: int = 10
    attack_eot: int = 8

    def __post_init__(self):
        self._check_lists()
        check_number(self.num_images, "num_images", 1, 10_000, integer=True, owner=self)
        check_seed(self.seed, "seed", hi=2 ** 63 - 1, owner=self)
        check_number(self.latent_nfe, "latent_nfe", 1, 100, integer=True, owner=self)
        check_number(self.n0, "n0", 1, 10 ** 6, integer=True, owner=self)
        check_number(self.n, "n", 1, 10 ** 7, integer=True, owner=self)
        check_number(self.n_predict, "n_predict", 1, 10 ** 7, integer=True, owner=self)
        check_number(self.alpha, "alpha", 0.0, 0.5, lo_open=True, owner=self)
        check_number(self.batch, "batch", 1, 65_536, integer=True, owner=self)
        check_number(self.air_steps, "air_steps", 1, 1000, integer=True, owner=self)
        check_number(self.image_step, "image_step", 0, 120, integer=True, owner=self)
        check_number(self.image_nfe, "image_nfe", 1, 100, integer=True, owner=self)
        check_number(self.attack_steps, "attack_steps", 1, 1000, integer=True, owner=self)
        check_number(self.attack_eot, "attack_eot", 1, 256, integer=True, owner=self)
        for c in self.channels:
            check_choice(c, "channels", CHANNELS, owner=self)
        for r in self.receivers:
            check_choice(r, "receivers", RECEIVERS, owner=self)
        for r in self.t1_receivers:
            check_choice(r, "t1_receivers", T1_RECEIVERS, owner=self)
        for v in self.t1_steps:
            check_number(v, "t1_steps", 0, 120, integer=True, owner=self)
        for v in self.l2_eps:
            check_number(v, "l2_eps", 0.0, 28.0, owner=self)
        for v in self.t1_attack_eps:
            check_number(v, "t1_attack_eps", 0.0, 28.0, lo_open=True, owner=self)
        for v in self.snr_db:
            check_number(v, "snr_db", -30.0, 100.0, owner=self)
        for v in self.sigmas:
            check_number(v, "sigmas", 0.0, 10.0, lo_open=True, owner=self)
        for name in ("psr_db", "air_psr_db", "smoothed_psr_db"):
            for v in getattr(self, name):
                check_number(v, name, -80.0, 20.0, owner=self)
        self._check_repeats()
