"""The evaluation's sanity checks, report and plots, from the result rows of one config."""

from __future__ import annotations

from pathlib import Path

from ..io import atomic_write
from .config import ADAPTIVE_T1, T1, T2, Config, defense_config
from .runner import wilson

def _check(n: int, bad: list[str], detail: str, nothing: str) -> dict:
    """One check's entry: failed when ``bad`` lists anything; ``skipped`` (not failed, shown as such)
    when the config has no cell it applies to (``n`` 0), with ``nothing`` saying which."""
    if not n:
        return {"ok": True, "skipped": True, "detail": f"nothing to check: {nothing}"}
    return {"ok": not bad, "detail": "; ".join(bad) or detail}


def status(check: dict) -> str:
    """``PASS``, ``FAILED`` or ``SKIPPED`` (no cell of the config to check) for one check of :func:`sanity`."""
    return "SKIPPED" if check.get("skipped") else ("PASS" if check["ok"] else "FAILED")


def sanity(rows: list[dict], cfg: Config) -> dict:
    """The checks every run computes: a failed one is reported, never hidden; one the config gives
    nothing to check is reported as skipped."""
    checks = {}
    by = {(r["channel"], r["snr_db"], r["defense"], r["attack"], r["budget"]): r for r in rows}
    kind = {r["attack"]: r["kind"] for r in rows}

    zero = [(k, r["accuracy_mean"], r["clean_accuracy_mean"]) for k, r in by.items()
            if r["budget"] in (0, 0.0) and kind[k[3]] in T1 and "clean_accuracy_mean" in r]
    bad = [f"{k[2]}/{k[3]} @ {k[0]} {k[1]:g} dB: {a:.4f} vs clean {c:.4f} on the same images and draws"
           for k, a, c in zero if abs(a - c) > 1e-9]
    checks["budget_zero_equals_clean"] = _check(len(zero), bad, f"{len(zero)} budget-0 cells equal clean exactly",
                                                "the config has no image attack at budget 0")

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
    checks["accuracy_falls_with_budget"] = _check(n, bad, f"{n} attack curves non-increasing (0.03 slack)",
                                                  "the config has no attack at two or more budgets")

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
    detail = f"{n} adaptive cells below their random control"
    if keyless:
        acc, ctl = zip(*keyless)
        detail += (f"; scrambling defenses are checked with the key (air_fixed): without it, as designed, their "
                   f"{len(keyless)} adaptive air cells score {min(acc):.3f}-{max(acc):.3f} against "
                   f"{min(ctl):.3f}-{max(ctl):.3f} for their jamming controls")
    checks["adversarial_beats_random"] = _check(n, bad, detail, "the config has no adaptive attack beside its "
                                                "random control at the same budget")

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


def write_report(out: Path, cfg: Config, rows: list[dict], checks: dict, other_rows: int = 0) -> None:
    """``report.md``: a failed sanity check first, then the checks, the headline table and every
    cell, from ``rows`` (the current config's only; ``other_rows``: how many of other configs
    ``results.jsonl`` also holds)."""
    failed = [name for name, c in checks.items() if not c["ok"]]
    lines = [f"# Robustness evaluation: {cfg.name}", ""]
    if failed:
        lines += [f"**{len(failed)} sanity check(s) FAILED: {', '.join(failed)}.** The numbers below are not to be "
                  "trusted until they pass (the command exits with status 1).", ""]
    lines += [f"{cfg.num_images} test images x {len(cfg.seeds)} seed(s), channels {cfg.channels}, SNR {cfg.snr_db} dB; "
              f"compute time of all cells {sum(r['elapsed_s'] for r in rows) / 60:.1f} min ({describe_device()}). "
              f"Config: `config.yaml`; rows: `results.jsonl`. Every row below was computed with this config "
              f"({len(rows)} cells)" + (f"; {other_rows} rows of other configs in `results.jsonl` are left out."
                                        if other_rows else "."), "",
              "## Sanity checks", ""]
    for name, c in checks.items():
        lines.append(f"- {status(c).replace('FAILED', '**FAILED**')} `{name}`: {c['detail']}")
    lines += ["", "## Headline", ""] + headline_table(rows, cfg)
    lines += ["", "## All cells", "", "Accuracy: mean over seeds, its standard deviation over seeds (+-) and the "
              "Wilson 95 % interval over the images scored (images x seeds).", "",
              "| channel | SNR dB | defense | attack | budget | accuracy | +- | 95 % CI | worst-of-N | "
              "PSNR dB | SSIM | ms/image |", "|---" * 12 + "|"]
    for r in rows:
        f = lambda k, fmt: format(r[k], fmt) if k in r else "-"            # noqa: E731
        lo, hi = ci95(r)
        lines.append(f"| {r['channel']} | {r['snr_db']:g} | {r['defense']} | {r['attack']} | "
                     f"{'-' if r['budget'] is None else format(r['budget'], 'g')} | {r['accuracy_mean']:.3f} | "
                     f"{r['accuracy_std']:.3f} | {lo:.3f}-{hi:.3f} | {r['worst_of_n_mean']:.3f} | {f('psnr_db_mean', '.2f')} | "
                     f"{f('ssim_mean', '.3f')} | {f('ms_per_image_mean', '.2f')} |")
    lines += ["", "Plots (error bars: the Wilson 95 % intervals): `acc_vs_snr.png`, `quality_vs_snr.png`, `acc_vs_linf.png`, `acc_vs_psr.png`, "
              "`acc_vs_cost.png`."]
    atomic_write(out / "report.md", "\n".join(lines) + "\n")


PALETTE = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",   # Okabe-Ito
           "#7F7F7F", "#8C564B", "#17BECF", "#BCBD22", "#9467BD", "#1F3A93", "#A50026", "#4D9221")
"""16 colours that stay apart (the 8 of Okabe and Ito, then 8 of distinct hue and lightness): one per defense."""


def ci95(row: dict, key: str = "accuracy") -> list[float]:
    """A row's Wilson 95 % interval of ``key`` (rows made before it was stored: from its mean)."""
    return row.get(f"{key}_ci95") or wilson(row[f"{key}_mean"], row["num_images"] * len(row["seeds"]))


def plots(out: Path, cfg: Config, rows: list[dict]) -> None:
    """``acc_vs_snr``, ``quality_vs_snr``, ``acc_vs_linf``, ``acc_vs_psr``, ``acc_vs_cost`` (PNG, in ``out``)
    from the rows; a plot the config gives nothing to draw is not written."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.legend import Legend
    from matplotlib.lines import Line2D

    h = cfg.headline
    labels = [d["label"] for d in cfg.defenses]
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(labels))]

    def finish(fig, path: Path, drawn: bool) -> None:
        """Save the figure, or, when the config gave it nothing to draw, write none (and remove a
        stale one of an earlier config in this folder)."""
        if not drawn:
            plt.close(fig)
            path.unlink(missing_ok=True)
            return
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
    drawn = any(line.get_xdata().size for ax in axes[0] for line in ax.get_lines())
    if drawn:
        axes[0][0].legend(fontsize=7)
    finish(fig, out / "acc_vs_snr.png", drawn)

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for i, lab in enumerate(labels):
        for ch, style in zip(cfg.channels, ("o-", "s--")):
            axes[0].plot(*series(lab, "clean", channel=ch, y="psnr_db_mean"), style, color=colors[i], label=f"{lab} {ch}")
            axes[1].plot(*series(lab, "clean", channel=ch, y="ssim_mean"), style, color=colors[i])
    top = max([r["psnr_db_mean"] for r in rows if "psnr_db_mean" in r and r["psnr_db_mean"] < 60] or [40])
    axes[0].set(xlabel="SNR [dB]", ylabel="PSNR [dB] (lossless: off the top)", ylim=(None, top + 3))
    axes[1].set(xlabel="SNR [dB]", ylabel="SSIM")
    drawn = any(line.get_xdata().size for line in axes[0].get_lines())
    if drawn:
        axes[0].legend(fontsize=7)
    for a in axes:
        a.grid(alpha=0.3)
    finish(fig, out / "quality_vs_snr.png", drawn)

    for fname, attacks, xlabel in (("acc_vs_linf.png", ("pgd", "pgd_adaptive", "noise"), "L-inf budget"),
                                   ("acc_vs_psr.png", ("air", "air_adaptive", "jamming"), "PSR [dB]")):
        fig, ax = plt.subplots(figsize=(9, 4))
        styles = ("o--", "s-", "x:")        # every style has a marker: a control at one budget stays visible
        drawn = False
        for i, lab in enumerate(labels):
            for att, style in zip(attacks, styles):
                pts = {}
                for r in rows:                           # the first configured entry at each budget
                    if r["defense"] == lab and r["kind"] == att and r["channel"] == h["channel"] \
                            and r["snr_db"] == h["snr_db"]:
                        pts.setdefault(r["budget"], r)
                if pts:
                    xs = sorted(pts)
                    ys = [pts[b]["accuracy_mean"] for b in xs]
                    err = [[y - ci95(pts[b])[0] for b, y in zip(xs, ys)], [ci95(pts[b])[1] - y for b, y in zip(xs, ys)]]
                    ax.errorbar(xs, ys, yerr=err, fmt=style, color=colors[i], capsize=2, elinewidth=0.8)
                    drawn = True
        ax.set(xlabel=xlabel, ylabel="accuracy", ylim=(0, 1), title=f"{h['channel']}, {h['snr_db']} dB")
        ax.grid(alpha=0.3)
        # colour: the defense; line style: the attack
        first = ax.legend([Line2D([], [], color=colors[i]) for i in range(len(labels))], labels, fontsize=7,
                          title="defense", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.add_artist(first)
        ax.legend([Line2D([], [], color="k", marker=st[0], linestyle=st[1:]) for st in styles], attacks, fontsize=7,
                  title="attack", handlelength=3, loc="lower left", bbox_to_anchor=(1.01, 0.0))
        finish(fig, out / fname, drawn)

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    drawn = False
    for i, d in enumerate(cfg.defenses):
        rob = [r["worst_of_n_mean"] for r in rows if r["defense"] == d["label"] and r["channel"] == h["channel"]
               and r["snr_db"] == h["snr_db"] and r["kind"] in ADAPTIVE_T1 and r["budget"] == h["linf"]]
        cost = [r.get("ms_per_image_mean") for r in rows if r["defense"] == d["label"] and r["kind"] == "clean"
                and r["channel"] == h["channel"] and r["snr_db"] == h["snr_db"]]
        if rob and cost:
            nfe = defense_config(d).evaluations_per_image
            axes[0].scatter(nfe, min(rob), color=colors[i], label=d["label"])
            axes[1].scatter(cost[0], min(rob), color=colors[i])
            drawn = True
    axes[0].set(xlabel="network evaluations per image", ylabel=f"lowest adaptive T1 accuracy (L-inf {h['linf']})")
    axes[1].set(xlabel="ms per image (this machine)", ylabel="lowest adaptive T1 accuracy")
    if drawn:
        axes[0].legend(fontsize=7)
    for a in axes:
        a.grid(alpha=0.3)
    finish(fig, out / "acc_vs_cost.png", drawn)

