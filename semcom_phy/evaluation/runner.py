"""One cell of the evaluation: a defense under an attack at a budget, on one channel and SNR, for
one seed, on the differentiable link (:class:`~semcom_phy.symbol_link.SymbolLink`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..purify.config import DefenseConfig
from .config import Config, defense_config

if TYPE_CHECKING:
    import torch

class Runner:
    """The models and data of one config, loaded once; :meth:`cell` computes one seed of a cell.
    ``weights_dir``: where the weights are (default: the installed ones; a Ray worker passes the
    copies it got from the object store)."""

    def __init__(self, cfg: Config, device: torch.device, data_dir=None, weights_dir=None):
        import torch

        from semcom_phy.data import load_split, to_tensor
        from semcom_phy.digital import DigitalConfig
        from semcom_phy.purify import load_defense
        from semcom_phy.semantic import load_codec
        from semcom_phy.semantic.paths import WEIGHTS_DIR

        self.cfg, self.device = cfg, device
        root = Path(weights_dir or WEIGHTS_DIR)
        self.codec = load_codec(root / "codec.json", device)
        test, train = load_split("test", data_dir), load_split("train", data_dir)
        self.test_x, self.test_y = to_tensor(test.images), torch.from_numpy(test.labels.astype(np.int64))
        self.train_x, self.train_y = to_tensor(train.images), torch.from_numpy(train.labels.astype(np.int64))
        self.defenses = {}
        for d in cfg.defenses:
            c = defense_config(d)
            self.defenses[d["label"]] = c if isinstance(c, DigitalConfig) else load_defense(c, self.codec, device, root)
        self.undefended = load_defense(DefenseConfig("none"), self.codec, device, root)
        self._transfer: dict = {}                            # non-adaptive attacks, shared by the defenses

    def data(self, seed: int):
        pick = np.sort(np.random.default_rng(seed).choice(len(self.test_x), self.cfg.num_images, replace=False))
        return self.test_x[pick].to(self.device), self.test_y[pick].to(self.device)

    def gen(self, seed: int, salt: int) -> torch.Generator:
        import torch

        return torch.Generator(self.device).manual_seed(seed * 1_000_003 + salt)

    def seeds(self, channel: str, snr: float, label: str, attack: dict, budget) -> list[dict]:
        """Every seed of one cell (the attack's ``seeds``, else the config's), one :meth:`cell` each."""
        return [self.cell(channel, snr, label, attack, budget, s) for s in attack.get("seeds", self.cfg.seeds)]

    def cell(self, channel: str, snr: float, label: str, attack: dict, budget, seed: int) -> dict:
        """One seed of one cell: {accuracy, worst_of_n[, clean_accuracy, psnr_db, ssim, ms_per_image]},
        computed by the attack's entry of :data:`~semcom_phy.evaluation.attacks.ATTACKS`."""
        from semcom_phy.digital import DigitalConfig, DigitalLinkModel
        from semcom_phy.symbol_link import SymbolLink

        from .attacks import ATTACKS, Cell

        fading = channel == "multipath"
        defense = self.defenses[label]
        digital = isinstance(defense, DigitalConfig)
        model = DigitalLinkModel(self.codec, snr, fading, defense) if digital else SymbolLink(defense, snr, fading)
        # a K-vote defense is attacked through its one-vote pipeline and scored with its K votes
        target = model if digital or model.votes == 1 else SymbolLink(defense.single_vote(), snr, fading)
        x, y = self.data(seed)
        x, y = x[:attack.get("num_images")], y[:attack.get("num_images")]
        return ATTACKS[attack["attack"]](Cell(self, channel, snr, fading, digital, model, target, x, y, attack, budget,
                                              seed))


def cells(cfg: Config):
    for channel in cfg.channels:
        for snr in cfg.snr_db:
            for d in cfg.defenses:
                for a in cfg.attacks:
                    if channel in a.get("channels", [channel]) and snr in a.get("snr_db", [snr]) and \
                            d["label"] in a.get("defenses", [d["label"]]):
                        for budget in (a.get("budgets") or [None]):
                            yield channel, snr, d, a, budget


def aggregate(per_seed: list[dict], num_images: int) -> dict:
    """Per key of the seeds' rows: ``<k>_mean`` and ``<k>_std`` (over seeds); for the accuracies
    also ``<k>_ci95`` [lo, hi], the Wilson 95 % interval over the ``num_images`` x seeds images
    scored (the draws of one image are not independent, so the image is the trial)."""
    out = {}
    for k in per_seed[0]:
        v = np.array([r[k] for r in per_seed], float)
        out[f"{k}_mean"], out[f"{k}_std"] = float(v.mean()), float(v.std())
        if k in ("accuracy", "worst_of_n", "clean_accuracy"):
            out[f"{k}_ci95"] = wilson(float(v.mean()), num_images * len(per_seed))
    return out


def wilson(p: float, n: int, z: float = 1.959964) -> list[float]:
    """The Wilson score interval [lo, hi] of a proportion ``p`` observed over ``n`` trials."""
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [round(float(max(0.0, centre - half)), 4), round(float(min(1.0, centre + half)), 4)]

