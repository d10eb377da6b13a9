"""The detection experiment's config: channels x SNR, the scored and calibration splits, the
attacks' budgets, the detector's settings and the adaptive attacker's, as a YAML file checked
field by field before any work (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from ..evaluation.config import CHANNELS, ListFieldsConfig
from ..validation import check_choice, check_number, check_seed

__all__ = ["SCORES", "ADAPTIVE_TARGETS", "DetectConfig"]

SCORES = ("latent_residual", "image_residual", "cycle_residual", "disagreement")
"""The detector scores (:mod:`.scores`); every run also reports ``combined`` (the largest of
their calibrated z-scores)."""
ADAPTIVE_TARGETS = SCORES + ("combined",)
_LIST_FIELDS = ("channels", "snr_db", "psr_db", "linf", "scores", "adaptive_lambdas")
_EMPTY_OK = ("psr_db", "linf", "adaptive_lambdas")
TEST_IMAGES, TRAIN_IMAGES = 10_000, 60_000


@dataclass(frozen=True)
class DetectConfig(ListFieldsConfig):
    """The detection run; unknown keys are refused by name.

    name : str, the results folder's name (``results/detect/<name>``)
    num_images : 1..9999 scored test images; calibration_images : 1..9999 clean calibration images.
        Both come from one permutation of the 10000 test images drawn with ``seed``: the first
        ``num_images`` are scored, the next ``calibration_images`` calibrate (disjoint splits)
    seed : >= 0, the permutation, the channel draws, the attacks' and the detector's noise
    channels : ``awgn`` / ``multipath``; snr_db : channel Es/N0 values in [-30, 100] dB
    psr_db : PSRs in [-60, 20] dB of the air attacks (``pgd_air`` on the undefended link, the
        ``universal`` perturbation and Gaussian jamming, the control); linf : L-inf budgets in [0, 1] of the image attack (``pgd``
        on the undefended link); steps : 1..1000 PGD steps of every attack
    universal_images : 0..60000 training images the universal perturbation is learned on (two
        epochs through the undefended link, as the evaluation's ``universal``; 0: no universal attack)
    scores : a non-empty subset of :data:`SCORES`
    latent_offset : 0..999 steps above the noise-matched step t* at which the latent denoiser
        estimates the clean symbols; latent_draws : 1..64 fresh noise top-ups averaged
    image_step : 1..999 DiffPure step of the image residual (at most the image UNet's t_max,
        checked when the model loads); image_draws : 1..64
    false_alarm : in (0, 0.5], the false-alarm rate the thresholds are set for on the calibration split
    adaptive_psr_db : the PSR in [-60, 20] dB of the adaptive attacker; adaptive_lambdas : weights
        in [0, 10^6] of its detector term (empty: no adaptive attack); adaptive_target : the score
        it evades (one of ``scores``, or ``combined``)
    batch : 1..65536 images per forward pass
    """

    _LISTS, _MAY_BE_EMPTY, _RESULTS = _LIST_FIELDS, _EMPTY_OK, "detect"

    name: str
    num_images: int = 256
    calibration_images: int = 256
    seed: int = 0
    channels: tuple = ("awgn",)
    snr_db: tuple = (10,)
    psr_db: tuple = (-20, -15, -10)
    linf: tuple = (0.1,)
    steps: int = 10
    universal_images: int = 512
    scores: tuple = SCORES
    latent_offset: int = 50
    latent_draws: int = 4
    image_step: int = 10
    image_draws: int = 2
    false_alarm: float = 0.05
    adaptive_psr_db: float = -10
    adaptive_lambdas: tuple = (1, 10)
    adaptive_target: str = "combined"
    batch: int = 256

    def __post_init__(self):
        self._check_lists()
        check_number(self.num_images, "num_images", 1, TEST_IMAGES - 1, integer=True, owner=self)
        check_number(self.calibration_images, "calibration_images", 1, TEST_IMAGES - 1, integer=True, owner=self)
        if self.num_images + self.calibration_images > TEST_IMAGES:
            raise ValueError(f"DetectConfig.num_images + calibration_images = "
                             f"{self.num_images + self.calibration_images}: the two disjoint splits come from the "
                             f"{TEST_IMAGES} test images, allowed at most {TEST_IMAGES}")
        check_seed(self.seed, "seed", hi=2 ** 63 - 1, owner=self)
        check_number(self.steps, "steps", 1, 1000, integer=True, owner=self)
        check_number(self.universal_images, "universal_images", 0, TRAIN_IMAGES, integer=True, owner=self)
        check_number(self.latent_offset, "latent_offset", 0, 999, integer=True, owner=self)
        check_number(self.latent_draws, "latent_draws", 1, 64, integer=True, owner=self)
        check_number(self.image_step, "image_step", 1, 999, integer=True, owner=self)
        check_number(self.image_draws, "image_draws", 1, 64, integer=True, owner=self)
        check_number(self.false_alarm, "false_alarm", 0.0, 0.5, lo_open=True, owner=self)
        check_number(self.adaptive_psr_db, "adaptive_psr_db", -60.0, 20.0, owner=self)
        check_number(self.batch, "batch", 1, 65_536, integer=True, owner=self)
        for c in self.channels:
            check_choice(c, "channels", CHANNELS, owner=self)
        for s in self.scores:
            check_choice(s, "scores", SCORES, owner=self)
        for v in self.snr_db:
            check_number(v, "snr_db", -30.0, 100.0, owner=self)
        for v in self.psr_db:
            check_number(v, "psr_db", -60.0, 20.0, owner=self)
        for v in self.linf:
            check_number(v, "linf", 0.0, 1.0, owner=self)
        for v in self.adaptive_lambdas:
            check_number(v, "adaptive_lambdas", 0.0, 1e6, owner=self)
        check_choice(self.adaptive_target, "adaptive_target", ADAPTIVE_TARGETS, owner=self)
        if self.adaptive_target != "combined" and self.adaptive_target not in self.scores:
            raise ValueError(f"DetectConfig.adaptive_target = {self.adaptive_target!r}: not one of the config's scores "
                             f"{list(self.scores)} (or 'combined')")
        self._check_repeats()
