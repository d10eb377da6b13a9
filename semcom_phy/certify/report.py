"""The certification's rows as text and plots: certified accuracy against the budget (PSR for
T2, image L2 for T1), with the empirical attacks at the same budgets on the same axes and 95 %
Wilson intervals over the images."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["table", "plot", "sanity"]


def _fmt(acc: dict, points) -> str:
    return " ".join(f"{acc[float(p)]:8.3f}" if float(p) in acc else f"{'-':>8s}" for p in points)


def _attack_lines(rows: list[dict], attacks, coordinate, budget: str, unit: str) -> list[str]:
    """One line per attack kind of ``attacks`` (``(kind, what)``): its rows' accuracy at each
    budget; ``coordinate(r)`` names the smoothed receiver of a row ("" for the undefended link)."""
    lines = []
    for kind, what in attacks:
        got = [r for r in rows if r["kind"] == kind]
        if got:
            lines.append(f"{what}: " + ", ".join(f"{r['channel']} {r['snr_db']:g} dB{coordinate(r)} "
                                                 f"@{r[budget]:g}{unit}: {r['accuracy']:.3f}" for r in got))
    return lines


def table(rows: list[dict], psrs=(-30, -25, -20), l2=(0.25, 0.5, 1.0)) -> list[str]:
    """The rows as a text table: T2 (clean accuracy and abstention of PREDICT, certified accuracy
    at ``psrs``, the radius cap in dB, the empirical attacks), then T1 (at the L2 radii ``l2``,
    the air time per certified image)."""
    lines = [f"{'channel':9s} {'SNR':>5s} {'receiver':8s} {'sigma':>6s} {'clean':>6s} {'abst.':>6s} " +
             " ".join(f"{f'@{p:g}dB':>8s}" for p in psrs) + f" {'cap dB':>7s}"]
    for r in rows:
        if r["kind"] == "certify":
            acc = {float(p): a for p, a in r["certified_accuracy"]}
            lines.append(f"{r['channel']:9s} {r['snr_db']:5g} {r['receiver']:8s} {r['sigma']:6g} "
                         f"{r['clean_accuracy']:6.3f} {r['abstain_rate']:6.3f} {_fmt(acc, psrs)} "
                         f"{r['radius_cap_psr_db']:7.1f}")
    lines += _attack_lines(rows, (("smoothed_air", "smoothed receiver under pgd_air (EOT, then PREDICT)"),
                                  ("air", "undefended link under pgd_air")),
                           lambda r: f" {r['receiver']} s{r['sigma']:g}" if "sigma" in r else "", "psr_db", " dB")
    t1 = [r for r in rows if r["kind"] == "t1"]
    if t1:
        lines.append(f"T1 {'channel':9s} {'SNR':>5s} {'receiver':8s} {'t_s':>4s} {'sigma':>6s} {'clean':>6s} "
                     f"{'abst.':>6s} " + " ".join(f"{f'@L2 {e:g}':>8s}" for e in l2) + f" {'air s':>6s}")
        for r in t1:
            acc = {float(e): a for e, a in r["certified_accuracy"]}
            lines.append(f"   {r['channel']:9s} {r['snr_db']:5g} {r['receiver']:8s} {r['t_s']:4d} "
                         f"{r['sigma_image']:6.3f} {r['clean_accuracy']:6.3f} {r['abstain_rate']:6.3f} "
                         f"{_fmt(acc, l2)} {r['air_time_s_per_image']:6.2f}")
    return lines + _attack_lines(rows, (("t1_attack", "T1-smoothed receiver under pgd L2 (EOT, then PREDICT)"),
                                        ("image_pgd", "undefended link under pgd L2")),
                                 lambda r: f" {r['receiver']} t{r['t_s']}" if "t_s" in r else "", "eps", "")


def sanity(rows: list[dict]) -> list[dict]:
    """Every empirical attack on a smoothed receiver against the certificates of the same images:
    per (certify or t1 row, attack row at a budget), the certified accuracy at that budget, the
    attack's accuracy, and ``flipped``: images certified (correct, radius above the budget) that
    the attack made PREDICT return another class. A certificate holds with probability >= 1 -
    alpha, so ``flipped`` is 0 but for about ``alpha`` per image; the attack's accuracy may still
    be below the certified accuracy by the images PREDICT abstains on (near the ball's edge the
    vote can split)."""
    from .smoothing import psr_db_to_radius

    def certificate(a: dict) -> dict | None:
        if a["kind"] == "smoothed_air":
            want = ("certify", a["sigma"])
        else:
            want = ("t1", a["t_s"])
        return next((c for c in rows if (c["kind"], c.get("sigma") if c["kind"] == "certify" else c.get("t_s")) == want
                     and (c["channel"], c["snr_db"], c["receiver"]) == (a["channel"], a["snr_db"], a["receiver"])), None)

    out = []
    for a in rows:
        c = certificate(a) if a["kind"] in ("smoothed_air", "t1_attack") else None
        if c is None:
            continue
        t2 = a["kind"] == "smoothed_air"
        budget = float(psr_db_to_radius(a["psr_db"], c["num_symbols"])) if t2 else float(a["eps"])
        label, pred, radius, after = (np.array(v) for v in (c["label"], c["prediction"], c["radius"], a["predict"]))
        held = (pred == label) & (radius > budget)
        out.append({"kind": a["kind"], "channel": a["channel"], "snr_db": a["snr_db"], "receiver": a["receiver"],
                    "sigma": a.get("sigma"), "t_s": a.get("t_s"), "budget": a["psr_db"] if t2 else a["eps"],
                    "certified_accuracy": float(held.mean()), "attack_accuracy": a["accuracy"],
                    "flipped": int((held & (after != pred) & (after >= 0)).sum())})
    return out


def _wilson_band(ax, x, acc, n: int, color) -> None:
    from ..evaluation.runner import wilson

    lo, hi = np.array([wilson(float(a), n) for a in acc]).T
    ax.fill_between(x, lo, hi, color=color, alpha=0.12, lw=0)


def plot(rows: list[dict], out: Path) -> list[Path]:
    """``<out>/certified.png`` (T2: certified accuracy against PSR, one panel per (channel, SNR), a
    row per channel and a column per SNR; a curve per receiver and sigma_r with its 95 % Wilson
    band, dotted at the radius cap, the same receiver under ``pgd_air`` as crosses, the undefended
    link under ``pgd_air`` black dashed) and,
    with T1 rows, ``<out>/certified_t1.png`` (the same against the image L2 radius). Returns the
    files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for kinds, name, xlabel in ((("certify", "smoothed_air", "air"), "certified.png", "PSR (dB)"),
                                (("t1", "t1_attack", "image_pgd"), "certified_t1.png", "image L2 radius ([0, 1] scale)")):
        cert, attack, base = kinds
        panels = sorted({(r["channel"], r["snr_db"]) for r in rows if r["kind"] == cert})
        if not panels:
            continue
        channels = sorted({c for c, _ in panels})
        snrs = sorted({s for _, s in panels})
        fig, axes = plt.subplots(len(channels), len(snrs), figsize=(max(7.0, 5.5 * len(snrs)), 4.8 * len(channels)),
                                 squeeze=False)
        for ax in axes.flat:
            ax.set_visible(False)
        for panel in panels:
            ax = axes[channels.index(panel[0])][snrs.index(panel[1])]
            ax.set_visible(True)
            here = [r for r in rows if (r["channel"], r["snr_db"]) == panel]
            for r in (r for r in here if r["kind"] == cert):
                x, a = np.array(r["certified_accuracy"], dtype=float).T
                who = (r["receiver"], r["sigma"]) if cert == "certify" else (r["receiver"], r["t_s"])
                label = (f"{r['receiver']}, $\\sigma_r$={r['sigma']:g}" if cert == "certify" else
                         f"{r['receiver']}, $t_s$={r['t_s']} ($\\sigma$={r['sigma_image']:.3f}, "
                         f"{r['air_time_s_per_image']:.2f} s air/image)")
                line, = ax.plot(x, a, label=f"{label} (clean {r['clean_accuracy']:.2f}, abst. {r['abstain_rate']:.2f})")
                _wilson_band(ax, x, a, r["num_images"], line.get_color())
                ax.axvline(r["radius_cap_psr_db"] if cert == "certify" else r["radius_cap"], color=line.get_color(),
                           ls=":", lw=0.8)
                emp = sorted((e["psr_db"] if cert == "certify" else e["eps"], e["accuracy"]) for e in here
                             if e["kind"] == attack and
                             (e["receiver"], e["sigma"] if cert == "certify" else e["t_s"]) == who)
                if emp:
                    ax.plot(*zip(*emp), "x--", color=line.get_color(), lw=0.8, ms=6)
            base_pts = sorted((r["psr_db"] if cert == "certify" else r["eps"], r["accuracy"]) for r in here
                              if r["kind"] == base)
            if base_pts:
                ax.plot(*zip(*base_pts), "k--o", ms=4, label="undefended link under attack (empirical)")
            ax.set(xlabel=xlabel, ylabel="accuracy", title=f"{panel[0]}, SNR {panel[1]:g} dB", ylim=(0, 1))
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6.5)
        first = next(r for r in rows if r["kind"] == cert)
        what = "the received symbols (T2)" if cert == "certify" else "the sender's image diffusion (T1)"
        fig.suptitle(f"certified accuracy, smoothing over {what}: {first['num_images']} images, n = {first['n']}, "
                     f"alpha = {first['alpha']:g}\nsolid: certified (band: 95 % Wilson over images; dotted: the "
                     "largest radius n draws can certify)\nx: the same receiver under an attack crafted against it, "
                     "then PREDICT (abstentions wrong)", fontsize=8)
        fig.tight_layout()
        fig.savefig(Path(out) / name, dpi=120)
        plt.close(fig)
        written.append(Path(out) / name)
    return written
