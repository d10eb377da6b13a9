"""The certification driver: CERTIFY and PREDICT for every (channel, SNR, receiver, sigma_r) of a
config, the empirical air-attack baseline, rows keyed by what produced them, and the plot.

What is certified (docs/certify.md): for each test image the channel is drawn **once**
(:func:`~semcom_phy.semantic.symbol_channel` at the cell's SNR): the received symbols ``z_hat``
and their ``no_eff`` are the observed input. The smoothed receiver then adds its own noise
``eps ~ CN(0, sigma_r^2 I_k)`` to ``z_hat``, runs its base classifier (:mod:`.receivers`) and
votes. The certificate is over the receiver's own draws only: with probability >= 1 - alpha over
them, the smoothed receiver's decision at ``z_hat + delta`` is the certified class for every air
perturbation ``delta`` of L2 norm below the radius (``PSR < 20 log10(R / sqrt(k))``), whatever
the attacker knows of the channel's realisation. ZF equalisation passes an air perturbation of
the transmitted symbols into ``z_hat`` unchanged (``(h (s + delta) + w) / h = s + delta + w / h``),
so the ball around ``z_hat`` is the ball of air perturbations, for AWGN and for multipath alike.

Rows (``<out>/results.jsonl``, one JSON object a line, keyed like the evaluation's by a hash of
everything that produced them, so a rerun computes only what changed):

* ``kind: certify``: ``clean_accuracy`` and ``abstain_rate`` of PREDICT (``n_predict`` draws),
  ``certify_abstain_rate``, ``certified_accuracy`` ``[[psr_db, accuracy], ...]`` (correct and
  certified with radius above the PSR's norm), ``radius_cap`` / ``radius_cap_psr_db`` (the
  largest radius ``n`` draws can certify), the per-image ``label``, ``prediction``, ``radius``,
  ``radius_psr_db``, ``predict``;
* ``kind: air``: the undefended link's accuracy under :func:`~semcom_phy.attacks.pgd_air` at a
  PSR (white box on the plain link, fresh channel noise every pass: the evaluation's ``air``
  attack on its ``none`` defense), with its ``clean_accuracy``.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io import atomic_write
from .config import CertifyConfig

__all__ = ["CELL_VERSION", "CertifyResult", "certify_run", "cells", "compute_cell", "runner_config", "table",
           "plot"]

CELL_VERSION = 1
"""Bump when a cell's computation changes: every row is then computed again."""

CHUNK = 16
"""Images certified per call (the progress report's step; part of what fixes the draws)."""


@dataclass
class CertifyResult:
    """rows : the current config's rows (certify rows, then air rows, in config order); ran : rows
    computed in this call; out : the results folder."""

    rows: list[dict]
    ran: int = 0
    out: Path | None = None
    other_rows: int = 0
    torn_lines: int = field(default=0)


def runner_config(cfg: CertifyConfig):
    """The evaluation :class:`~semcom_phy.evaluation.config.Config` whose
    :class:`~semcom_phy.evaluation.runner.Runner` loads the receivers' models and picks the images."""
    from ..evaluation.config import Config
    from .receivers import receiver_defenses

    return Config(name=cfg.name, num_images=cfg.num_images, seeds=[cfg.seed], channels=list(cfg.channels),
                  snr_db=list(cfg.snr_db), defenses=receiver_defenses(cfg.latent_nfe))


def cells(cfg: CertifyConfig) -> list[tuple]:
    """Every row of the config: ``("certify", channel, snr, receiver, sigma)`` then
    ``("air", channel, snr, psr_db)``."""
    out = [("certify", c, s, r, sig) for c in cfg.channels for s in cfg.snr_db for r in cfg.receivers
           for sig in cfg.sigmas]
    return out + [("air", c, s, p) for c in cfg.channels for s in cfg.snr_db for p in cfg.air_psr_db]


def _salt(*parts) -> int:
    return zlib.crc32(" ".join(map(str, parts)).encode())


def cell_spec(cfg: CertifyConfig, cell: tuple, weights: dict) -> dict:
    """Everything that produces one row (its key is the hash)."""
    common = {"num_images": cfg.num_images, "seed": cfg.seed, "weights": weights, "cell_version": CELL_VERSION}
    if cell[0] == "certify":
        _, channel, snr, receiver, sigma = cell
        return {"kind": "certify", "channel": channel, "snr_db": snr, "receiver": receiver, "sigma": sigma,
                "n0": cfg.n0, "n": cfg.n, "n_predict": cfg.n_predict, "alpha": cfg.alpha, "batch": cfg.batch,
                "latent_nfe": cfg.latent_nfe if receiver == "latent" else None, "chunk": CHUNK, **common}
    _, channel, snr, psr = cell
    return {"kind": "air", "channel": channel, "snr_db": snr, "psr_db": psr, "steps": cfg.air_steps, **common}


def observe(runner, channel: str, snr: float, x, seed: int):
    """The channel's realisation, drawn once per image: the plain link's symbols s complex [B, k]
    of images x through :func:`~semcom_phy.semantic.symbol_channel` -> (z_hat complex [B, k],
    no_eff float [B, k], s). The same for every receiver and sigma at this (channel, SNR)."""
    import torch

    from ..endpoints import Sender
    from ..semantic import symbol_channel

    with torch.no_grad():
        s = Sender(runner.undefended).encode(x)
        b = len(s)
        gen = runner.gen(seed, _salt("channel", channel, snr))
        z_hat, no_eff = symbol_channel(s, torch.full((b,), float(snr), device=s.device),
                                       torch.full((b,), channel == "multipath", dtype=torch.bool, device=s.device), gen)
    return z_hat, no_eff, s


def certify_cell(runner, cfg: CertifyConfig, channel: str, snr: float, receiver: str, sigma: float,
                 on_images=lambda n: None) -> dict:
    """One certify row's numbers: CERTIFY and PREDICT on every image of ``runner.data(cfg.seed)``."""
    import torch

    from .receivers import SmoothedReceiver
    from .smoothing import certify, max_radius, predict, psr_db_to_radius, radius_to_psr_db

    x, y = runner.data(cfg.seed)
    z_hat, no_eff, _ = observe(runner, channel, snr, x, cfg.seed)
    f = SmoothedReceiver(runner.defenses[receiver], sigma)
    gen = runner.gen(cfg.seed, _salt("certify", channel, snr, receiver, sigma))
    pred, radius, clean = [], [], []
    for start in range(0, len(x), CHUNK):
        sl = slice(start, start + CHUNK)
        c = certify(f, z_hat[sl], sigma, cfg.n0, cfg.n, cfg.alpha, cfg.batch, gen, side=no_eff[sl])
        p = predict(f, z_hat[sl], sigma, cfg.n_predict, cfg.alpha, cfg.batch, gen, side=no_eff[sl])
        pred.append(c.prediction), radius.append(c.radius), clean.append(p.prediction)
        on_images(len(c.prediction))
    pred, radius, clean, y = torch.cat(pred), torch.cat(radius).numpy(), torch.cat(clean), y.cpu()
    k = z_hat.shape[1]
    correct = (pred == y).numpy()
    cap = max_radius(sigma, cfg.n, cfg.alpha)
    return {"clean_accuracy": float((clean == y).float().mean()), "abstain_rate": float((clean < 0).float().mean()),
            "certify_abstain_rate": float((pred < 0).float().mean()),
            "certified_accuracy": [[p, float(np.mean(correct & (radius > psr_db_to_radius(p, k))))]
                                   for p in cfg.psr_db],
            "radius_cap": cap, "radius_cap_psr_db": float(radius_to_psr_db(cap, k)), "num_symbols": k,
            "label": y.tolist(), "prediction": pred.tolist(), "radius": [round(float(r), 6) for r in radius],
            "radius_psr_db": [None if r <= 0 else round(float(radius_to_psr_db(r, k)), 3) for r in radius],
            "predict": clean.tolist()}


def air_cell(runner, cfg: CertifyConfig, channel: str, snr: float, psr: float) -> dict:
    """The undefended link's accuracy under ``pgd_air`` at ``psr`` dB (and without attack), one draw."""
    from ..attacks import evaluate, pgd_air
    from ..symbol_link import SymbolLink

    x, y = runner.data(cfg.seed)
    model = SymbolLink(runner.undefended, snr, channel == "multipath")
    gen = runner.gen(cfg.seed, _salt("air", channel, snr, psr))
    delta = pgd_air(model, x, y, psr, steps=cfg.air_steps, generator=gen)
    return {"accuracy": evaluate(model, x, y, delta, n=1, generator=gen)["accuracy"],
            "clean_accuracy": evaluate(model, x, y, None, n=1, generator=gen)["accuracy"]}


def _certify_fields(runner, cfg: CertifyConfig, cell: tuple, on_images) -> dict:
    _, channel, snr, receiver, sigma = cell
    return {"kind": "certify", "channel": channel, "snr_db": snr, "receiver": receiver, "sigma": sigma,
            "num_images": cfg.num_images, "n0": cfg.n0, "n": cfg.n, "n_predict": cfg.n_predict, "alpha": cfg.alpha,
            **({"latent_nfe": cfg.latent_nfe} if receiver == "latent" else {}),
            **certify_cell(runner, cfg, channel, snr, receiver, sigma, on_images)}


def _air_fields(runner, cfg: CertifyConfig, cell: tuple, on_images) -> dict:
    _, channel, snr, psr = cell
    row = {"kind": "air", "channel": channel, "snr_db": snr, "psr_db": psr, "steps": cfg.air_steps,
           "num_images": cfg.num_images, **air_cell(runner, cfg, channel, snr, psr)}
    on_images(cfg.num_images)
    return row


KINDS = {
    "certify": (_certify_fields,
                lambda cfg, cell: cfg.num_images * (cfg.n0 + cfg.n + cfg.n_predict) *
                (1 + cfg.latent_nfe if cell[3] == "latent" else 1)),
    "air": (_air_fields, lambda cfg, cell: cfg.num_images * cfg.air_steps),
}
"""The cell kinds (``cell[0]``): ``(fields(runner, cfg, cell, on_images) -> dict, cost(cfg, cell)
-> float)``, the cost a rough relative one, for scheduling on Ray only. A new kind is one entry
here (and its cells in :func:`cells`, its spec in :func:`cell_spec`)."""


def compute_cell(runner, cfg: CertifyConfig, cell: tuple, on_images=lambda n: None) -> dict:
    """One row's computed fields (all but ``key``, ``elapsed_s``, ``weights`` and ``code``, which
    the driver adds), by the cell's kind (:data:`KINDS`); ``on_images(n)`` as images are done.
    The in-process loop and the Ray workers (:mod:`semcom_phy.evaluation.distributed`) both call it."""
    return KINDS[cell[0]][0](runner, cfg, cell, on_images)


def cell_cost(cfg: CertifyConfig, cell: tuple) -> float:
    """A cell's rough relative cost (scheduling only): certify ~ images x (n0 + n + n_predict) x
    (1 + latent_nfe for the latent receiver), air ~ images x air_steps."""
    return KINDS[cell[0]][1](cfg, cell)


def certify_run(cfg: CertifyConfig, out: str | Path, device, data_dir=None, plot_it: bool = True,
                log=print, ray: str | None = None) -> CertifyResult:
    """Compute every row of ``cfg`` not already in ``<out>/results.jsonl`` (appended as each
    finishes: an interrupted run resumes), write ``<out>/config.yaml`` (the resolved config and the
    code version), then plot ``<out>/certified.png``. ``ray``: ``"auto"`` (a local Ray instance
    on all cores) or a cluster's address: the rows are computed there
    (:func:`semcom_phy.evaluation.distributed.run_distributed`, one :func:`compute_cell` per
    cell, the longest first) and stream back into the same file; None: in this process."""
    from ..evaluation.run import cell_key, read_rows
    from ..evaluation.runner import Runner
    from ..progress import progress
    from ..version import code_version

    import yaml

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    code = code_version()
    atomic_write(out / "config.yaml", yaml.safe_dump({**cfg.to_dict(), "code": code}, sort_keys=False))
    runner = Runner(runner_config(cfg), device, data_dir)
    weights = {r: {"link_codec": runner.codec.sha256, **runner.defenses[r].weights} for r in ("none", "latent")}
    jsonl = out / "results.jsonl"
    done, torn = read_rows(jsonl)
    if torn:
        log(f"note: {torn} unreadable line(s) of {jsonl} dropped (an interrupted write); their rows run again")
        atomic_write(jsonl, "".join(json.dumps(r) + "\n" for r in done.values()))
    plan = [(c, cell_key(cell_spec(cfg, c, weights[c[3] if c[0] == "certify" else "none"]))) for c in cells(cfg)]
    todo = [(c, k) for c, k in plan if k not in done]
    log(f"{len(plan) - len(todo)} rows done before, {len(todo)} to run")
    bar = progress(total=len(todo) * cfg.num_images, desc=f"certify {cfg.name}", unit="image")

    def finish(item, fields: dict, seconds: float) -> None:
        """One row, appended as soon as it is done: an interrupted run resumes."""
        cell, key = item
        row = {"key": key, **fields, "elapsed_s": round(seconds, 2),
               "weights": weights[cell[3] if cell[0] == "certify" else "none"], "code": code}
        done[key] = row
        with open(jsonl, "a") as fh:
            fh.write(json.dumps(row) + "\n")

    if ray and todo:
        from ..evaluation.distributed import run_distributed
        from ..semantic.paths import WEIGHTS_DIR

        def remote_done(item, fields: dict, seconds: float) -> None:
            finish(item, fields, seconds)
            bar.update(cfg.num_images)

        run_distributed(runner_config(cfg), todo, ray, getattr(device, "type", str(device)), data_dir, WEIGHTS_DIR,
                        compute_cell, lambda item: (cfg, item[0]), lambda item: cell_cost(cfg, item[0]),
                        remote_done, log)
    else:
        for item in todo:
            t0 = time.time()
            finish(item, compute_cell(runner, cfg, item[0], bar.update), time.time() - t0)
    bar.close()
    wanted = [k for _, k in plan]
    result = CertifyResult([done[k] for k in wanted], len(todo), out, len(set(done) - set(wanted)), torn)
    if plot_it:
        plot(result.rows, out / "certified.png")
    return result


def table(rows: list[dict], psrs=(-30, -25, -20)) -> list[str]:
    """The certify rows as a text table: clean accuracy and abstention of PREDICT, certified
    accuracy at ``psrs``, the radius cap in dB; then the air rows."""
    head = f"{'channel':9s} {'SNR':>5s} {'receiver':8s} {'sigma':>6s} {'clean':>6s} {'abst.':>6s} " + \
        " ".join(f"{f'@{p:g}dB':>8s}" for p in psrs) + f" {'cap dB':>7s}"
    lines = [head]
    for r in rows:
        if r["kind"] != "certify":
            continue
        acc = dict((float(p), a) for p, a in r["certified_accuracy"])
        cells_ = " ".join(f"{acc[float(p)]:8.3f}" if float(p) in acc else f"{'-':>8s}" for p in psrs)
        lines.append(f"{r['channel']:9s} {r['snr_db']:5g} {r['receiver']:8s} {r['sigma']:6g} "
                     f"{r['clean_accuracy']:6.3f} {r['abstain_rate']:6.3f} {cells_} {r['radius_cap_psr_db']:7.1f}")
    air = [r for r in rows if r["kind"] == "air"]
    if air:
        lines.append("undefended link under pgd_air (empirical): " + ", ".join(
            f"{r['channel']} {r['snr_db']:g} dB @{r['psr_db']:g} dB: {r['accuracy']:.3f}" for r in air))
    return lines


def plot(rows: list[dict], path: Path) -> None:
    """Certified accuracy against PSR, one panel per (channel, SNR), one curve per receiver and
    sigma_r (dotted: the radius cap of n draws); the undefended link's empirical accuracy under
    ``pgd_air`` on the same axes (black, dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(r["channel"], r["snr_db"]) for r in rows})
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for ax, (channel, snr) in zip(axes[0], panels):
        for r in rows:
            if (r["channel"], r["snr_db"]) != (channel, snr):
                continue
            if r["kind"] == "certify":
                p, a = np.array(r["certified_accuracy"], dtype=float).T
                line, = ax.plot(p, a, label=f"{r['receiver']}, $\\sigma_r$={r['sigma']:g} "
                                            f"(clean {r['clean_accuracy']:.2f}, abst. {r['abstain_rate']:.2f})")
                ax.axvline(r["radius_cap_psr_db"], color=line.get_color(), ls=":", lw=0.8)
        air = sorted((r["psr_db"], r["accuracy"]) for r in rows if r["kind"] == "air" and
                     (r["channel"], r["snr_db"]) == (channel, snr))
        if air:
            ax.plot(*zip(*air), "k--o", ms=4, label="undefended, pgd_air (empirical)")
        ax.set(xlabel="PSR (dB)", ylabel="certified accuracy (dashed: empirical)", title=f"{channel}, SNR {snr:g} dB", ylim=(0, 1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    n = next((r for r in rows if r["kind"] == "certify"), None)
    if n is not None:
        fig.suptitle(f"smoothing on the received symbols: {n['num_images']} images, n = {n['n']}, alpha = {n['alpha']:g}"
                     "\n(dotted: the largest radius n draws can certify)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
