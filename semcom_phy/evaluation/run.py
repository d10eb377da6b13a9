"""The evaluation driver: every cell of a config, keyed by what produced it, resumable.

A cell's row is keyed by a hash of everything that produced it (:func:`cell_spec`): the channel,
the SNR, the defense entry and the attack entry in full (steps, eot, budgets, restrictions...),
the budget, ``num_images``, the seeds, ``worst_of_n``, the batch size, the training images of
the universal attack, the SHA-256 of every model the cell runs (the link's codec, the defense's
codec and denoiser) and the evaluation code's version. A changed parameter reruns exactly the
cells it touches; rows of other configs stay in ``results.jsonl`` but never reach the report,
which is built from the current config's rows only and says how many others it left out.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..io import atomic_write
from .config import Config, label

CELL_VERSION = 1
"""Bump when a cell's computation changes: every row is then computed again."""


@dataclass
class EvaluationResult:
    """rows : the current config's rows (one per cell, in config order); checks : the sanity
    checks (``{name: {"ok": bool, "detail": str[, "skipped": True]}}``; skipped: the config has no
    cell the check applies to); ran : cells computed in this call;
    other_rows : rows of ``results.jsonl`` that belong to other configs (kept, not reported);
    torn_lines : unreadable lines of ``results.jsonl`` that were dropped (an interrupted write)."""

    rows: list[dict]
    checks: dict
    ran: int = 0
    other_rows: int = 0
    torn_lines: int = 0
    out: Path | None = None
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every sanity check passed."""
        return not self.failed


def cell_spec(cfg: Config, channel: str, snr: float, defense: dict, attack: dict, budget, weights: dict) -> dict:
    """Everything that produces one cell's row (the key is its hash). The attack entry's lists of
    where it runs (``budgets``, ``channels``, ``snr_db``, ``defenses``) are not part of it: the
    cell's own budget, channel, SNR and defense are; adding a budget adds a cell and leaves the
    others as they are."""
    where = ("budgets", "channels", "snr_db", "defenses", "seeds")
    attack = {k: v for k, v in attack.items() if k not in where}
    return {"channel": channel, "snr_db": snr, "defense": defense, "attack": attack, "budget": budget,
            "num_images": cfg.num_images, "seeds": list(attack.get("seeds", cfg.seeds)), "worst_of_n": cfg.worst_of_n,
            "batch_size": cfg.batch_size,
            "universal_train_images": cfg.universal_train_images if attack["attack"] == "universal" else None,
            "weights": weights, "cell_version": CELL_VERSION}


def cell_key(spec: dict) -> str:
    """The first 20 hex digits of SHA-256 over the spec's canonical JSON."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:20]


def read_rows(path: Path) -> tuple[dict[str, dict], int]:
    """(rows by key, unreadable lines) of a ``results.jsonl``; the last row of a key wins."""
    done, torn = {}, 0
    if path.exists():
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                done[row["key"]] = row
            except (json.JSONDecodeError, KeyError, TypeError):
                torn += 1
    return done, torn


def evaluate(cfg: Config, out: str | Path, device, data_dir=None, plot: bool = True, log=print,
             ray: str | None = None) -> EvaluationResult:
    """Run every cell of ``cfg`` not already in ``<out>/results.jsonl``, then write ``report.md``
    (the sanity checks first) and the plots from the current config's rows. ``ray``: ``"auto"``
    (a local Ray instance on all cores) or a cluster's address: the cells run there
    (:mod:`.distributed`), their rows stream back into the same file; None: in this process."""
    from ..progress import progress
    from ..version import code_version
    from .report import plots, sanity, write_report
    from .runner import Runner, aggregate, cells

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runner = Runner(cfg, device, data_dir)
    codec = runner.codec.sha256
    weights = {d["label"]: {"link_codec": codec, **getattr(runner.defenses[d["label"]], "weights", {})}
               for d in cfg.defenses}                          # the digital baseline runs no model of its own
    jsonl = out / "results.jsonl"
    done, torn = read_rows(jsonl)
    if torn:
        log(f"note: {torn} unreadable line(s) of {jsonl} dropped (an interrupted write); their cells run again")
        atomic_write(jsonl, "".join(json.dumps(r) + "\n" for r in done.values()))
    plan = [(c, cell_key(cell_spec(cfg, c[0], c[1], c[2], c[3], c[4], weights[c[2]["label"]]))) for c in cells(cfg)]
    todo = [(c, k) for c, k in plan if k not in done]
    log(f"{len(plan) - len(todo)} cells done before, {len(todo)} to run")
    code = code_version()
    bar = progress(total=len(todo), desc=f"evaluate {cfg.name}", unit="cell")

    def finish(item, per_seed: list[dict], seconds: float) -> None:
        """One cell's row, appended as soon as it is done: an interrupted run resumes."""
        (channel, snr, d, a, budget), key = item
        row = {"key": key, "channel": channel, "snr_db": snr, "defense": d["label"],
               "defense_config": {k: v for k, v in d.items() if k != "label"}, "attack": label(a), "kind": a["attack"],
               "budget": budget, "attack_config": a, "seeds": a.get("seeds", cfg.seeds),
               "num_images": (n := min(cfg.num_images, a.get("num_images", cfg.num_images))),
               **aggregate(per_seed, n), "elapsed_s": round(seconds, 2), "weights": weights[d["label"]], "code": code}
        done[key] = row
        with open(jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")
        bar.update(1)

    if ray and todo:
        from ..semantic.paths import WEIGHTS_DIR
        from .distributed import run_cells
        run_cells(cfg, todo, ray, getattr(device, "type", str(device)), data_dir, WEIGHTS_DIR, finish, log)
    else:
        for item in todo:
            (channel, snr, d, a, budget), _ = item
            c0 = time.time()
            finish(item, runner.seeds(channel, snr, d["label"], a, budget), time.time() - c0)
    bar.close()
    wanted = [k for _, k in plan]
    rows = [done[k] for k in wanted]
    checks = sanity(rows, cfg)
    failed = [name for name, c in checks.items() if not c["ok"]]
    result = EvaluationResult(rows, checks, len(todo), len(set(done) - set(wanted)), torn, out, failed)
    write_report(out, cfg, rows, checks, other_rows=result.other_rows)
    if plot:
        plots(out, cfg, rows)
    return result
