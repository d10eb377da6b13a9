#!/usr/bin/env python3
"""Robustness evaluation: channel x SNR x defense x attack x budget, over seeds.

Every cell runs on the differentiable link model (``semcom_phy.SymbolLink``: the defense's
sender, the channel as the equaliser leaves it, the defense's receiver), so every attack can take
gradients through the whole pipeline. ``awgn`` is Gaussian noise at the SNR; ``multipath`` is
Rayleigh fading per symbol after ZF equalisation (what a frequency-selective OFDM channel leaves
on the carriers). The OFDM PHY itself is measured by ``loopback.py`` and ``bench_phy.py``.

Attacks (``budgets``: L-inf on [0, 1] images for T1, PSR in dB for T2):

============  ====  ===================================================================
clean         -     no attack; also gives PSNR, SSIM and ms/image
noise         T1    uniform random signs at the L-inf budget (control)
pgd           T1    PGD L-inf crafted on the undefended link, then sent through the defense
                    (non-adaptive: the attacker ignores the defense)
pgd_adaptive  T1    PGD L-inf with full gradients through the defense and EOT
pgd_bpda      T1    the same with BPDA (identity backward through the purification)
pgd_fixed     T1    white box against one fixed noise draw, scored on that draw
jamming       T2    Gaussian jamming at the PSR (control)
air           T2    per-example PGD on the transmitted symbols, crafted on the undefended link
air_adaptive  T2    the same through the defense with EOT
air_fixed     T2    white box against one fixed draw of the link's randomness (for a scrambling
                    defense: the attacker who knows the key), scored on that draw
universal     T2    one perturbation for all images, learned through the defense on training
                    images
============  ====  ===================================================================

Defense entries name a ``defense`` of the semantic link (``none``, ``receiver``, ``latent``,
``image``, ``median``, ``advtrain``, ``advtrain_t1``: ``semcom_phy.purify``, each with or without
``scramble``) or ``digital``, the conventional link
(PNG + CRC-32 + convolutional code + QAM, ``semcom_phy.digital``; options ``modulation``,
``coded``), classified by the same classifier. The digital link has no gradient through its
decisions: its image attacks are white-box PGD on the classifier (a received image is exact or
lost), ``air``/``air_adaptive``/``air_fixed`` are the bit-burst attack on its packets and ``universal`` the
blind burst, ``jamming`` the Gaussian control, each at a PSR relative to the packet's own energy.

An attack entry may carry a ``label`` (default: its name; two entries of one attack need two
labels, e.g. a 100-step EOT-10 headline run next to a cheaper sweep) and may be restricted to some
``channels``, ``snr_db``, ``seeds`` and the first ``num_images`` images of each seed's pick (costly
adaptive attacks run at the headline cell only). Each attacked cell is scored over ``worst_of_n`` draws of the pipeline's randomness: mean
accuracy and the worst-of-N figure (an attacker who may resubmit wins when any draw is wrong).
Writes ``<out>/results.jsonl`` (one row per cell: mean and spread over seeds; a re-run skips the
cells already there), ``config.yaml``, ``report.md`` (sanity checks first, then tables) and plots.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from semcom_phy.io import atomic_write
from semcom_phy.version import code_version
from semcom_phy.progress import progress
from semcom_phy.purify.config import DEFENSES, DefenseConfig
from semcom_phy.resources import config_names, config_path, package_dir

if TYPE_CHECKING:                  # torch and the models are imported after the options (--help needs none)
    import torch

    from semcom_phy.digital import DigitalConfig

CONFIG_DIR = package_dir() / "configs"      # shipped as package data (semcom_phy.resources)
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
                                "seeds", "num_images"}
            if unknown:
                raise ValueError(f"attacks: {a['attack']}: unknown keys {sorted(unknown)}")
            if a["attack"] != "clean" and not a.get("budgets"):
                raise ValueError(f"attacks: {a['attack']} needs a list of budgets")
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


class Runner:
    def __init__(self, cfg: Config, device: torch.device, data_dir=None):
        import torch

        from semcom_phy.data import load_split, to_tensor
        from semcom_phy.digital import DigitalConfig
        from semcom_phy.purify import load_defense
        from semcom_phy.semantic import load_codec

        self.cfg, self.device = cfg, device
        self.codec = load_codec(device=device)
        test, train = load_split("test", data_dir), load_split("train", data_dir)
        self.test_x, self.test_y = to_tensor(test.images), torch.from_numpy(test.labels.astype(np.int64))
        self.train_x, self.train_y = to_tensor(train.images), torch.from_numpy(train.labels.astype(np.int64))
        self.defenses = {}
        for d in cfg.defenses:
            c = defense_config(d)
            self.defenses[d["label"]] = c if isinstance(c, DigitalConfig) else load_defense(c, self.codec, device)
        self.undefended = load_defense(DefenseConfig("none"), self.codec, device)
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
                    if channel in a.get("channels", [channel]) and snr in a.get("snr_db", [snr]):
                        for budget in (a.get("budgets") or [None]):
                            yield channel, snr, d, a, budget


def key_of(channel, snr, label, attack, budget) -> str:
    return f"{channel}|{snr:g}|{label}|{attack}|{budget}"


def aggregate(per_seed: list[dict]) -> dict:
    out = {}
    for k in per_seed[0]:
        v = np.array([r[k] for r in per_seed], float)
        out[f"{k}_mean"], out[f"{k}_std"] = float(v.mean()), float(v.std())
    return out


# ------------------------------------------------------------------------------------------ report

def sanity(rows: list[dict], cfg: Config) -> dict:
    """The checks every run computes: a failed one is reported, never hidden."""
    checks = {}
    by = {(r["channel"], r["snr_db"], r["defense"], r["attack"], r["budget"]): r for r in rows}
    kind = {r["attack"]: r["kind"] for r in rows}

    zero = [(k, r["accuracy_mean"], r["clean_accuracy_mean"]) for k, r in by.items()
            if r["budget"] in (0, 0.0) and kind[k[3]] in T1 and "clean_accuracy_mean" in r]
    bad = [f"{k[2]}/{k[3]} @ {k[0]} {k[1]:g} dB: {a:.4f} vs clean {c:.4f} on the same images and draws"
           for k, a, c in zero if abs(a - c) > 1e-9]
    checks["budget_zero_equals_clean"] = {"ok": bool(zero) and not bad,
                                          "detail": "; ".join(bad) or f"{len(zero)} budget-0 cells equal clean exactly"}

    bad, n = [], 0
    for k0 in {k[:4] for k in by if k[4] is not None}:
        if kind[k0[3]] in ("noise", "jamming"):
            continue
        curve = sorted((k[4], r["accuracy_mean"]) for k, r in by.items() if k[:4] == k0)
        if len(curve) < 2:
            continue
        n += 1
        for (b1, a1), (b2, a2) in zip(curve, curve[1:]):
            if a2 > a1 + 0.03:
                bad.append(f"{k0[2]}/{k0[3]} @ {k0[0]} {k0[1]:g} dB: {a1:.3f} at {b1:g} -> {a2:.3f} at {b2:g}")
    checks["accuracy_falls_with_budget"] = {"ok": n > 0 and not bad,
                                            "detail": "; ".join(bad) or f"{n} attack curves non-increasing (0.03 slack)"}

    # a keyless air attack on a scrambling defense cannot beat random noise by construction (module
    # doc of semcom_phy.purify.scramble), so there the attack is checked with the key (air_fixed)
    bad, n, keyless = [], 0, []
    scrambled = {d["label"] for d in cfg.defenses if d.get("scramble")}
    controls: dict = {}                                  # (channel, snr, defense, budget, kind) -> first row
    for (ch, snr, lab, att, b), r in by.items():
        if kind[att] in ("noise", "jamming"):
            controls.setdefault((ch, snr, lab, b, kind[att]), r)
    for (ch, snr, lab, att, b), r in by.items():
        if kind[att] not in ("pgd_adaptive", "air_adaptive", "air_fixed") or not b:
            continue
        control = controls.get((ch, snr, lab, b, "noise" if kind[att] in T1 else "jamming"))
        if control is None:
            continue
        if lab in scrambled and kind[att] == "air_adaptive":
            keyless.append((r["accuracy_mean"], control["accuracy_mean"]))
        elif lab in scrambled or kind[att] != "air_fixed":       # air_fixed is the check only with a key
            n += 1
            if not r["accuracy_mean"] < control["accuracy_mean"]:
                bad.append(f"{lab}/{att} @ {ch} {snr:g} dB, budget {b:g}: {r['accuracy_mean']:.3f} >= "
                           f"random {control['accuracy_mean']:.3f}")
    detail = "; ".join(bad) or f"{n} adaptive cells below their random control"
    if keyless:
        acc, ctl = zip(*keyless)
        detail += (f"; scrambling defenses are checked with the key (air_fixed): without it, as designed, their "
                   f"{len(keyless)} adaptive air cells score {min(acc):.3f}-{max(acc):.3f} against "
                   f"{min(ctl):.3f}-{max(ctl):.3f} for their jamming controls")
    checks["adversarial_beats_random"] = {"ok": n > 0 and not bad, "detail": detail}

    none_pgd = [r for r in rows if r["defense"] == "none" and r["kind"] in ADAPTIVE_T1 and r["budget"]]
    if none_pgd:
        top = max(r["budget"] for r in none_pgd)
        worst = min(r["accuracy_mean"] for r in none_pgd if r["budget"] == top)
        checks["undefended_attack_succeeds"] = {"ok": worst <= 0.1, "detail": f"undefended accuracy under the "
                                                f"strongest PGD at L-inf {top:g}: {worst:.3f} (success "
                                                f"{1 - worst:.1%}; needs >= 90%)"}
    return checks


def headline_table(rows: list[dict], cfg: Config) -> list[str]:
    h = cfg.headline
    here = [r for r in rows if r["channel"] == h["channel"] and r["snr_db"] == h["snr_db"]
            and (r["kind"] == "clean" or r["budget"] == (h["linf"] if r["kind"] in T1 else h["psr_db"]))]
    cols = list(dict.fromkeys((r["attack"], r["kind"], r["budget"]) for r in here))
    pick = {(r["defense"], r["attack"]): r for r in here}
    lines = [f"Headline: {h['channel']}, {h['snr_db']} dB, L-inf {h['linf']}, PSR {h['psr_db']} dB. Accuracy "
             f"(mean over seeds, worst-of-{cfg.worst_of_n} in brackets); `lowest` is the minimum worst-of-N "
             "over the attack views of a threat model (controls excluded), the number to quote. For a "
             "scrambling defense (label marked `*`) `lowest` leaves out the fixed-draw views (`pgd_fixed`, "
             "`air_fixed`), whose fixed draw includes the key: the attacker is assumed to know everything "
             "but the key; the key-known figure stays in its column.", "",
             "| defense | " + " | ".join(a for a, _, _ in cols) + " | lowest T1 | lowest T2 |",
             "|---" * (len(cols) + 3) + "|"]
    for d in cfg.defenses:
        cells_ = [pick.get((d["label"], a)) for a, _, _ in cols]
        skip = ("noise", "jamming") + (("pgd_fixed", "air_fixed") if d.get("scramble") else ())
        low = {t: [r["worst_of_n_mean"] for (_, k, _), r in zip(cols, cells_)
                   if r and k in group and k not in skip] for t, group in (("T1", T1), ("T2", T2))}
        text = [f"{r['accuracy_mean']:.3f} ({r['worst_of_n_mean']:.3f})" if r else "-" for r in cells_]
        name = d["label"] + (" *" if d.get("scramble") else "")
        lines.append(f"| {name} | " + " | ".join(text) + " | " + " | ".join(
            f"{min(v):.3f}" if v else "-" for v in low.values()) + " |")
    lines += ["", "Images per column: " + ", ".join(
        f"{a} {next(r['num_images'] for r in here if r['attack'] == a)} x {len(next(r['seeds'] for r in here if r['attack'] == a))} seed(s)"
        for a, _, _ in cols)]
    return lines


def describe_device() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"CPU, {torch.get_num_threads()} torch threads"


def write_report(out: Path, cfg: Config, rows: list[dict], checks: dict) -> None:
    lines = [f"# Robustness evaluation: {cfg.name}", "",
             f"{cfg.num_images} test images x {len(cfg.seeds)} seed(s), channels {cfg.channels}, SNR {cfg.snr_db} dB; "
             f"compute time of all cells {sum(r['elapsed_s'] for r in rows) / 60:.1f} min ({describe_device()}). "
             "Config: `config.yaml`; rows: `results.jsonl`.", "",
             "## Sanity checks", ""]
    for name, c in checks.items():
        lines.append(f"- {'PASS' if c['ok'] else '**FAILED**'} `{name}`: {c['detail']}")
    lines += ["", "## Headline", ""] + headline_table(rows, cfg)
    lines += ["", "## All cells", "", "| channel | SNR dB | defense | attack | budget | accuracy | +- | worst-of-N | "
              "PSNR dB | SSIM | ms/image |", "|---" * 11 + "|"]
    for r in rows:
        f = lambda k, fmt: format(r[k], fmt) if k in r else "-"            # noqa: E731
        lines.append(f"| {r['channel']} | {r['snr_db']:g} | {r['defense']} | {r['attack']} | "
                     f"{'-' if r['budget'] is None else format(r['budget'], 'g')} | {r['accuracy_mean']:.3f} | "
                     f"{r['accuracy_std']:.3f} | {r['worst_of_n_mean']:.3f} | {f('psnr_db_mean', '.2f')} | "
                     f"{f('ssim_mean', '.3f')} | {f('ms_per_image_mean', '.2f')} |")
    lines += ["", "Plots: `acc_vs_snr.png`, `quality_vs_snr.png`, `acc_vs_linf.png`, `acc_vs_psr.png`, "
              "`acc_vs_cost.png`."]
    atomic_write(out / "report.md", "\n".join(lines) + "\n")


def plots(out: Path, cfg: Config, rows: list[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.legend import Legend
    from matplotlib.lines import Line2D

    h = cfg.headline
    labels = [d["label"] for d in cfg.defenses]
    colors = [f"C{i}" for i in range(len(labels))] if len(labels) <= 10 else \
        [plt.get_cmap("tab20")(i % 20) for i in range(len(labels))]

    def finish(fig, path: Path) -> None:
        fig.tight_layout()
        legends = [c for a in fig.axes for c in a.get_children() if isinstance(c, Legend)]   # added ones too
        fig.savefig(path, dpi=110, bbox_inches="tight", bbox_extra_artists=legends)
        plt.close(fig)

    def series(lab, kind, budget=None, channel=None, snr=None, x="snr_db", y="accuracy_mean"):
        """(xs, ys) of one defense and attack kind; of several entries at one x, the first configured."""
        pts = {}
        for r in rows:
            if (r["defense"] == lab and r["kind"] == kind and (budget is None or r["budget"] == budget)
                    and (channel is None or r["channel"] == channel) and (snr is None or r["snr_db"] == snr)):
                pts.setdefault(r[x], r[y])
        return sorted(pts), [pts[k] for k in sorted(pts)]

    fig, axes = plt.subplots(1, len(cfg.channels), figsize=(5.5 * len(cfg.channels), 3.8), squeeze=False)
    for ax, ch in zip(axes[0], cfg.channels):
        for i, lab in enumerate(labels):
            color = colors[i]
            ax.plot(*series(lab, "clean", channel=ch), "o-", color=color, label=f"{lab} clean")
            ax.plot(*series(lab, "pgd", h["linf"], channel=ch), "s--", color=color,
                    label=f"{lab} PGD L-inf {h['linf']:g} (transfer)")
        ax.set(title=ch, xlabel="SNR [dB]", ylabel="accuracy", ylim=(0, 1))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    finish(fig, out / "acc_vs_snr.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, lab in enumerate(labels):
        for ch, style in zip(cfg.channels, ("o-", "s--")):
            axes[0].plot(*series(lab, "clean", channel=ch, y="psnr_db_mean"), style, color=colors[i], label=f"{lab} {ch}")
            axes[1].plot(*series(lab, "clean", channel=ch, y="ssim_mean"), style, color=colors[i])
    top = max([r["psnr_db_mean"] for r in rows if "psnr_db_mean" in r and r["psnr_db_mean"] < 60] or [40])
    axes[0].set(xlabel="SNR [dB]", ylabel="PSNR [dB] (lossless: off the top)", ylim=(None, top + 3))
    axes[1].set(xlabel="SNR [dB]", ylabel="SSIM")
    axes[0].legend(fontsize=7)
    for a in axes:
        a.grid(alpha=0.3)
    finish(fig, out / "quality_vs_snr.png")

    for fname, attacks, xlabel in (("acc_vs_linf.png", ("pgd", "pgd_adaptive", "noise"), "L-inf budget"),
                                   ("acc_vs_psr.png", ("air", "air_adaptive", "jamming"), "PSR [dB]")):
        fig, ax = plt.subplots(figsize=(9, 4))
        styles = ("o--", "s-", ":")
        for i, lab in enumerate(labels):
            for att, style in zip(attacks, styles):
                xs, ys = series(lab, att, channel=h["channel"], snr=h["snr_db"], x="budget")
                if xs:
                    ax.plot(xs, ys, style, color=colors[i])
        ax.set(xlabel=xlabel, ylabel="accuracy", ylim=(0, 1), title=f"{h['channel']}, {h['snr_db']} dB")
        ax.grid(alpha=0.3)
        # colour: the defense; line style: the attack
        first = ax.legend([Line2D([], [], color=colors[i]) for i in range(len(labels))], labels, fontsize=7,
                          title="defense", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.add_artist(first)
        ax.legend([Line2D([], [], color="k", marker=st[0] if st[0] in "os" else None,
                          linestyle=st[1:] if st[0] in "os" else st) for st in styles], attacks, fontsize=7,
                  title="attack", handlelength=3, loc="lower left", bbox_to_anchor=(1.01, 0.0))
        finish(fig, out / fname)

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, d in enumerate(cfg.defenses):
        rob = [r["worst_of_n_mean"] for r in rows if r["defense"] == d["label"] and r["channel"] == h["channel"]
               and r["snr_db"] == h["snr_db"] and r["kind"] in ADAPTIVE_T1 and r["budget"] == h["linf"]]
        cost = [r.get("ms_per_image_mean") for r in rows if r["defense"] == d["label"] and r["kind"] == "clean"
                and r["channel"] == h["channel"] and r["snr_db"] == h["snr_db"]]
        if rob and cost:
            nfe = defense_config(d).evaluations_per_image
            axes[0].scatter(nfe, min(rob), color=colors[i], label=d["label"])
            axes[1].scatter(cost[0], min(rob), color=colors[i])
    axes[0].set(xlabel="network evaluations per image", ylabel=f"lowest adaptive T1 accuracy (L-inf {h['linf']})")
    axes[1].set(xlabel="ms per image (this machine)", ylabel="lowest adaptive T1 accuracy")
    axes[0].legend(fontsize=7)
    for a in axes:
        a.grid(alpha=0.3)
    finish(fig, out / "acc_vs_cost.png")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True,
                    help=f"YAML file, or a shipped config: {', '.join(config_names())} (in {CONFIG_DIR})")
    ap.add_argument("--out", type=Path, default=None, help="results directory (default results/<name>)")
    ap.add_argument("--json", type=Path, default=None, help="also write {config, sanity, results} here")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--data-dir", type=Path, default=None, help="Fashion-MNIST folder (default: Debian path)")
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args(argv)
    from semcom_phy.data import DatasetError
    from semcom_phy.semantic import WeightsError, pick_device

    try:
        path = config_path(args.config)
        cfg = Config.load(path)
        device = pick_device(args.device, args.threads)
    except (OSError, ValueError, TypeError) as err:
        ap.error(str(err))
    out = args.out or Path("results") / cfg.name
    out.mkdir(parents=True, exist_ok=True)
    shown = path.resolve()
    shown = shown.relative_to(CONFIG_DIR.parent.parent) if shown.is_relative_to(CONFIG_DIR.parent.parent) else shown
    atomic_write(out / "config.yaml", yaml.safe_dump({"config_file": str(shown), **cfg.__dict__,
                                                      "code": code_version()}, sort_keys=False))
    try:
        runner = Runner(cfg, device, args.data_dir)
    except (DatasetError, WeightsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    jsonl = out / "results.jsonl"
    done = {}
    if jsonl.exists():
        for line in jsonl.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[row["key"]] = row
    if jsonl.exists():                                      # one line per cell, as loaded (last wins)
        atomic_write(jsonl, "".join(json.dumps(r) + "\n" for r in done.values()))
    todo = [c for c in cells(cfg) if key_of(c[0], c[1], c[2]["label"], label(c[3]), c[4]) not in done]
    print(f"{len(done)} cells done before, {len(todo)} to run")
    for channel, snr, d, a, budget in progress(todo, desc=f"evaluate {cfg.name}", unit="cell"):
        c0 = time.time()
        seeds = a.get("seeds", cfg.seeds)
        per_seed = [runner.cell(channel, snr, d["label"], a, budget, s) for s in seeds]
        row = {"key": key_of(channel, snr, d["label"], label(a), budget), "channel": channel, "snr_db": snr,
               "defense": d["label"], "defense_config": {k: v for k, v in d.items() if k != "label"},
               "attack": label(a), "kind": a["attack"], "budget": budget, "attack_config": a, "seeds": seeds,
               "num_images": min(cfg.num_images, a.get("num_images", cfg.num_images)), **aggregate(per_seed),
               "elapsed_s": round(time.time() - c0, 2)}
        done[row["key"]] = row
        with open(jsonl, "a") as f:                         # one line per finished cell: resumable
            f.write(json.dumps(row) + "\n")
    wanted = {key_of(c[0], c[1], c[2]["label"], label(c[3]), c[4]) for c in cells(cfg)}
    rows = [r for k, r in done.items() if k in wanted]
    checks = sanity(rows, cfg)
    write_report(out, cfg, rows, checks)
    if not args.no_plot:
        plots(out, cfg, rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"config": cfg.__dict__, "code": code_version(), "sanity": checks,
                                         "results": rows}, indent=1))
    print("\n".join(headline_table(rows, cfg)))
    for name, c in checks.items():
        print(f"{'PASS' if c['ok'] else 'FAILED'} {name}: {c['detail']}")
    print(f"wrote {out}/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
