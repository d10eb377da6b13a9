#!/usr/bin/env python3
"""Benchmark the evaluation's scale-out: the same cells in this process and on Ray, wall time and
rows side by side.

The cells: the quick config's costly ones by default (the purifying defenses under the adaptive
attacks: PGD with EOT, BPDA, adaptive air, universal), or every cell with ``--all``. Each run
starts from an empty results folder. Writes one JSON document::

    {"config": {...}, "in_process_torch_threads": T, "cells": N, "in_process_s": ..., "ray_s": ..., "ray_startup_s": ...,
     "ratio": in_process_s / ray_s, "max_abs_diff": ..., "rows_equal": bool, "ray": {...}, "code": {...}}

``ray_s`` is the wall time of the cells once the Ray instance runs (the workers' start, model
loading and every cell included); ``ray_startup_s`` is ``ray.init`` alone. ``max_abs_diff``: the
largest difference of any mean between the two runs' rows (same seeds, same draws: 0 expected,
float rounding at most).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from semcom_phy.validation import arg_type

COSTLY_DEFENSES = ("receiver", "latent", "image")
COSTLY_ATTACKS = ("pgd_adaptive", "pgd_bpda", "air_adaptive", "universal")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="quick", help="a shipped config or a YAML file (default quick)")
    ap.add_argument("--all", action="store_true", help="every cell of the config, not only the costly ones")
    ap.add_argument("--ray", default="auto", metavar="auto|ADDRESS", help="where the Ray run goes (default auto)")
    ap.add_argument("--threads", type=arg_type(int, 0, 1024), default=0,
                    help="torch threads of the in-process run (default 0: torch's own, all cores; Ray workers use 1 each)")
    ap.add_argument("--num-images", type=arg_type(int, 1, 10_000), default=None,
                    help="images per cell, 1..10000 (default: the config's)")
    ap.add_argument("--json", type=Path, default=Path("results/bench_evaluate.json"),
                    help="the JSON document (default results/bench_evaluate.json)")
    args = ap.parse_args(argv)
    import ray
    import torch

    from semcom_phy.evaluation.config import Config
    from semcom_phy.evaluation.run import evaluate
    from semcom_phy.resources import config_path
    from semcom_phy.version import code_version

    cfg = Config.load(config_path(args.config))
    if args.num_images:
        cfg.num_images = args.num_images
        cfg.check()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    if not args.all:
        cfg.defenses = [d for d in cfg.defenses if d["defense"] in COSTLY_DEFENSES]
        cfg.attacks = [a for a in cfg.attacks if a["attack"] in COSTLY_ATTACKS and not a.get("defenses")]
    quiet = lambda *_: None                                     # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        local = evaluate(cfg, Path(tmp) / "local", "cpu", plot=False, log=quiet)
        in_process = time.perf_counter() - t0
        t0 = time.perf_counter()
        ray.init(address=None if args.ray == "auto" else args.ray, include_dashboard=False, log_to_driver=False)
        startup = time.perf_counter() - t0
        try:
            resources = ray.cluster_resources()
            t0 = time.perf_counter()
            remote = evaluate(cfg, Path(tmp) / "ray", "cpu", plot=False, log=quiet, ray=args.ray)
            on_ray = time.perf_counter() - t0
        finally:
            ray.shutdown()
    diff = max((abs(a[k] - b[k]) for a, b in zip(local.rows, remote.rows) for k in a
                if k.endswith("_mean") and not k.startswith("ms_")), default=0.0)
    doc = {"config": {"name": cfg.name, "defenses": [d["label"] for d in cfg.defenses],
                      "attacks": [a.get("label", a["attack"]) for a in cfg.attacks], "num_images": cfg.num_images},
           "in_process_torch_threads": threads,
           "cells": len(local.rows), "in_process_s": round(in_process, 2), "ray_s": round(on_ray, 2),
           "ray_startup_s": round(startup, 2), "ratio": round(in_process / on_ray, 3), "max_abs_diff": diff,
           "rows_equal": [r["key"] for r in local.rows] == [r["key"] for r in remote.rows] and diff < 1e-6,
           "ray": {"cpus": resources.get("CPU"), "gpus": resources.get("GPU", 0.0)}, "code": code_version()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
