#!/usr/bin/env python3
"""Compare loopback runs: their curves in one plot and their numbers side by side.

    python scripts/loopback.py --channel awgn --json a.json
    python scripts/loopback.py --channel multipath --json b.json
    python scripts/compare.py a.json b.json --out results/compare.png

Each RUN is a run folder of ``scripts/loopback.py`` (``results/loopback/<run>/``, its
``results.json``) or a file its ``--json`` wrote; ``record.py --json`` and ``replay.py --json``
documents hold several runs and give one line each. Lines are labelled ``link/channel, defense
[, attack]`` from each run's config (``--labels`` overrides). Prints accuracy and PSNR per SNR, one
column per run, and writes accuracy, PSNR and SSIM against SNR to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loopback import plot_curves, run_label  # noqa: E402  (the loopback's own plot and labels)


def load_runs(path: Path) -> list[tuple[str, list[dict], float | None]]:
    """(label, result rows, clean accuracy or None) of every run in a loopback, record or replay document."""
    file = path / "results.json" if path.is_dir() else path
    try:
        doc = json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{file}: not a readable results file ({err})") from err
    if "runs" in doc:                                          # record.py --json
        return [run for d in doc["runs"] for run in load_runs_doc(d, file)]
    return load_runs_doc(doc, file)


def load_runs_doc(doc: dict, file: Path) -> list[tuple[str, list[dict], float | None]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list) or not doc["results"]:
        raise ValueError(f"{file}: no result rows (expected a loopback, record or replay document)")
    if "config" in doc:
        return [(run_label(doc["config"]), doc["results"], doc.get("clean_accuracy"))]
    groups: dict[tuple, list[dict]] = {}                       # replay.py --json: rows of many recordings
    for r in doc["results"]:
        groups.setdefault((r.get("channel", "?"), r.get("attack", "none")), []).append(r)
    return [(f"replay {c}" + ("" if a == "none" else f", attack {a}"), rows, None)
            for (c, a), rows in groups.items()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders or JSON documents")
    ap.add_argument("--labels", nargs="+", default=None, help="one label per line of the plot, in order")
    ap.add_argument("--out", type=Path, default=Path("results/compare.png"), help="the plot (default results/compare.png)")
    ap.add_argument("--title", default="", help="the plot's title")
    args = ap.parse_args(argv)
    try:
        runs = [run for p in args.runs for run in load_runs(p)]
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.labels:
        if len(args.labels) != len(runs):
            ap.error(f"--labels: {len(args.labels)} given for {len(runs)} runs")
        runs = [(label, rows, clean) for label, (_, rows, clean) in zip(args.labels, runs)]
    snrs = sorted({r["snr_db"] for _, rows, _ in runs for r in rows})
    width = max(16, *(len(label) for label, _, _ in runs))
    print("accuracy / PSNR dB by SNR")
    print(f"{'SNR dB':>7}  " + "  ".join(f"{label:>{width}}" for label, _, _ in runs))
    for s in snrs:
        cells = []
        for _, rows, _ in runs:
            r = next((r for r in rows if r["snr_db"] == s), None)
            cells.append(f"{r['accuracy']:.3f} / {r['psnr_db']:.2f}" if r else "-")
        print(f"{s:>7g}  " + "  ".join(f"{c:>{width}}" for c in cells))
    cleans = {clean for _, _, clean in runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot_curves([(label, sorted(rows, key=lambda r: r["snr_db"])) for label, rows, _ in runs], args.out,
                args.title, cleans.pop() if len(cleans) == 1 else None)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
