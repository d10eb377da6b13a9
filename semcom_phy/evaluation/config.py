"""The evaluation's config: the experiment (channels x SNR x defenses x attacks x budgets over
seeds) as a YAML file, checked by name before any work (torch-free)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..purify.config import DEFENSES, DefenseConfig
from ..validation import check_number, check_seed

if TYPE_CHECKING:
    from ..digital import DigitalConfig

T1 = ("noise", "pgd", "pgd_adaptive", "pgd_bpda", "pgd_fixed")
T2 = ("jamming", "air", "air_adaptive", "air_fixed", "universal", "magnitude_match")
OBS_SNR_DB = (-30.0, 100.0)          # magnitude_match: the range of its obs_snr_db (None: a clean observation)
ATTACKS = ("clean",) + T1 + T2
ADAPTIVE_T1 = ("pgd_adaptive", "pgd_bpda", "pgd_fixed")
CHANNELS = ("awgn", "multipath")
NAME = re.compile(r"[A-Za-z0-9._-]+")


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
        cfg = cls(**read_fields(path, cls))
        cfg.check()
        return cfg

    def check(self) -> None:
        """Every field typed and in range before any work (``ValueError`` naming the field, the
        value and what is allowed); ``name`` is a plain folder name (results stay in ``results/``)."""
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name) or self.name in (".", ".."):
            raise ValueError(f"name = {self.name!r}: a plain folder name (letters, digits, '.', '_', '-'), no path: "
                             "the results go to results/<name> (--out sets another folder)")
        check_number(self.num_images, "num_images", 1, 10_000, integer=True)
        check_number(self.worst_of_n, "worst_of_n", 1, 100, integer=True)
        check_number(self.batch_size, "batch_size", 1, 65_536, integer=True)
        check_number(self.universal_train_images, "universal_train_images", 1, 60_000, integer=True)
        for name, values in (("seeds", self.seeds), ("channels", self.channels), ("snr_db", self.snr_db),
                             ("defenses", self.defenses), ("attacks", self.attacks)):
            if not isinstance(values, list) or not values:
                raise ValueError(f"{name} = {values!r}: a non-empty list")
        for seed in self.seeds:
            check_seed(seed, "seeds", hi=2 ** 63 - 1)
        for snr in self.snr_db:
            check_number(snr, "snr_db", -30.0, 100.0)
        for c in self.channels:
            if c not in CHANNELS:
                raise ValueError(f"channels: {c!r}: allowed {CHANNELS}")
        if not isinstance(self.headline, dict) or set(self.headline) != {"channel", "snr_db", "linf", "psr_db"}:
            raise ValueError(f"headline = {self.headline!r}: a mapping of channel, snr_db, linf, psr_db")
        if any(not isinstance(d, dict) for d in self.defenses) or any(not isinstance(a, dict) for a in self.attacks):
            raise ValueError("defenses, attacks: lists of mappings (one entry each)")
        labels = [d.get("label") for d in self.defenses]
        if len(set(labels)) != len(labels) or None in labels:
            raise ValueError("defenses: every entry needs a unique 'label'")
        for d in self.defenses:
            defense_config(d)                               # raises with the field's name
        for a in self.attacks:
            if a.get("attack") not in ATTACKS:
                raise ValueError(f"attacks: {a.get('attack')!r}: allowed {ATTACKS}")
            unknown = set(a) - {"attack", "label", "budgets", "steps", "eot", "epochs", "channels", "snr_db",
                                "seeds", "num_images", "defenses", "obs_snr_db"}
            if unknown:
                raise ValueError(f"attacks: {a['attack']}: unknown keys {sorted(unknown)}")
            if "obs_snr_db" in a and a["attack"] != "magnitude_match":
                raise ValueError(f"attacks: {label(a)}: obs_snr_db is magnitude_match's (the SNR at which it hears "
                                 f"the transmission), not {a['attack']}'s")
            if a.get("obs_snr_db") is not None:
                check_number(a["obs_snr_db"], f"attacks: {label(a)}: obs_snr_db", *OBS_SNR_DB)
            if a["attack"] != "clean" and not a.get("budgets"):
                raise ValueError(f"attacks: {a['attack']} needs a list of budgets")
            where = f"attacks: {label(a)}"
            lo, hi = (0.0, 1.0) if a["attack"] in T1 else (-60.0, 20.0)       # L-inf on [0, 1] images; PSR dB
            for b in a.get("budgets") or []:
                check_number(b, f"{where}: budgets", lo, hi)
            for key, lo_, hi_ in (("steps", 1, 10_000), ("eot", 1, 1000), ("epochs", 1, 100), ("num_images", 1, 10_000)):
                if key in a:
                    check_number(a[key], f"{where}: {key}", lo_, hi_, integer=True)
            for s in a.get("seeds", []):
                check_seed(s, f"{where}: seeds", hi=2 ** 63 - 1)
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
    if args.get("defense") == "smoothed":
        raise ValueError(f"defenses: {d.get('label')}: defense 'smoothed' (PREDICT with abstention) runs on the live "
                         "link (scripts/loopback.py --defense smoothed) and is certified by scripts/certify.py; the "
                         "evaluation's attacks and scores need a receiver without abstention")
    try:
        if args.pop("defense") == "digital":
            return DigitalConfig(**args)
        return DefenseConfig(defense=d["defense"], **args)
    except TypeError as err:
        raise ValueError(f"defenses: {d.get('label')}: {err}") from None


class ListFieldsConfig:
    """What the certification's and the detection's frozen config dataclasses share: list fields
    read from YAML and kept as tuples (``_LISTS``; ``_MAY_BE_EMPTY`` of them may be empty), a
    plain results-folder ``name`` (``results/<_RESULTS>/<name>``), no repeated list value, plain
    ``to_dict`` and ``load`` from a YAML file. Subclasses call :meth:`_check_lists` first and
    :meth:`_check_repeats` last in their ``__post_init__``."""

    _LISTS: tuple = ()
    _MAY_BE_EMPTY: tuple = ()
    _RESULTS: str = ""

    def _check_lists(self) -> None:
        owner = type(self).__name__
        for name in self._LISTS:                      # lists from YAML, kept as tuples (frozen, hashable)
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)) or (not value and name not in self._MAY_BE_EMPTY):
                raise ValueError(f"{owner}.{name} = {value!r}: a " +
                                 ("list (may be empty)" if name in self._MAY_BE_EMPTY else "non-empty list"))
            object.__setattr__(self, name, tuple(value))
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name) or self.name in (".", ".."):
            raise ValueError(f"{owner}.name = {self.name!r}: a plain folder name (letters, digits, '.', '_', "
                             f"'-'), no path: the results go to results/{self._RESULTS}/<name> (--out sets another "
                             "folder)")

    def _check_repeats(self) -> None:
        for name in self._LISTS:
            if len(set(getattr(self, name))) != len(getattr(self, name)):
                raise ValueError(f"{type(self).__name__}.{name} = {list(getattr(self, name))!r}: values repeat")

    def to_dict(self) -> dict:
        """The fields as plain YAML/JSON values (lists for the tuples)."""
        return {f: list(v) if isinstance(v := getattr(self, f), tuple) else v for f in self.__dataclass_fields__}

    @classmethod
    def load(cls, path: str | Path):
        """The config of a YAML file; ``ValueError`` naming the file and the field for a bad one."""
        data = read_fields(path, cls)
        try:
            return cls(**data)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None


def read_fields(path: str | Path, cls) -> dict:
    """The fields of a config YAML file for the dataclass ``cls`` (a mapping with ``name``, no
    unknown key); ``ValueError`` naming the file and what is wrong. The evaluation's and the
    certification's configs load through it."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of config fields, got {type(data).__name__}")
    if "name" not in data:
        raise ValueError(f"{path}: 'name' is required (the results folder's name)")
    allowed = sorted(cls.__dataclass_fields__)
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; allowed: {allowed}")
    return data
