"""Compare loopback runs: their curves in one plot and their numbers side by side.

A run is a loopback run folder (its ``results.json``) or a document the loopback, record or
replay commands wrote with ``--json`` (record and replay documents hold several runs: one line
each). Lines are labelled ``link/channel, defense[, attack]`` from each run's config; two runs
with the same label get what differs between their configs appended (``seed 1``), or their
position when nothing does, so no two lines share a label.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import config as C


@dataclass
class Run:
    """label : the plot's name for it; rows : its result rows; clean_accuracy : the classifier on
    the originals, or None; config : its plain config data (None for replayed rows)."""

    label: str
    rows: list[dict]
    clean_accuracy: float | None
    config: dict | None = None


def load_runs(path: str | Path) -> list[Run]:
    """Every run in a run folder or results document; ``ValueError`` naming the file otherwise."""
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    try:
        doc = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{file}: not a readable results file ({err})") from None
    if isinstance(doc, dict) and "runs" in doc:                # a record document
        return [run for d in doc["runs"] for run in _runs_of(d, file)]
    return _runs_of(doc, file)


def _runs_of(doc, file: Path) -> list[Run]:
    from .loopback import run_label

    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list) or not doc["results"]:
        raise ValueError(f"{file}: no result rows (expected a loopback, record or replay document)")
    if "config" in doc:
        try:
            cfg = C.load(C.LoopbackConfig, C.without_secrets(doc["config"]))
        except ValueError as err:
            raise ValueError(f"{file}: its config is not a loopback config ({err})") from None
        return [Run(run_label(cfg), doc["results"], doc.get("clean_accuracy"), doc["config"])]
    groups: dict[tuple, list[dict]] = {}                       # replay rows of many recordings
    for r in doc["results"]:
        groups.setdefault((r.get("channel", "?"), r.get("attack", "none")), []).append(r)
    return [Run(f"replay {c}" + ("" if a == "none" else f", attack {a}"), rows, None)
            for (c, a), rows in groups.items()]


def unique_labels(runs: list[Run]) -> list[str]:
    """The runs' labels, each made unique: runs sharing a label get the config fields that differ
    among them (``seed 1, num_images 64``), then ``#2``, ``#3`` where that still leaves a tie."""
    labels = [r.label for r in runs]
    for label in set(labels):
        same = [i for i, x in enumerate(labels) if x == label]
        if len(same) < 2:
            continue
        flat = [_flatten(runs[i].config or {}) for i in same]
        keys = sorted({k for f in flat for k in f if len({repr(g.get(k)) for g in flat}) > 1})
        for i, f in zip(same, flat):
            extra = ", ".join(f"{k.rsplit('.', 1)[-1]} {_short(f.get(k))}" for k in keys[:2])
            labels[i] = f"{label} ({extra})" if extra else label
    for label in set(labels):                                  # still shared (equal configs): numbered
        same = [i for i, x in enumerate(labels) if x == label]
        for n, i in enumerate(same[1:] if len(same) > 1 else [], 2):
            labels[i] = f"{label} #{n}"
    return labels


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
    return out


def _short(v) -> str:
    text = " ".join(map(str, v)) if isinstance(v, list) else str(v)
    return text if len(text) <= 24 else text[:21] + "..."


def table(runs: list[Run], labels: list[str]) -> str:
    """Accuracy / PSNR per SNR, one column per run."""
    snrs = sorted({r["snr_db"] for run in runs for r in run.rows})
    width = max(16, *(len(label) for label in labels))
    lines = ["accuracy / PSNR dB by SNR", f"{'SNR dB':>7}  " + "  ".join(f"{label:>{width}}" for label in labels)]
    for s in snrs:
        cells = []
        for run in runs:
            r = next((r for r in run.rows if r["snr_db"] == s), None)
            cells.append(f"{r['accuracy']:.3f} / {r['psnr_db']:.2f}" if r else "-")
        lines.append(f"{s:>7g}  " + "  ".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)


def compare(runs: list[Run], out: str | Path, labels: list[str] | None = None, title: str = "") -> str:
    """Plot the runs to ``out`` and return the table; ``labels`` (one per run) replace theirs."""
    from .plots import plot_curves

    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"--labels: {len(labels)} given for {len(runs)} runs")
    labels = labels or unique_labels(runs)
    cleans = {run.clean_accuracy for run in runs}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plot_curves([(label, sorted(run.rows, key=lambda r: r["snr_db"])) for label, run in zip(labels, runs)], out,
                title, cleans.pop() if len(cleans) == 1 else None)
    return table(runs, labels)
