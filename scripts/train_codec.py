#!/usr/bin/env python3
"""Train the semantic codec (JSCC encoder/decoder + classifier) on Fashion-MNIST.

Stage 1 trains the classifier on clean images. Stage 2 trains encoder, decoder and classifier
together with the channel in the loop: every image gets an SNR drawn uniformly from
[--snr-min, --snr-max] dB and, with probability --fading-prob, Rayleigh fading per symbol, as the
receiver's ZF equaliser leaves it (``semcom_phy.semantic.symbol_channel``), so one model serves
every SNR. The loss is ``MSE(x_hat, x) + cls_weight * CE(classify(x_hat))``. Stage 3 fine-tunes
the classifier on clean and reconstructed images together, so it serves both.

Writes ``<out>/codec.pt`` and the manifest ``<out>/codec.json`` (SHA-256, config, command, data
checksums, final test metrics). Reproducible: every random draw comes from generators seeded by
--seed (global torch RNG state is forked and restored). Uses CUDA when available.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from semcom_phy.progress import progress
from semcom_phy.semantic.paths import add_training_options


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--num-symbols", type=int, default=128, help="complex symbols per image, k (default 128: k/n = 0.163)")
    ap.add_argument("--channels", type=int, default=48, help="convolution width (default 48)")
    ap.add_argument("--epochs-classifier", type=int, default=3, help="stage 1 epochs (default 3)")
    ap.add_argument("--epochs", type=int, default=16, help="stage 2 epochs (default 16)")
    ap.add_argument("--epochs-finetune", type=int, default=2, help="stage 3 epochs (default 2)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--snr-min", type=float, default=0.0, help="training SNR range, dB")
    ap.add_argument("--snr-max", type=float, default=22.0)
    ap.add_argument("--fading-prob", type=float, default=0.3, help="share of images with Rayleigh fading")
    ap.add_argument("--cls-weight", type=float, default=0.0,
                    help="weight of a classification loss on x_hat in stage 2 (default 0: the classifier costs a "
                         "third of the step time; stage 3 adapts it to reconstructions instead)")
    add_training_options(ap)
    ap.add_argument("--init", type=Path, default=None,
                    help="start from this codec manifest (fine-tuning; its config wins over --num-symbols/--channels)")
    args = ap.parse_args(argv)
    if args.epochs < 0 or args.epochs_classifier < 0 or args.batch_size < 1:
        ap.error("epochs must be >= 0 and --batch-size >= 1")
    if not args.snr_min <= args.snr_max:
        ap.error("--snr-min must not exceed --snr-max")
    import torch                                           # after the options: --help needs no torch
    import torch.nn.functional as F

    from semcom_phy.data import data_manifest, minibatches, training_tensors
    from semcom_phy.semantic import CodecConfig, SemanticCodec, channel_metrics, save_weights, symbol_channel
    from semcom_phy.semantic.weights import codec_summary, load_state, run_record, training_device

    device = training_device(ap, args)
    t0 = time.time()

    x_train, y_train, x_test, y_test = training_tensors(args.data_dir, device, args.limit)
    init = None
    if args.init:
        init, state = load_state(args.init, map_location=device)
        cfg = CodecConfig(**init["config"])
    else:
        cfg = CodecConfig(num_symbols=args.num_symbols, channels=args.channels)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    shuffle = torch.Generator().manual_seed(args.seed + 1)

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(args.seed)                       # weight init and dropout, restored after
        codec = SemanticCodec(cfg).to(device)
        if init is not None:
            codec.load_state_dict(state)
        n = len(x_train)
        steps = math.ceil(n / args.batch_size)

        # stage 1: the classifier on clean images
        opt = torch.optim.Adam(codec.classifier.parameters(), lr=args.lr)
        for epoch in range(args.epochs_classifier):
            bar = progress(minibatches(n, args.batch_size, shuffle), total=steps, desc=f"classifier {epoch + 1}/{args.epochs_classifier}")
            for idx in bar:
                loss = F.cross_entropy(codec.classify(x_train[idx]), y_train[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                bar.set_postfix(loss=f"{loss.item():.3f}")

        # stage 2: codec and classifier with the channel in the loop
        opt = torch.optim.Adam(codec.parameters(), lr=args.lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=max(1, args.epochs * steps))
        for epoch in range(args.epochs):
            bar = progress(minibatches(n, args.batch_size, shuffle), total=steps, desc=f"codec {epoch + 1}/{args.epochs}")
            for idx in bar:
                x, y = x_train[idx], y_train[idx]
                b = len(idx)
                snr = args.snr_min + (args.snr_max - args.snr_min) * torch.rand(b, generator=gen, device=device)
                fading = torch.rand(b, generator=gen, device=device) < args.fading_prob
                z_hat, no = symbol_channel(codec.encode(x), snr, fading, gen)
                x_hat = codec.decode(z_hat, no)
                mse = F.mse_loss(x_hat, x)
                loss = mse
                if args.cls_weight:
                    loss = loss + args.cls_weight * F.cross_entropy(codec.classify(x_hat), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                bar.set_postfix(psnr=f"{-10 * math.log10(mse.item()):.1f}", loss=f"{loss.item():.3f}")

        # stage 3: the classifier on clean and reconstructed images alike (codec frozen)
        opt = torch.optim.Adam(codec.classifier.parameters(), lr=args.lr / 4)
        for epoch in range(args.epochs_finetune):
            bar = progress(minibatches(n, args.batch_size, shuffle), total=steps, desc=f"classifier fine-tune {epoch + 1}/{args.epochs_finetune}")
            for idx in bar:
                x, y = x_train[idx], y_train[idx]
                with torch.no_grad():
                    snr = args.snr_min + (args.snr_max - args.snr_min) * torch.rand(len(idx), generator=gen, device=device)
                    fading = torch.rand(len(idx), generator=gen, device=device) < args.fading_prob
                    x_hat = codec.decode(*symbol_channel(codec.encode(x), snr, fading, gen))
                loss = F.cross_entropy(codec.classify(torch.cat([x, x_hat])), torch.cat([y, y]))
                opt.zero_grad()
                loss.backward()
                opt.step()
                bar.set_postfix(loss=f"{loss.item():.3f}")

        metrics = channel_metrics(codec, x_test, y_test, torch.Generator(device=device).manual_seed(12345))

    manifest = {
        "model": "SemanticCodec (semcom_phy.semantic.codec)",
        "config": {"num_symbols": cfg.num_symbols, "channels": cfg.channels},
        "bandwidth_ratio": cfg.bandwidth_ratio,
        "parameters": sum(p.numel() for p in codec.parameters()),
        "data": data_manifest(args.data_dir, len(x_train), len(x_test)),
        "metrics_test_set_symbol_channel": metrics,
        "initialised_from": None if init is None else {"sha256": init["sha256"], "command": init["command"],
                                                        "initialised_from": init.get("initialised_from")},
        **run_record("scripts/train_codec.py", args, argv, device, t0),
    }
    path = save_weights(codec, args.out, "codec", manifest)
    print(codec_summary(metrics))
    print(f"wrote {path} ({manifest['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
