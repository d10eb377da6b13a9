#!/usr/bin/env python3
"""Benchmark the diffusion defenses: cost (images/s, ms/image, peak memory) against quality.

For each defense and number of denoiser evaluations (NFE), Fashion-MNIST test images go through
the defense's sender side, the symbol channel the equaliser leaves (AWGN at ``--snr``, the noise
model the decoder is trained on; the OFDM PHY is benchmarked by ``bench_phy.py``) and the
receiver side: purification, decoding and classification. Writes one JSON document::

    {"device": ..., "torch": ..., "config": {...},
     "results": [{defense, nfe, votes, snr_db, num_images, accuracy, psnr_db,
                  images_per_s, ms_per_image, peak_mem_mb}, ...]}

Timing covers sender + channel + receiver, batched (``--batch-size``), best of ``--repeats``
after a warm-up. ``peak_mem_mb``: the CUDA allocator's peak for the row on a GPU; on the CPU the
process's peak resident set size so far (a bound, not a per-row figure). ``--quick``: 10 dB,
256 images, NFE 1 and 4 (under 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from semcom_phy.progress import progress
from semcom_phy.purify.config import DefenseConfig
from semcom_phy.validation import arg_type
from semcom_phy.version import code_version


def run(defense, x, snr, batch, gen):
    import torch

    from semcom_phy.semantic import symbol_channel

    xs, logits = [], []
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        z_hat, no = symbol_channel(defense.encode(xb, gen), torch.full((len(xb),), snr, device=x.device),
                                   torch.zeros(len(xb), dtype=torch.bool, device=x.device), gen)
        a, b = defense.decode(z_hat, no, gen)
        xs.append(a)
        logits.append(b)
    return torch.cat(xs), torch.cat(logits)


def peak_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 dB, 256 images, NFE 1 and 4")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--json", type=Path, default=Path("results/bench_purify.json"))
    ap.add_argument("--snr", type=float, default=10.0, help="channel SNR, dB (default 10)")
    ap.add_argument("--num-images", type=arg_type(int, 1, 10_000), default=None,
                    help="test images, 1..10000 (default 1024, quick 256)")
    ap.add_argument("--nfe", type=arg_type(int, 1, 100), nargs="+", default=None,
                    help="NFE values, 1..100 (default 1 2 4 8, quick 1 4)")
    ap.add_argument("--votes", type=arg_type(int, 1, 64), default=1, help="purifications per image (stochastic when > 1)")
    ap.add_argument("--batch-size", type=arg_type(int, 1, 65_536), default=256)
    ap.add_argument("--repeats", type=arg_type(int, 1, 100), default=None, help="timed runs per row, best kept (default 3, quick 1)")
    ap.add_argument("--bf16", action="store_true", help="run the denoisers under bf16 autocast")
    ap.add_argument("--threads", type=arg_type(int, 0, 1024), default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    n = args.num_images if args.num_images is not None else (256 if args.quick else 1024)
    nfes = args.nfe if args.nfe is not None else ([1, 4] if args.quick else [1, 2, 4, 8])
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    import torch                                           # after the options: --help needs no torch

    from semcom_phy.data import DatasetError, load_split, to_tensor
    from semcom_phy.metrics import accuracy, psnr_db
    from semcom_phy.purify import load_defense
    from semcom_phy.semantic import WeightsError, load_codec, pick_device

    try:
        device = pick_device(args.device, args.threads)
        configs = [DefenseConfig("none")] + [
            DefenseConfig(d, nfe=k, stochastic=args.votes > 1, votes=args.votes, bf16=args.bf16)
            for d in ("receiver", "latent", "image") for k in nfes]
    except ValueError as err:
        ap.error(str(err))
    try:
        codec = load_codec(device=device)
        test = load_split("test")
    except (DatasetError, WeightsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    x = to_tensor(test.images[:n]).to(device)
    y = torch.from_numpy(test.labels[:n].astype("int64")).to(device)

    rows = []
    with torch.no_grad():
        for cfg in progress(configs, desc="bench_purify", unit="row"):
            defense = load_defense(cfg, codec, device)
            run(defense, x[:min(n, args.batch_size)], args.snr, args.batch_size, torch.Generator(device).manual_seed(0))
            if device.type == "cuda":
                torch.cuda.synchronize(device)
                torch.cuda.reset_peak_memory_stats(device)
            best = float("inf")
            for _ in range(repeats):
                gen = torch.Generator(device).manual_seed(args.seed)
                t0 = time.perf_counter()
                x_hat, logits = run(defense, x, args.snr, args.batch_size, gen)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                best = min(best, time.perf_counter() - t0)
            rows.append({"defense": cfg.defense, "nfe": cfg.evaluations_per_image // cfg.votes, "votes": cfg.votes,
                         "snr_db": args.snr, "num_images": n, "accuracy": accuracy(logits, y),
                         "psnr_db": float(psnr_db(x_hat.float(), x).mean()), "images_per_s": n / best,
                         "ms_per_image": 1e3 * best / n, "peak_mem_mb": peak_mb(device)})

    doc = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
           "torch": torch.__version__, "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
           "results": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({**doc, "code": code_version()}, indent=1))
    print(f"{'defense':>9} {'NFE':>4} {'accuracy':>9} {'PSNR dB':>8} {'img/s':>9} {'ms/img':>8} {'peak MB':>8}")
    for r in rows:
        print(f"{r['defense']:>9} {r['nfe']:>4} {r['accuracy']:>9.3f} {r['psnr_db']:>8.2f} {r['images_per_s']:>9.1f} "
              f"{r['ms_per_image']:>8.3f} {r['peak_mem_mb']:>8.0f}")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
