"""The settings of a live attack (:class:`AttackConfig`): torch-free, so scripts build their
options and configs before they import the models (:mod:`.live` crafts the attacks and re-exports
these names)."""

from __future__ import annotations

from dataclasses import dataclass

from ..validation import check_field

__all__ = ["LIVE_ATTACKS", "AIR_ATTACKS", "AttackConfig"]

LIVE_ATTACKS = ("none", "jamming", "air", "universal", "pgd")
AIR_ATTACKS = ("jamming", "air", "universal")


@dataclass(frozen=True)
class AttackConfig:
    """One live attack: ``attack`` (``LIVE_ATTACKS``), its budget (``psr_db`` for the air attacks,
    L-inf ``eps`` on [0, 1] images for ``pgd``), PGD ``steps``, and the training images the
    universal perturbation learns from (``universal_images``, 2 epochs)."""

    attack: str = "none"
    psr_db: float = -10.0
    eps: float = 0.1
    steps: int = 10
    universal_images: int = 1024

    def __post_init__(self):
        check_field(self, "attack", choices=LIVE_ATTACKS)
        check_field(self, "psr_db", -60.0, 20.0)
        check_field(self, "eps", 0.0, 1.0)
        check_field(self, "steps", 1, 10_000, integer=True)
        check_field(self, "universal_images", 1, 60_000, integer=True)

    @property
    def name(self) -> str:
        """Short label: ``none``, ``jamming-10dB``, ``air-10dB``, ``universal-10dB``, ``pgd0.1``."""
        if self.attack == "none":
            return "none"
        return f"{self.attack}{self.psr_db:g}dB" if self.attack in AIR_ATTACKS else f"pgd{self.eps:g}"

    def fields(self) -> dict:
        """What a recording's annotations say about the attack (only the budget that applies)."""
        if self.attack == "none":
            return {"attack": "none"}
        budget = {"psr_db": self.psr_db} if self.attack in AIR_ATTACKS else {"eps": self.eps, "norm": "linf"}
        steps = {} if self.attack == "jamming" else {"steps": self.steps}
        return {"attack": self.attack, **budget, **steps}
