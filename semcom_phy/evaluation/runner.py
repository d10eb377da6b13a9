"""One cell of the evaluation: a defense under an attack at a budget, on one channel and SNR, for
one seed, on the differentiable link (:class:`~semcom_phy.symbol_link.SymbolLink`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..purify.config import DefenseConfig
from .config import T2, Config, defense_config

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

        self.cfg, self.device = cfg, device
        from semcom_phy.semantic.paths import WEIGHTS_DIR

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

    def cell(self, channel: str, snr: float, label: str, attack: dict, budget, seed: int) -> dict:
        """One seed of one cell: {accuracy, worst_of_n[, psnr_db, ssim, ms_per_image]}."""
        import torch

        from semcom_phy.attacks import evaluate, gaussian_jamming, pgd, pgd_air, universal_air
        from semcom_phy.symbol_link import SymbolLink
        from semcom_phy.digital import DigitalConfig, DigitalLinkModel, burst_air, jamming
        from semcom_phy.metrics import psnr_db, ssim

        name, fading = attack["attack"], channel == "multipath"
        defense = self.defenses[label]
        digital = isinstance(defense, DigitalConfig)
        model = DigitalLinkModel(self.codec, snr, fading, defense) if digital else SymbolLink(defense, snr, fading)
        # a K-vote defense is attacked through its one-vote pipeline and scored with its K votes
        target = model if digital or model.votes == 1 else SymbolLink(defense.single_vote(), snr, fading)
        x, y = self.data(seed)
        x, y = x[:attack.get("num_images")], y[:attack.get("num_images")]
        steps, eot = attack.get("steps", 10), attack.get("eot", 1)
        n, bs = self.cfg.worst_of_n, self.cfg.batch_size
        if name == "clean":
            t0 = time.perf_counter()
            with torch.no_grad():
                x_hat, _ = model(x, generator=self.gen(seed, 1))
            ms = 1e3 * (time.perf_counter() - t0) / len(x)
            out = evaluate(model, x, y, n=n, generator=self.gen(seed, 2), batch_size=bs)
            return {"accuracy": out["accuracy"], "worst_of_n": out["worst_of_n"], "ms_per_image": ms,
                    "psnr_db": float(psnr_db(x_hat, x).mean()), "ssim": float(ssim(x_hat, x).mean())}
        delta, x_adv = None, x
        if name == "noise":
            signs = torch.randint(0, 2, x.shape, generator=self.gen(seed, 3), device=self.device) * 2 - 1
            x_adv = (x + budget * signs).clamp(0, 1)
        elif name == "pgd":
            key = (channel, snr, "pgd", budget, seed, steps, len(x))
            if key not in self._transfer:
                self._transfer[key] = pgd(SymbolLink(self.undefended, snr, fading), x, y, budget, steps=steps,
                                          generator=self.gen(seed, 4))
            x_adv = self._transfer[key]
        elif name in ("pgd_adaptive", "pgd_bpda"):
            x_adv = pgd(target, x, y, budget, steps=steps, eot=eot, generator=self.gen(seed, 5),
                        bpda=name == "pgd_bpda")
        elif name == "pgd_fixed" or (name == "air_fixed" and not digital):
            fixed = seed * 7919 + 11
            if name == "pgd_fixed":
                x_adv = pgd(target, x, y, budget, steps=steps, generator=self.gen(seed, 6), fixed_noise_seed=fixed)
            else:
                delta = pgd_air(target, x, y, budget, steps=steps, generator=self.gen(seed, 11), fixed_noise_seed=fixed)
            out = evaluate(model, x_adv, y, delta_air=delta, n=1,
                           generator=torch.Generator(self.device).manual_seed(fixed), batch_size=len(x))
            return {"accuracy": out["accuracy"], "worst_of_n": out["worst_of_n"]}
        elif digital and name in T2:
            delta = (jamming(model, x, budget, self.gen(seed, 7)) if name == "jamming" else
                     burst_air(model, x, budget, universal=name == "universal"))
        elif name == "jamming":
            delta = gaussian_jamming((len(x), model.num_symbols), budget, self.gen(seed, 7), self.device)
        elif name == "air":
            key = (channel, snr, "air", budget, seed, steps, len(x))
            if key not in self._transfer:
                self._transfer[key] = pgd_air(SymbolLink(self.undefended, snr, fading), x, y, budget, steps=steps,
                                              generator=self.gen(seed, 8))
            delta = self._transfer[key]
        elif name == "air_adaptive":
            delta = pgd_air(target, x, y, budget, steps=steps, eot=eot, generator=self.gen(seed, 9))
        elif name == "universal":
            pick = torch.from_numpy(np.random.default_rng(seed + 1).choice(
                len(self.train_x), self.cfg.universal_train_images, replace=False))
            delta = universal_air(target, self.train_x[pick], self.train_y[pick], budget,
                                  epochs=attack.get("epochs", 2), eot=eot, generator=self.gen(seed, 10))
        out = evaluate(model, x_adv, y, delta_air=delta, n=n, generator=self.gen(seed, 2), batch_size=bs)
        row = {"accuracy": out["accuracy"], "worst_of_n": out["worst_of_n"]}
        if budget == 0:                          # the sanity check's reference: clean, same images and draws
            row["clean_accuracy"] = evaluate(model, x, y, n=n, generator=self.gen(seed, 2), batch_size=bs)["accuracy"]
        return row


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

