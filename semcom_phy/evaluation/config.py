"""The evaluation's config: the experiment (channels x SNR x defenses x attacks x budgets over
seeds) as a YAML file, checked by name before any work (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..purify.config import DEFENSES, DefenseConfig

if TYPE_CHECKING:
    from ..digital import DigitalConfig

T1 = ("noise", "pgd", "pgd_adaptive", "pgd_bpda", "pgd_fixed")
T2 = ("jamming", "air", "air_adaptive", "air_fixed", "universal")
ATTACKS = ("clean",) + T1 + T2
ADAPTIVE_T1 = ("pgd_adaptive", "pgd_bpda", "pgd_fixed")
CHANNELS = ("awgn", "multipath")


@dataclass
class Config:
    """The experiment; unknown keys are rejected by name."""

    name: str
    num_images: int = 64
    seeds: list = field(default_factory=lambda: [0])
    channels: list = field(default_factory=lambda: ["awgn"])
    snr_db: list = field(default_factory=lambda: [10])
    defenses: list = field(default_factory=lambda: [{"label": "none", "defense": "none"}])
    attacks: list = field(default_factory=lambda: [{"attack": "clean"}])
    worst_of_n: int = 3
    universal_train_images: int = 1024
    batch_size: int = 256
    headline: dict = field(default_factory=lambda: {"channel": "awgn", "snr_db": 10, "linf": 0.1, "psr_db": -10})

    @classmethod
    def load(cls, path: Path) -> "Config":
        data = yaml.safe_load(Path(path).read_text()) or {}
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)}; allowed: {sorted(cls.__dataclass_fields__)}")
        cfg = cls(**data)
        cfg.check()
        return cfg

    def check(self) -> None:
        if not 1 <= self.num_images <= 10000:
            raise ValueError(f"num_images = {self.num_images}: allowed 1..10000")
        if not self.seeds or self.worst_of_n < 1:
            raise ValueError("seeds must be a non-empty list and worst_of_n >= 1")
        for c in self.channels:
            if c not in CHANNELS:
                raise ValueError(f"channels: {c!r}: allowed {CHANNELS}")
        labels = [d.get("label") for d in self.defenses]
        if len(set(labels)) != len(labels) or None in labels:
            raise ValueError("defenses: every entry needs a unique 'label'")
        for d in self.defenses:
            defense_config(d)                               # raises with the field's name
        for a in self.attacks:
            if a.get("attack") not in ATTACKS:
                raise ValueError(f"attacks: {a.get('attack')!r}: allowed {ATTACKS}")
            unknown = set(a) - {"attack", "label", "budgets", "steps", "eot", "epochs", "channels", "snr_db",
                                "seeds", "num_images", "defenses"}
            if unknown:
                raise ValueError(f"attacks: {a['attack']}: unknown keys {sorted(unknown)}")
            if a["attack"] != "clean" and not a.get("budgets"):
                raise ValueError(f"attacks: {a['attack']} needs a list of budgets")
            missing = set(a.get("defenses", [])) - set(labels)
            if missing:
                raise ValueError(f"attacks: {label(a)}: defenses {sorted(missing)} are not defense labels {labels}")
        names = [label(a) for a in self.attacks]
        if len(set(names)) != len(names):
            raise ValueError(f"attacks: labels {names} repeat; give repeated attacks a distinct 'label'")


def label(attack: dict) -> str:
    return attack.get("label", attack["attack"])


def defense_config(d: dict) -> DefenseConfig | DigitalConfig:
    """A defense entry's config: DefenseConfig, or DigitalConfig for ``defense: digital``."""
    from semcom_phy.digital import DigitalConfig

    args = {k: v for k, v in d.items() if k != "label"}
    if args.get("defense") not in DEFENSES + ("digital",):
        raise ValueError(f"defenses: {d.get('label')}: defense {args.get('defense')!r}: allowed {DEFENSES + ('digital',)}")
    try:
        if args.pop("defense") == "digital":
            return DigitalConfig(**args)
        return DefenseConfig(defense=d["defense"], **args)
    except TypeError as err:
        raise ValueError(f"defenses: {d.get('label')}: {err}") from None

