#!/usr/bin/env python3
"""Adversarial training, the classic defense the diffusion purification is compared with.

Starts from the shipped codec (``--init``) and fine-tunes encoder, decoder and classifier together
on adversarial examples crafted at every step through the differentiable link
(``semcom_phy.SymbolLink``, undefended; Madry et al., "Towards deep learning models
resistant to adversarial attacks", ICLR 2018). Batches alternate between the two threats the
evaluation uses:

* T1: PGD L-inf ``--eps`` on the source image (``--pgd-steps`` steps, random start);
* T2: per-example PGD on the transmitted symbols at ``--psr-db`` (``semcom_phy.attacks.pgd_air``).

Each batch draws one SNR uniformly from [--snr-min, --snr-max] dB and Rayleigh fading with
probability --fading-prob. The loss is ``CE(classify(x_hat_adv), y) + mse_weight * MSE(x_hat_adv,
x_sent)`` (x_sent: the image the encoder saw, so the codec keeps reconstructing what it is given).
Perturbations are crafted with the models in eval mode, the update runs in train mode.

Writes ``<out>/codec_advtrain.{pt,json}``; ``--defense advtrain`` uses it at both ends of the link.
``--psr-db=-inf`` trains against image attacks only (the T2 batches carry no perturbation, so they
are clean batches) and writes ``codec_advtrain_t1.{pt,json}`` for ``--defense advtrain_t1``, the
codec to pair with keyed scrambling, which answers the air attacks.
Reproducible with --seed; uses CUDA when available.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from semcom_phy.progress import progress
from semcom_phy.semantic.paths import WEIGHTS_DIR, add_training_options


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", type=Path, default=WEIGHTS_DIR / "codec.json", help="codec manifest to start from")
    ap.add_argument("--epochs", type=int, default=3, help="passes over the training images (default 3)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--eps", type=float, default=0.1, help="T1 L-inf budget on [0, 1] images (default 0.1)")
    ap.add_argument("--psr-db", type=float, default=-10.0,
                    help="T2 budget, dB (default -10; -inf: image attacks only, writes codec_advtrain_t1)")
    ap.add_argument("--pgd-steps", type=int, default=5, help="PGD iterations per training batch (default 5)")
    ap.add_argument("--mse-weight", type=float, default=100.0, help="weight of the reconstruction loss (default 100)")
    ap.add_argument("--snr-min", type=float, default=0.0)
    ap.add_argument("--snr-max", type=float, default=22.0)
    ap.add_argument("--fading-prob", type=float, default=0.3)
    add_training_options(ap)
    args = ap.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.pgd_steps < 1:
        ap.error("--epochs, --batch-size and --pgd-steps must be >= 1")
    if not (0 <= args.eps <= 1 and args.snr_min <= args.snr_max and 0 <= args.fading_prob <= 1):
        ap.error("--eps must lie in [0, 1], --snr-min <= --snr-max, --fading-prob in [0, 1]")
    import torch                                           # after the options: --help needs no torch
    import torch.nn.functional as F

    from semcom_phy.attacks import pgd, pgd_air
    from semcom_phy.symbol_link import SymbolLink
    from semcom_phy.data import data_manifest, minibatches, training_tensors
    from semcom_phy.purify import Defense, DefenseConfig
    from semcom_phy.semantic import channel_metrics, load_codec, save_weights
    from semcom_phy.semantic.weights import codec_summary, run_record, training_device

    device = training_device(ap, args)
    image_only = args.psr_db == float("-inf")
    t0 = time.time()

    x_train, y_train, x_test, y_test = training_tensors(args.data_dir, device, args.limit)
    codec = load_codec(args.init, device)
    init_sha = codec.sha256
    defense = Defense(DefenseConfig("none"), codec)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    shuffle = torch.Generator().manual_seed(args.seed + 1)

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(args.seed)                       # dropout, restored after
        opt = torch.optim.Adam(codec.parameters(), lr=args.lr)
        steps = math.ceil(len(x_train) / args.batch_size)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs * steps)
        for epoch in range(args.epochs):
            bar = progress(enumerate(minibatches(len(x_train), args.batch_size, shuffle)), total=steps,
                           desc=f"adversarial training {epoch + 1}/{args.epochs}")
            for i, idx in bar:
                x, y = x_train[idx], y_train[idx]
                snr = args.snr_min + (args.snr_max - args.snr_min) * float(torch.rand(1, generator=gen, device=device))
                fading = bool(torch.rand(1, generator=gen, device=device) < args.fading_prob)
                model = SymbolLink(defense, snr, fading)
                codec.eval()
                x_sent, delta = x, None
                if i % 2 == 0:
                    x_sent = pgd(model, x, y, args.eps, steps=args.pgd_steps, generator=gen)
                else:
                    delta = pgd_air(model, x, y, args.psr_db, steps=args.pgd_steps, generator=gen)
                codec.train()
                x_hat, logits = model(x_sent, delta_air=delta, generator=gen)
                ce, mse = F.cross_entropy(logits, y), F.mse_loss(x_hat, x_sent)
                loss = ce + args.mse_weight * mse
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                bar.set_postfix(ce=f"{ce.item():.3f}", psnr=f"{-10 * math.log10(mse.item()):.1f}")

        metrics = channel_metrics(codec, x_test, y_test, torch.Generator(device=device).manual_seed(12345))

    manifest = {
        "model": "SemanticCodec (semcom_phy.semantic.codec), adversarially trained"
                 + (" against image attacks only" if image_only else ""),
        "config": {"num_symbols": codec.cfg.num_symbols, "channels": codec.cfg.channels},
        "parameters": sum(p.numel() for p in codec.parameters()),
        "data": data_manifest(args.data_dir, len(x_train), len(x_test)),
        "metrics_test_set_symbol_channel": metrics,
        "initialised_from": {"sha256": init_sha, "file": Path(args.init).name},
        **run_record("scripts/train_adversarial.py", args, argv, device, t0),
    }
    path = save_weights(codec, args.out, "codec_advtrain_t1" if image_only else "codec_advtrain", manifest)
    print(codec_summary(metrics))
    print(f"wrote {path} ({manifest['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
