"""The certification driver: every row of a config (:mod:`.cells`: T2 on the received symbols,
T1 over the sender's image diffusion, and the empirical attacks at the same budgets) computed in
this process or on Ray, appended to ``<out>/results.jsonl`` as each finishes (keyed like the
evaluation's by a hash of everything that produced it, so a rerun computes only what changed),
then the plots (:mod:`.report`).

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
The image-side certificate (T1, :mod:`.image`) is over the sender's diffusion noise instead, and
each of its draws is a transmission.

Rows (one JSON object a line):

* ``kind: certify``: ``clean_accuracy`` and ``abstain_rate`` of PREDICT (``n_predict`` draws),
  ``certify_abstain_rate``, ``certified_accuracy`` ``[[psr_db, accuracy], ...]`` (correct and
  certified with radius above the PSR's norm), ``radius_cap`` / ``radius_cap_psr_db`` (the
  largest radius ``n`` draws can certify), the per-image ``label``, ``prediction``, ``radius``,
  ``radius_psr_db``, ``predict``;
* ``kind: smoothed_air``: the smoothed receiver's PREDICT under ``pgd_air`` crafted against it,
  ``accuracy`` (abstentions wrong), ``abstain_rate``, per-image ``predict``;
* ``kind: air``: the undefended link's accuracy under :func:`~semcom_phy.attacks.pgd_air` at a
  PSR (white box on the plain link, fresh channel noise every pass: the evaluation's ``air``
  attack on its ``none`` defense), with its ``clean_accuracy``;
* ``kind: t1``: as ``certify`` over the image (``certified_accuracy`` ``[[l2, accuracy], ...]``),
  with ``sigma_image`` and the air time of an image's ``n0 + n`` transmissions;
* ``kind: t1_attack`` / ``image_pgd``: the T1-smoothed receiver under ``pgd`` L2 crafted through
  its diffusing sender, and the undefended link under ``pgd`` L2.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..io import atomic_write
from .cells import cell_cost, cell_spec, cells, compute_cell, runner_config, weights_label
from .config import CertifyConfig

__all__ = ["CertifyResult", "certify_run", "runner_config"]


@dataclass
class CertifyResult:
    """rows : the current config's rows (in :func:`~.cells.cells` order); ran : rows computed in
    this call; out : the results folder; other_rows : rows of the folder's file from other configs;
    torn_lines : unreadable lines dropped (an interrupted write)."""

    rows: list[dict]
    ran: int = 0
    out: Path | None = None
    other_rows: int = 0
    torn_lines: int = field(default=0)


def certify_run(cfg: CertifyConfig, out: str | Path, device, data_dir=None, plot_it: bool = True,
                log=print, ray: str | None = None) -> CertifyResult:
    """Compute every row of ``cfg`` not already in ``<out>/results.jsonl`` (appended as each
    finishes: an interrupted run resumes), write ``<out>/config.yaml`` (the resolved config and the
    code version), then plot ``<out>/certified.png`` (and ``certified_t1.png`` with T1 rows). ``ray``: ``"auto"`` (a local Ray instance
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
    weights = {r: {"link_codec": runner.codec.sha256, **d.weights} for r, d in runner.defenses.items()}
    jsonl = out / "results.jsonl"
    done, torn = read_rows(jsonl)
    if torn:
        log(f"note: {torn} unreadable line(s) of {jsonl} dropped (an interrupted write); their rows run again")
        atomic_write(jsonl, "".join(json.dumps(r) + "\n" for r in done.values()))
    plan = [(c, cell_key(cell_spec(cfg, c, weights[weights_label(c)]))) for c in cells(cfg)]
    todo = [(c, k) for c, k in plan if k not in done]
    log(f"{len(plan) - len(todo)} rows done before, {len(todo)} to run")
    bar = progress(total=len(todo) * cfg.num_images, desc=f"certify {cfg.name}", unit="image")

    def finish(item, fields: dict, seconds: float) -> None:
        """One row, appended as soon as it is done: an interrupted run resumes."""
        cell, key = item
        row = {"key": key, **fields, "elapsed_s": round(seconds, 2),
               "weights": weights[weights_label(cell)], "code": code}
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
        from .report import plot

        plot(result.rows, out)
    return result
