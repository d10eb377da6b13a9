#!/usr/bin/env python3
"""Benchmark memory against run length: peak resident memory of loopbacks and replays by images.

Each loopback (``--link sim``, the AWGN channel at ``--snr``, no defense, one SNR point) runs in
its own process, ``python -m semcom_phy loopback --num-images N``, for each N of ``--sizes``; the
child's peak resident set size comes from the kernel (``wait4``'s ``ru_maxrss``), its CPU time
gives images per CPU-second. With ``--replay-sizes`` a run of each size is also recorded (SigMF,
TX and RX, 8 bytes per sample each: about 0.3 MB per image, the space checked first with the
recording-size estimate of ``semcom_phy.experiments.sizes``) and replayed in another process, whose
peak RSS is measured the same way. A run goes through the link ``--chunk-images`` at a time, so
its peak should not grow with N: the result reports each size's peak as a ratio to the smallest
size's, measured in the same run. Writes one JSON document::

    {"code": ..., "config": {...}, "results": [{"command": "loopback"|"replay", "num_images",
     "peak_rss_mb", "ratio_to_smallest", "cpu_s", "images_per_cpu_s", "wall_s"}, ...]}

The default sizes (10^3, 10^4, 10^5) take about 5 minutes on 2 cores; ``--quick``: 10^3 and 10^4,
replays of 10^3 and 4 x 10^3.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from semcom_phy.experiments.config import MAX_IMAGES, LoopbackConfig
from semcom_phy.experiments.sizes import recording_bytes
from semcom_phy.io import write_json
from semcom_phy.validation import arg_type
from semcom_phy.version import code_version



def run_child(args: list[str]) -> dict:
    """``python -m semcom_phy ARGS`` in a child process: {peak_rss_mb, cpu_s, wall_s} (kernel figures)."""
    t0 = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "semcom_phy", *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env={**os.environ, "SEMCOM_PROGRESS": "off"})
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)             # this child's own rusage
    wall = time.monotonic() - t0
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise SystemExit(f"python -m semcom_phy {' '.join(args)} failed ({code}):\n{stderr.decode()[-2000:]}")
    return {"peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "wall_s": round(wall, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = arg_type(int, 1, MAX_IMAGES)
    ap.add_argument("--sizes", type=size, nargs="+", default=None,
                    help=f"loopback images, 1..{MAX_IMAGES} each (default 1000 10000 100000)")
    ap.add_argument("--replay-sizes", type=size, nargs="*", default=None,
                    help="images of the recorded runs to replay (default 1000 10000; none: no replays)")
    ap.add_argument("--chunk-images", type=arg_type(int, 1, 0xFFFF), default=512,
                    help="images through the link at a time (default 512, the loopback's)")
    ap.add_argument("--snr", type=arg_type(float, -30.0, 100.0), default=10.0, help="AWGN SNR, dB (default 10)")
    ap.add_argument("--quick", action="store_true", help="sizes 1000 10000, replays of 1000 and 4000")
    ap.add_argument("--json", type=Path, default=Path("results/bench_memory.json"))
    args = ap.parse_args(argv)
    sizes = args.sizes or ([1000, 10_000] if args.quick else [1000, 10_000, 100_000])
    replays = args.replay_sizes if args.replay_sizes is not None else ([1000, 4000] if args.quick else [1000, 10_000])
    with tempfile.TemporaryDirectory(prefix="bench_memory_") as tmp:
        need = max((recording_bytes(LoopbackConfig(num_images=n, snr_db=(args.snr,), chunk_images=args.chunk_images))
                    for n in replays), default=0)     # one recording at a time: each is deleted after its replay
        free = shutil.disk_usage(tmp).free
        if need > free:
            ap.error(f"--replay-sizes {' '.join(map(str, replays))}: the recordings need about {need / 1e9:.1f} GB "
                     f"in {tmp}, {free / 1e9:.1f} GB free")
        common = ["--snr", str(args.snr), "--chunk-images", str(args.chunk_images), "--device", "cpu", "--no-plot"]
        rows = []
        for n in sizes:
            out = Path(tmp) / f"lb{n}"
            rows.append({"command": "loopback", "num_images": n,
                         **run_child(["loopback", "--num-images", str(n), "--out", str(out), *common])})
            print(json.dumps(rows[-1]), flush=True)
        for n in replays:
            rec = Path(tmp) / f"rec{n}"
            run_child(["loopback", "--num-images", str(n), "--out", str(Path(tmp) / f"r{n}"), "--record", str(rec),
                       *common])
            rows.append({"command": "replay", "num_images": n, **run_child(["replay", str(rec)])})
            print(json.dumps(rows[-1]), flush=True)
            for p in rec.iterdir():                              # the disk back before the next size
                p.unlink()
    for command in ("loopback", "replay"):
        mine = [r for r in rows if r["command"] == command]
        for r in mine:
            r["ratio_to_smallest"] = round(r["peak_rss_mb"] / min(mine, key=lambda r: r["num_images"])["peak_rss_mb"], 3)
            r["images_per_cpu_s"] = round(r["num_images"] / r["cpu_s"], 1) if r["cpu_s"] else None
    doc = {"code": code_version(), "config": {"sizes": sizes, "replay_sizes": replays, "chunk_images": args.chunk_images,
                                              "snr_db": args.snr, "link": "sim", "channel": "awgn", "defense": "none"},
           "results": rows}
    write_json(args.json, doc)
    for r in rows:
        print(f"{r['command']:>8} {r['num_images']:>7} images: peak RSS {r['peak_rss_mb']:7.1f} MB "
              f"({r['ratio_to_smallest']:.2f}x the smallest), {r['images_per_cpu_s']} images per CPU-s")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
