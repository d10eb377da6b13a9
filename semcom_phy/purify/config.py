"""The defense's settings (:class:`DefenseConfig`) and the names of the defenses: torch-free, so
scripts build their options and configs before they import the models (:mod:`.defense` holds the
models and re-exports these names)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..validation import check_field

KEY_BITS = 256                       # scrambling keys are integers in [0, 2^KEY_BITS) (:mod:`.scramble`)
DEFENSES = ("none", "receiver", "latent", "image", "median", "advtrain", "advtrain_t1", "smoothed")
ADVTRAIN = {"advtrain": "scripts/train_adversarial.py", "advtrain_t1": "scripts/train_adversarial.py --psr-db=-inf"}
NO_DENOISER = ("none", "median", "smoothed", *ADVTRAIN)
SCRAMBLE_MODES = ("permute", "mix")  # DefenseConfig.scramble_mode (:mod:`.scramble`)
MAX_VOTES = 64                       # purifications per image (the denoising defenses)
SMOOTHED_VOTES = 1000                # PREDICT draws of the smoothed receiver when votes is left at 1
MAX_SMOOTHED_VOTES = 100_000
MAX_SIGMA_R = 10.0

__all__ = ["KEY_BITS", "DEFENSES", "ADVTRAIN", "NO_DENOISER", "SCRAMBLE_MODES", "MAX_VOTES", "SMOOTHED_VOTES",
           "MAX_SMOOTHED_VOTES", "MAX_SIGMA_R", "DefenseConfig", "key_fingerprint"]


def key_fingerprint(key: int) -> str:
    """A public name for a scrambling key: the first 16 hex digits of SHA-256 over a fixed label
    and the key's 32 bytes. It tells which key a run used without revealing it."""
    return hashlib.sha256(b"semcom_phy scrambling key\0" + int(key).to_bytes(KEY_BITS // 8, "big")).hexdigest()[:16]


@dataclass(frozen=True)
class DefenseConfig:
    """``sender_step``: t_s of the sender's diffusion (latent and image defenses); ``nfe``: denoiser
    evaluations per purification; ``stochastic``: DDPM-like sampling (eta 1) instead of DDIM
    (eta 0); ``votes``: purifications per received image (needs ``stochastic``); ``bf16``: run the
    denoiser under bfloat16 autocast (for GPUs; the scheduler arithmetic stays in float32);
    ``scramble``: keyed symbol scrambling with the pre-shared ``key`` (an integer below 2^256; the
    default 0 is a testbed key). The key is secret: :func:`~semcom_phy.config.to_dict` writes
    ``key_fingerprint`` in its place, and :func:`~semcom_phy.config.from_dict` of such data with
    ``scramble`` needs the matching key (a stored run replays only with its key);
    ``scramble_mode``: what the scrambling does (:mod:`.scramble`): ``"permute"`` (the default,
    the original scrambling: a secret permutation and a phase rotation per symbol, which keeps
    every symbol's magnitude) or ``"mix"`` (a keyed unitary ``D2 P2 F D1 P1`` that mixes every
    symbol of an image into every transmitted one, so the magnitudes on the air say nothing per
    symbol). The mode is public, as the rest of the link is (Kerckhoffs): configs store it in
    the clear, and the key's fingerprint names the key alone (one key may serve either mode:
    their key streams are separate, :meth:`~.scramble.Scrambling.keyed`);
    ``image_step``: the step t* the image defense's receiver diffuses the decoded image to before
    the image denoiser runs it back (DiffPure's t*; -1: the sender's t_s; larger: the codec carries
    lightly diffused images, the receiver purifies harder).

    The ``smoothed`` defense is the randomized-smoothing receiver of :mod:`semcom_phy.certify`
    run live (plain symbols at the sender, no denoiser): it adds its own noise ``CN(0, sigma_r^2)``
    per symbol (``sigma_r`` in (0, 10]) to the equalised symbols, decodes each noisy copy with the
    noise-aware decoder told ``no_eff + sigma_r^2`` and classifies it, ``votes`` times per image,
    and PREDICT (Cohen et al. 2019) returns the vote's class or abstains: the two-sided binomial
    test of the top two counts at level ``alpha`` (in (0, 0.5]) must reject a tie. ``votes``
    means PREDICT's draws there, 2..100000; left at 1 (the default) it is 1000
    (:data:`SMOOTHED_VOTES`: one draw could never pass the test)."""

    defense: str = "none"
    sender_step: int = 60
    nfe: int = 4
    stochastic: bool = False
    votes: int = 1
    bf16: bool = False
    scramble: bool = False
    key: int = field(default=0, repr=False, metadata={"secret": "scramble"})   # matters when scrambling
    image_step: int = -1
    scramble_mode: str = "permute"                                           # matters when scrambling
    sigma_r: float = 1.0                                                     # matters when smoothed
    alpha: float = 0.001                                                     # matters when smoothed

    def __post_init__(self):
        check_field(self, "defense", choices=DEFENSES)
        check_field(self, "sender_step", 0, 999, integer=True)
        check_field(self, "nfe", 1, 100, integer=True)
        check_field(self, "image_step", -1, 999, integer=True)
        check_field(self, "votes", integer=True)
        if self.defense == "smoothed":
            if self.votes == 1:                 # the default: one PREDICT draw always abstains
                object.__setattr__(self, "votes", SMOOTHED_VOTES)
            check_field(self, "votes", 2, MAX_SMOOTHED_VOTES, integer=True,
                        unit=f"for defense 'smoothed' (PREDICT draws per image; 1, the default: {SMOOTHED_VOTES})")
        else:
            check_field(self, "votes", 1, MAX_VOTES, integer=True,
                        unit=f"for defense {self.defense!r} (purifications per image)")
        check_field(self, "sigma_r", 0.0, MAX_SIGMA_R, lo_open=True)
        check_field(self, "alpha", 0.0, 0.5, lo_open=True)
        check_field(self, "scramble_mode", choices=SCRAMBLE_MODES)
        if not isinstance(self.scramble, bool):
            raise ValueError(f"DefenseConfig.scramble = {self.scramble!r}: must be true or false")
        if isinstance(self.key, bool) or not isinstance(self.key, int) or not 0 <= self.key < 2 ** KEY_BITS:
            raise ValueError(f"DefenseConfig.key = {self.key!r}: must be an integer in [0, 2^{KEY_BITS})")
        if self.votes > 1 and not self.stochastic and self.defense != "smoothed":
            raise ValueError(f"DefenseConfig.votes = {self.votes}: more than one vote needs stochastic=True "
                             "(deterministic purifications of one received vector are identical)")

    @property
    def key_fingerprint(self) -> str:
        """:func:`key_fingerprint` of ``key``: what configs and recordings store in its place."""
        return key_fingerprint(self.key)

    @property
    def eta(self) -> float:
        return 1.0 if self.stochastic else 0.0

    @property
    def evaluations_per_image(self) -> int:
        return 0 if self.defense in NO_DENOISER else self.nfe * self.votes
