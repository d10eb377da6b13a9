"""The detection driver: for every (channel, SNR) of a config, the detector's scores on clean
calibration traffic (the thresholds), on clean scored traffic and under each attack, rows keyed
by what produced them (resumable), and the ROC plot.

Protocol (docs/detect.md): one permutation of the 10000 test images (``seed``) gives two
disjoint splits: the first ``num_images`` are **scored**, the next ``calibration_images``
**calibrate**. Every received vector is one fresh channel draw
(:func:`~semcom_phy.semantic.symbol_channel`), independent of any draw an attack was crafted
on. The thresholds (false-alarm rate ``false_alarm``) and the combined score are fitted on the
calibration split's clean scores only; the scored split's clean scores give the AUC's negatives
and the realised false-alarm rate.

Rows (``<out>/results.jsonl``, one JSON object a line, keyed by a hash of everything that
produced them, :func:`~semcom_phy.evaluation.run.cell_key`; an attack row's spec includes the
keys of the calibration and clean rows it is measured against):

* ``kind: calibration``: ``calibration`` (thresholds and medians), ``scores``, ``accuracy``;
* ``kind: clean``: ``scores``, ``accuracy``, ``false_alarm`` (realised, per score),
  ``accuracy_reject`` (correct and not flagged);
* ``kind: attack`` (``attack``: ``air`` = ``pgd_air`` white box on the undefended link,
  ``universal`` = one perturbation for every image, learned on ``universal_images`` training
  images through the undefended link, ``jamming`` = Gaussian jamming at the same PSR, ``pgd`` = image L-inf PGD on the undefended
  link; ``budget``: PSR dB or L-inf) and ``kind: adaptive`` (``evade_air`` at
  ``adaptive_psr_db`` with weight ``lam`` on ``target``): ``scores``, ``auc`` and ``detection``
  (at the calibrated threshold) per score, ``accuracy`` (the plain receiver's),
  ``accuracy_reject``, ``undetected_error`` (misclassified and not flagged: the attacker's real
  success), ``symbol_psr_db`` (the mean PSR of what the attack changed in the transmitted symbols).

Every score list also has ``combined`` (:class:`~.scores.Calibration`).
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io import atomic_write
from .config import DetectConfig

__all__ = ["CELL_VERSION", "DetectResult", "detect_run", "cells", "splits", "runner_config", "table", "plot"]

CELL_VERSION = 1
"""Bump when a row's computation changes: every row is then computed again."""
UNIVERSAL_EPOCHS = 2
"""Passes of the universal perturbation over its training images (the evaluation's default)."""


@dataclass
class DetectResult:
    """rows : the current config's rows (config order); ran : rows computed in this call; out :
    the results folder; other_rows : rows of results.jsonl from other configs (kept, not reported)."""

    rows: list[dict]
    ran: int = 0
    out: Path | None = None
    other_rows: int = 0
    torn_lines: int = field(default=0)


def splits(cfg: DetectConfig, total: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """(scored, calibration) test-set indices, int64 [num_images] and [calibration_images]:
    consecutive slices of one permutation drawn with ``cfg.seed`` (disjoint), each sorted."""
    perm = np.random.default_rng(cfg.seed).permutation(total)
    n, m = cfg.num_images, cfg.calibration_images
    return np.sort(perm[:n]), np.sort(perm[n:n + m])


def runner_config(cfg: DetectConfig):
    """The evaluation :class:`~semcom_phy.evaluation.config.Config` whose
    :class:`~semcom_phy.evaluation.runner.Runner` loads the codec and the two denoisers."""
    from ..evaluation.config import Config

    defenses = [{"label": "none", "defense": "none"}, {"label": "latent", "defense": "receiver"}]
    if "image_residual" in cfg.scores:
        defenses.append({"label": "image", "defense": "image", "image_step": cfg.image_step})
    return Config(name=cfg.name, num_images=cfg.num_images, seeds=[cfg.seed], channels=list(cfg.channels),
                  snr_db=list(cfg.snr_db), defenses=defenses)


def check_image_step(cfg: DetectConfig, weights_dir=None) -> None:
    """``ValueError`` naming ``DetectConfig.image_step`` when the shipped image UNet was not trained
    that far (its manifest's ``t_max``)."""
    from ..semantic.paths import WEIGHTS_DIR

    if "image_residual" not in cfg.scores:
        return
    path = Path(weights_dir or WEIGHTS_DIR) / "image_denoiser.json"
    if path.is_file():
        t_max = json.loads(path.read_text())["t_max"]
        if cfg.image_step > t_max:
            raise ValueError(f"DetectConfig.image_step = {cfg.image_step} is out of range: the image UNet purifies "
                             f"from steps 1..{t_max} (its manifest's t_max)")


def detector(runner, cfg: DetectConfig, scores=None):
    """The :class:`~.scores.Detector` of the config (``scores``: a subset instead of the config's)."""
    from .scores import Detector

    lat, img = runner.defenses["latent"], runner.defenses.get("image")
    return Detector(runner.undefended.codec, lat.denoiser, lat.schedule, getattr(img, "denoiser", None),
                    getattr(img, "schedule", None), scores or cfg.scores, cfg.latent_offset, cfg.latent_draws,
                    cfg.image_step, cfg.image_draws, lat.max_step)


def cells(cfg: DetectConfig) -> list[tuple]:
    """Every row of the config, per (channel, SNR): ``("calibration", c, s)``, ``("clean", c, s)``,
    ``("attack", c, s, name, budget)`` for air, universal (when ``universal_images``) and jamming
    at each PSR and pgd at each L-inf,
    ``("adaptive", c, s, lam)``."""
    out = []
    for c in cfg.channels:
        for s in cfg.snr_db:
            out += [("calibration", c, s), ("clean", c, s)]
            air = ("air", "universal", "jamming") if cfg.universal_images else ("air", "jamming")
            out += [("attack", c, s, a, p) for p in cfg.psr_db for a in air]
            out += [("attack", c, s, "pgd", e) for e in cfg.linf]
            out += [("adaptive", c, s, lam) for lam in cfg.adaptive_lambdas]
    return out


def _salt(*parts) -> int:
    return zlib.crc32(" ".join(map(str, parts)).encode())


def cell_spec(cfg: DetectConfig, cell: tuple, weights: dict, against: dict | None = None) -> dict:
    """Everything that produces one row (its key is the hash); ``against``: the keys of the
    calibration and clean rows an attack row is measured against."""
    det = {k: getattr(cfg, k) for k in ("scores", "latent_offset", "latent_draws", "image_step", "image_draws")}
    common = {"kind": cell[0], "channel": cell[1], "snr_db": cell[2], "seed": cfg.seed, "detector": det,
              "batch": cfg.batch, "weights": weights, "cell_version": CELL_VERSION}
    if cell[0] == "calibration":
        return {**common, "images": ["calibration", cfg.num_images, cfg.calibration_images],
                "false_alarm": cfg.false_alarm}
    common["images"] = ["scored", cfg.num_images]
    if cell[0] == "clean":
        return {**common, "against": against}
    if cell[0] == "attack":
        extra = {"train_images": cfg.universal_images, "epochs": UNIVERSAL_EPOCHS} if cell[3] == "universal" else {}
        return {**common, "attack": cell[3], "budget": cell[4], "steps": None if cell[3] == "jamming" else cfg.steps,
                "against": against, **extra}
    return {**common, "lam": cell[3], "psr_db": cfg.adaptive_psr_db, "target": cfg.adaptive_target,
            "steps": cfg.steps, "against": against}


# --------------------------------------------------------------------------- one condition

def _chunks(n: int, batch: int):
    return [slice(i, min(i + batch, n)) for i in range(0, n, batch)]


def measure(runner, det, s, y, channel: str, snr: float, gen_channel, gen_det, batch: int) -> tuple[dict, np.ndarray]:
    """The detector's scores and the plain receiver's decisions on one fresh channel draw of the
    transmitted symbols s complex [B, k] (labels y long [B]) -> ({name: float64 [B]}, correct bool [B])."""
    import torch

    from ..semantic import symbol_channel

    scores, correct = {}, []
    with torch.no_grad():
        for sl in _chunks(len(s), batch):
            b = sl.stop - sl.start
            z_hat, no_eff = symbol_channel(s[sl], torch.full((b,), float(snr), device=s.device),
                                           torch.full((b,), channel == "multipath", dtype=torch.bool, device=s.device),
                                           gen_channel)
            out = det(z_hat, no_eff, gen_det)
            correct.append((out.pop("logits").argmax(-1) == y[sl]).cpu().numpy())
            for k, v in out.items():
                scores.setdefault(k, []).append(v.double().cpu().numpy())
    return {k: np.concatenate(v) for k, v in scores.items()}, np.concatenate(correct)


def _symbol_psr_db(s_att, s) -> float:
    import torch

    d = ((s_att - s).abs() ** 2).sum(-1) / (s.abs() ** 2).sum(-1)
    return float(10 * torch.log10(d.clamp_min(1e-30)).mean())


def _round(v: np.ndarray) -> list[float]:
    return [round(float(a), 6) for a in v]


def _summary(scores: dict, correct: np.ndarray, cal, clean_scores: dict | None) -> dict:
    """The numbers of one condition given the calibration (and, for attacks, the clean scored scores)."""
    from .scores import auc

    scores = {**scores, "combined": cal.combined(scores)}
    flags = cal.flags(scores)
    out = {"accuracy": float(correct.mean()),
           "accuracy_reject": {k: float((correct & ~f).mean()) for k, f in flags.items()},
           "scores": {k: _round(v) for k, v in scores.items()}, "correct": correct.astype(int).tolist()}
    flagged = {k: float(f.mean()) for k, f in flags.items()}
    if clean_scores is None:                                  # clean traffic: what is flagged is a false alarm
        return {**out, "false_alarm": flagged}
    out["auc"] = {k: auc(clean_scores[k], scores[k]) for k in scores}
    out["detection"] = flagged
    out["undetected_error"] = {k: float((~correct & ~f).mean()) for k, f in flags.items()}
    return out


def compute_row(runner, cfg: DetectConfig, cell: tuple, cal=None, clean_scores=None) -> dict:
    """One row's numbers (the calibration row first, then the clean one: the others need both)."""
    import torch

    from ..attacks import gaussian_jamming, pgd, pgd_air, universal_air
    from ..symbol_link import SymbolLink
    from .scores import Calibration, evade_air

    kind, channel, snr = cell[:3]
    scored, calib = splits(cfg, len(runner.test_x))
    idx = calib if kind == "calibration" else scored
    x, y = runner.test_x[idx].to(runner.device), runner.test_y[idx].to(runner.device)
    codec = runner.undefended.codec
    det = detector(runner, cfg)
    fading = channel == "multipath"
    with torch.no_grad():
        s = codec.encode(x)
    gen = lambda *what: runner.gen(cfg.seed, _salt(*what, channel, snr))    # noqa: E731
    tag = cell[3:]
    g_ch, g_det, g_att = gen("channel", kind, *tag), gen("detector", kind, *tag), gen("attack", kind, *tag)
    row = {}
    if kind in ("calibration", "clean"):
        s_att = s
    elif kind == "attack":
        name, budget = tag
        link = SymbolLink(runner.undefended, snr, fading)
        if name == "pgd":
            x_adv = torch.cat([pgd(link, x[sl], y[sl], budget, steps=cfg.steps, generator=g_att)
                               for sl in _chunks(len(x), cfg.batch)])
            with torch.no_grad():
                s_att = codec.encode(x_adv)
        elif name == "universal":                  # the evaluation's: its own pick of training images
            pick = torch.from_numpy(np.random.default_rng(cfg.seed + 1).choice(len(runner.train_x), cfg.universal_images,
                                                                               replace=False))
            s_att = s + universal_air(link, runner.train_x[pick], runner.train_y[pick], budget,
                                      epochs=UNIVERSAL_EPOCHS, generator=g_att)
        elif name == "air":
            s_att = s + torch.cat([pgd_air(link, x[sl], y[sl], budget, steps=cfg.steps, generator=g_att)
                                   for sl in _chunks(len(x), cfg.batch)])
        else:
            s_att = s + gaussian_jamming(tuple(s.shape), budget, g_att, runner.device)
    else:
        (lam,) = tag
        target = cfg.adaptive_target
        det_att = det if target == "combined" else detector(runner, cfg, (target,))
        if target == "combined":
            objective = cal.combined
        else:
            scale = max(cal.thresholds[target] - cal.medians[target], 1e-12)
            objective = lambda d: (d[target] - cal.medians[target]) / scale      # noqa: E731
        s_att = s + torch.cat([evade_air(det_att, s[sl], y[sl], snr, fading, cfg.adaptive_psr_db, objective, lam,
                                         cfg.steps, g_att) for sl in _chunks(len(s), cfg.batch)])
        row.update(target=target, psr_db=cfg.adaptive_psr_db)
    scores, correct = measure(runner, det, s_att, y, channel, snr, g_ch, g_det, cfg.batch)
    if kind == "calibration":
        cal = Calibration.fit(scores, cfg.false_alarm)
        return {"calibration": cal.to_dict(), **_summary(scores, correct, cal, None), "label": y.tolist()}
    row.update(_summary(scores, correct, cal, None if kind == "clean" else clean_scores))
    if kind != "clean":
        row["symbol_psr_db"] = _symbol_psr_db(s_att, s)
    row["label"] = y.tolist()
    return row


# --------------------------------------------------------------------------- the run

def detect_run(cfg: DetectConfig, out: str | Path, device, data_dir=None, plot_it: bool = True,
               log=print) -> DetectResult:
    """Compute every row of ``cfg`` not already in ``<out>/results.jsonl`` (appended as each
    finishes: an interrupted run resumes), write ``<out>/config.yaml`` (the resolved config and
    the code version), then plot ``<out>/roc.png``."""
    from ..evaluation.run import cell_key, read_rows
    from ..evaluation.runner import Runner
    from ..progress import progress
    from ..version import code_version
    from .scores import Calibration

    import yaml

    check_image_step(cfg)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    code = code_version()
    atomic_write(out / "config.yaml", yaml.safe_dump({**cfg.to_dict(), "code": code}, sort_keys=False))
    runner = Runner(runner_config(cfg), device, data_dir)
    weights = {"link_codec": runner.codec.sha256, "latent_denoiser": runner.defenses["latent"].weights["denoiser"],
               "image_denoiser": runner.defenses["image"].weights["denoiser"] if "image" in runner.defenses else None}
    jsonl = out / "results.jsonl"
    done, torn = read_rows(jsonl)
    if torn:
        log(f"note: {torn} unreadable line(s) of {jsonl} dropped (an interrupted write); their rows run again")
        atomic_write(jsonl, "".join(json.dumps(r) + "\n" for r in done.values()))
    plan, base = [], {}
    for cell in cells(cfg):
        where = cell[1:3]
        against = None if cell[0] == "calibration" else {"calibration": base[where]["calibration"]}
        if cell[0] not in ("calibration", "clean"):
            against["clean"] = base[where]["clean"]
        key = cell_key(cell_spec(cfg, cell, weights, against))
        base.setdefault(where, {})[cell[0]] = key
        plan.append((cell, key))
    todo = [(c, k) for c, k in plan if k not in done]
    log(f"{len(plan) - len(todo)} rows done before, {len(todo)} to run")
    bar = progress(total=len(todo), desc=f"detect {cfg.name}", unit="row")
    for cell, key in todo:
        t0 = time.time()
        where = cell[1:3]
        cal_row = done.get(base[where]["calibration"])
        cal = Calibration.from_dict(cal_row["calibration"]) if cal_row else None
        clean_row = done.get(base[where]["clean"])
        clean_scores = {k: np.asarray(v) for k, v in clean_row["scores"].items()} if clean_row else None
        row = {"key": key, "kind": cell[0], "channel": cell[1], "snr_db": cell[2],
               "num_images": cfg.calibration_images if cell[0] == "calibration" else cfg.num_images}
        if cell[0] == "attack":
            row.update(attack=cell[3], budget=cell[4])
        elif cell[0] == "adaptive":
            row.update(attack="adaptive", lam=cell[3])
        row.update(compute_row(runner, cfg, cell, cal, clean_scores))
        row.update(elapsed_s=round(time.time() - t0, 2), weights=weights, code=code)
        done[key] = row
        with open(jsonl, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        bar.update(1)
    bar.close()
    wanted = [k for _, k in plan]
    result = DetectResult([done[k] for k in wanted], len(todo), out, len(set(done) - set(wanted)), torn)
    if plot_it:
        plot(result.rows, out / "roc.png")
    return result


# --------------------------------------------------------------------------- report

def _label(r: dict) -> str:
    if r["kind"] == "adaptive":
        return f"adaptive {r['psr_db']:g} dB, lam {r['lam']:g}"
    if r["attack"] == "pgd":
        return f"pgd (T1) linf {r['budget']:g}"
    name = {"air": "pgd_air (T2)", "universal": "universal (T2)"}.get(r["attack"], r["attack"])
    return f"{name} {r['budget']:g} dB"


def table(rows: list[dict]) -> list[str]:
    """The rows as text: per (channel, SNR) the thresholds' realised false alarm on the scored
    clean traffic, then per attack its accuracy and, per score, AUC / detection at the calibrated
    threshold, and the attacker's real success (misclassified and undetected by ``combined``)."""
    lines = []
    for r in rows:
        if r["kind"] == "calibration":
            names = list(r["calibration"]["thresholds"])
            lines.append(f"{r['channel']} {r['snr_db']:g} dB: calibrated on {r['num_images']} clean images at false "
                         f"alarm {r['calibration']['false_alarm']:g}")
            lines.append(f"{'condition':32s} {'acc':>6s} " + " ".join(f"{n[:15]:>15s}" for n in names) +
                         f" {'undet.err':>9s}")
        elif r["kind"] == "clean":
            lines.append(f"{'clean (false alarm)':32s} {r['accuracy']:6.3f} " +
                         " ".join(f"{'':7s}{r['false_alarm'][n]:8.3f}" for n in names) + f" {'':>9s}")
        else:
            lines.append(f"{_label(r):32s} {r['accuracy']:6.3f} " +
                         " ".join(f"{r['auc'][n]:7.3f}{r['detection'][n]:8.3f}" for n in names) +
                         f" {r['undetected_error']['combined']:9.3f}")
    if lines:
        lines.append("(per score: AUC, then the detection rate at the calibrated threshold; undet.err: misclassified "
                     "and not flagged by combined)")
    return lines


def plot(rows: list[dict], path: Path) -> None:
    """ROC curves, one panel per score (columns) and (channel, SNR) (rows), one curve per attack
    with its AUC in the legend; a dot marks the calibrated threshold's operating point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .scores import roc_curve

    cals = [r for r in rows if r["kind"] == "calibration"]
    if not cals:
        return
    names = list(cals[0]["calibration"]["thresholds"])
    fig, axes = plt.subplots(len(cals), len(names), figsize=(3.6 * len(names), 3.6 * len(cals)), squeeze=False)
    for i, cal in enumerate(cals):
        where = (cal["channel"], cal["snr_db"])
        clean = next((r for r in rows if r["kind"] == "clean" and (r["channel"], r["snr_db"]) == where), None)
        attacks = [r for r in rows if r["kind"] in ("attack", "adaptive") and (r["channel"], r["snr_db"]) == where]
        for j, name in enumerate(names):
            ax = axes[i][j]
            if clean is not None:
                for r in attacks:
                    fpr, tpr = roc_curve(clean["scores"][name], r["scores"][name])
                    ls = "--" if r["kind"] == "adaptive" else {"jamming": ":", "universal": "-."}.get(r.get("attack"), "-")
                    line, = ax.plot(fpr, tpr, ls, lw=1, label=f"{_label(r)}: AUC {r['auc'][name]:.3f}")
                    ax.plot(clean["false_alarm"][name], r["detection"][name], "o", ms=3, color=line.get_color())
            ax.plot([0, 1], [0, 1], color="0.7", lw=0.5)
            ax.set(xlim=(0, 1), ylim=(0, 1.01), title=f"{name}, {where[0]} {where[1]:g} dB",
                   xlabel="false-alarm rate (scored clean)", ylabel="detection rate")
            ax.legend(fontsize=5, loc="lower right")
            ax.grid(alpha=0.3)
    fig.suptitle(f"attack detection: {cals[0]['num_images']} calibration images, dots at the threshold of false alarm "
                 f"{cals[0]['calibration']['false_alarm']:g}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
