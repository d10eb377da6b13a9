#!/usr/bin/env python3
"""The project's GPU check (``make gpu-check``): a short, prepared run on a CUDA machine.

Three steps, each timed, their results in one JSON document (``results/gpu_check.json``):

1. ``bench_purify --quick --device cuda --bf16``: every defense's cost and quality on the GPU;
2. one EOT-100 cell of the image defense (adaptive PGD, L-inf 0.1, 20 steps, 64 images, AWGN 10 dB);
3. the quick evaluation on CUDA (``evaluate.py --config quick --device cuda``) with its sanity checks.

Without a CUDA device it stops at once with exit status 2 and says so (it never falls back to the
CPU: the numbers would not be the GPU's).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, default=Path("results/gpu_check.json"),
                    help="the JSON document (default results/gpu_check.json)")
    args = ap.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("error: no CUDA device (torch.cuda.is_available() is False): run make gpu-check on a machine with an "
              "NVIDIA GPU and a CUDA build of torch", file=sys.stderr)
        return 2
    from semcom_phy.evaluation.config import Config
    from semcom_phy.evaluation.run import evaluate
    from semcom_phy.version import code_version

    doc = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "code": code_version()}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        bench = Path(tmp) / "bench_purify.json"
        res = subprocess.run([sys.executable, str(ROOT / "bench_purify.py"), "--quick", "--device", "cuda", "--bf16",
                              "--json", str(bench)], capture_output=True, text=True)
        doc["bench_purify"] = {"rc": res.returncode, "seconds": round(time.perf_counter() - t0, 1),
                               "results": json.loads(bench.read_text())["results"] if bench.exists() else None,
                               "stderr_tail": res.stderr[-2000:] if res.returncode else ""}
        cell = Config(name="gpu-eot100", num_images=64, worst_of_n=2,
                      defenses=[{"label": "image", "defense": "image", "sender_step": 60, "stochastic": True}],
                      attacks=[{"attack": "pgd_adaptive", "budgets": [0.1], "steps": 20, "eot": 100}])
        cell.check()
        t0 = time.perf_counter()
        result = evaluate(cell, Path(tmp) / "eot", torch.device("cuda"), plot=False, log=lambda *_: None)
        doc["image_eot100"] = {"seconds": round(time.perf_counter() - t0, 1), "row": result.rows[0]}
        t0 = time.perf_counter()
        quick = Config.load(ROOT.parent / "semcom_phy" / "configs" / "quick.yaml")
        result = evaluate(quick, Path(tmp) / "quick", torch.device("cuda"), plot=False, log=lambda *_: None)
        doc["quick"] = {"seconds": round(time.perf_counter() - t0, 1), "checks": result.checks, "ok": result.ok,
                        "cells": len(result.rows)}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: v for k, v in doc.items() if k != "bench_purify"}, indent=1, default=str)[:4000])
    ok = doc["bench_purify"]["rc"] == 0 and doc["quick"]["ok"]
    print(f"wrote {args.json}: {'all steps ran' if ok else 'a step failed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
