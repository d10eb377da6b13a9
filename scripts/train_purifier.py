#!/usr/bin/env python3
"""Train the purification denoisers (noise predictors) over the steps purification uses.

``latent``: the latent denoiser on the shipped codec's symbols of the training images,
``x_t = sqrt(ab_t) u + sqrt(1 - ab_t) eps`` with t uniform in [0, --t-max] (the default t-max is
the step whose noise matches -6 dB SNR: deeper noise is not purified but left to the decoder).
Afterwards it measures the residual error of purification from every starting step (the decoder
gets it as the purified symbols' ``no_eff``) and compares symbol MSE and PSNR with plain LMMSE.

``image``: the image UNet on training images in [-1, 1], t uniform in [0, --t-max]; then a copy of
the codec is fine-tuned to carry diffused images (sender diffusion at a step uniform in
[0, --sender-step-max], the clean image as target, the channel in the loop): ``codec_image``.
With --classifier-epochs its classifier is then fine-tuned on training images purified from
--image-step (the receiver's DiffPure step, ``DefenseConfig.image_step``), which is what it
classifies at the receiver; the shipped weights have none of that (see the weights README).

Writes ``<out>/<name>.pt`` and the manifest ``<name>.json`` (SHA-256, config, schedule, command,
data checksums, final metrics). Reproducible with --seed; uses CUDA when available.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

from semcom_phy.progress import progress
from semcom_phy.purify.config import DefenseConfig
from semcom_phy.semantic.paths import WEIGHTS_DIR, add_training_options

EVAL_SNRS = (0, 5, 10)


def fit(model, data_fn, n, args, gen, shuffle, desc):
    """Noise-prediction training: loss = MSE(model(x_t, t), eps), t uniform in [0, t_max]."""
    import torch
    import torch.nn.functional as F

    from semcom_phy.data import minibatches

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = math.ceil(n / args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=max(1, args.epochs * steps))
    model.train()
    for epoch in range(args.epochs):
        bar = progress(minibatches(n, args.batch_size, shuffle), total=steps, desc=f"{desc} {epoch + 1}/{args.epochs}")
        for idx in bar:
            x0 = data_fn(idx)
            t = torch.randint(0, args.t_max + 1, (len(idx),), generator=gen, device=x0.device)
            eps = torch.randn(x0.shape, generator=gen, device=x0.device)
            loss = F.mse_loss(model(args.schedule.add_noise(x0, eps, t), t), eps)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.set_postfix(loss=f"{loss.item():.4f}")
    return model.eval()


def residual_table(model, schedule, u, t_max, nfe, gen) -> dict:
    """Mean squared error per entry of purification from x_t back to u, for t on a grid."""
    import torch

    from semcom_phy.purify import reverse

    with torch.no_grad():
        grid = list(range(0, t_max + 1, max(1, t_max // 40)))
        out = {"t": grid, "var": [], "var_stochastic": [], "nfe": nfe}
        for t in grid:
            tt = torch.full((len(u),), t, dtype=torch.long, device=u.device)
            x_t = schedule.add_noise(u, torch.randn(u.shape, generator=gen, device=u.device), tt)
            for key, eta in (("var", 0.0), ("var_stochastic", 1.0)):
                out[key].append(float((reverse(model, schedule, x_t, tt, nfe, eta, gen) - u).pow(2).mean()))
        return out


def evaluate_latent(codec, model, schedule, table, x, y, gen) -> dict:
    """AWGN at EVAL_SNRS: symbol MSE and PSNR/accuracy of no purification (LMMSE symbols for the
    MSE), receiver-only denoising, and sender+receiver at the default sender step."""
    import torch

    from semcom_phy.metrics import accuracy, psnr_db
    from semcom_phy.purify import Defense, purify_latent
    from semcom_phy.semantic import symbol_channel

    with torch.no_grad():
        z = codec.encode(x)
        out = {}
        for snr in EVAL_SNRS:
            row = {}
            for name in ("none", "receiver", "latent"):
                d = Defense(DefenseConfig(defense=name), codec, schedule, model, table)
                z_tx = d.encode(x, gen)
                z_hat, no = symbol_channel(z_tx, torch.full((len(x),), float(snr)), torch.zeros(len(x), dtype=torch.bool),
                                           gen)
                x_hat, logits = d.decode(z_hat, no, gen)
                if name == "none":
                    row["mse_symbols_lmmse"] = float((z_hat / (1 + no) - z).abs().pow(2).mean())
                if name == "receiver":
                    z_pur, _ = purify_latent(model, schedule, z_hat, no, -1, d.cfg.nfe, 0.0, gen)
                    row["mse_symbols_receiver"] = float((z_pur - z).abs().pow(2).mean())
                row[name] = {"accuracy": accuracy(logits, y), "psnr_db": float(psnr_db(x_hat, x).mean())}
            out[f"snr_{snr}"] = row
        return out


def evaluate_image(codec, image_codec, model, schedule, x, y, sender_step, image_step, nfe, gen) -> dict:
    """AWGN at EVAL_SNRS: PSNR/accuracy of the plain link, of the image codec alone (sender
    diffusion at sender_step) and of the image defense (then purification from image_step)."""
    import torch

    from semcom_phy.metrics import accuracy, psnr_db
    from semcom_phy.purify import diffuse_image, purify_image
    from semcom_phy.semantic import symbol_channel

    with torch.no_grad():
        out = {}
        for snr in EVAL_SNRS:
            noisy = torch.full((len(x),), float(snr)), torch.zeros(len(x), dtype=torch.bool)
            x_none = codec.decode(*symbol_channel(codec.encode(x), *noisy, gen))
            x_rx = image_codec.decode(*symbol_channel(image_codec.encode(diffuse_image(x, schedule, sender_step, gen)),
                                                      *noisy, gen))
            x_pur = purify_image(model, schedule, x_rx, image_step, nfe, 0.0, gen)
            out[f"snr_{snr}"] = {
                name: {"accuracy": accuracy(c.classify(img), y), "psnr_db": float(psnr_db(img, x).mean())}
                for name, c, img in (("none", codec, x_none), ("image_codec_only", codec, x_rx),
                                     ("image", image_codec, x_pur))}
        return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("space", choices=["latent", "image"], help="which denoiser to train")
    ap.add_argument("--epochs", type=int, default=None, help="denoiser epochs (default: latent 40, image 6)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--t-max", type=int, default=None,
                    help="largest training step (default: latent, the step of -6 dB SNR; image, 2 x the default sender step)")
    ap.add_argument("--schedule", choices=["linear", "cosine"], default="linear")
    ap.add_argument("--num-train-steps", type=int, default=1000)
    ap.add_argument("--hidden", type=int, default=512, help="latent denoiser width")
    ap.add_argument("--depth", type=int, default=4, help="latent denoiser residual blocks")
    ap.add_argument("--channels", type=int, default=16, help="image UNet base channels")
    ap.add_argument("--codec-epochs", type=int, default=3, help="image: epochs fine-tuning the codec on diffused images")
    ap.add_argument("--image-step", type=int, default=None,
                    help="image: the receiver's purification step t* the metrics (and --classifier-epochs) use "
                         "(default: the default sender step)")
    ap.add_argument("--classifier-epochs", type=int, default=0,
                    help="image: epochs fine-tuning the image codec's classifier on images purified from --image-step "
                         "(default 0)")
    ap.add_argument("--classifier-images", type=int, default=20000,
                    help="image: training images purified for the classifier's fine-tuning")
    ap.add_argument("--sender-step-max", type=int, default=None,
                    help="image: largest sender step the image codec is trained for (default: 2 x the default sender step)")
    ap.add_argument("--codec", type=Path, default=WEIGHTS_DIR / "codec.json", help="the codec manifest")
    add_training_options(ap)
    args = ap.parse_args(argv)
    if args.epochs is None:
        args.epochs = 40 if args.space == "latent" else 6
    if min(args.epochs, args.codec_epochs, args.classifier_epochs) < 0 or args.batch_size < 1 \
            or args.classifier_images < 1:
        ap.error("epochs must be >= 0, --batch-size and --classifier-images >= 1")
    import torch                                           # after the options: --help needs no torch

    from semcom_phy.data import data_manifest, training_tensors
    from semcom_phy.purify import (ImageUNet, ImageUNetConfig, LatentDenoiser, LatentDenoiserConfig, NoiseSchedule,
                                   to_real)
    from semcom_phy.semantic import load_codec, save_weights
    from semcom_phy.semantic.weights import training_device

    device = training_device(ap, args)
    try:
        args.schedule = NoiseSchedule(args.num_train_steps, args.schedule)
    except ValueError as err:
        ap.error(str(err))
    default_step = DefenseConfig().sender_step
    image_step = default_step if args.image_step is None else args.image_step
    if args.t_max is None:
        args.t_max = int(args.schedule.noise_to_step(torch.tensor(10 ** 0.6))[0]) if args.space == "latent" \
            else 2 * default_step
    args.sender_step_max = args.sender_step_max or 2 * default_step
    if not 0 < args.t_max < args.num_train_steps:
        ap.error(f"--t-max {args.t_max}: allowed 1..{args.num_train_steps - 1}")
    if args.space == "image" and not 0 <= image_step <= args.t_max:
        ap.error(f"--image-step {image_step}: allowed 0..{args.t_max} (--t-max)")
    t0 = time.time()

    x_train, y_train, x_test, y_test = training_tensors(args.data_dir, device, args.limit, num_test=2000)
    codec = load_codec(args.codec, device)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    shuffle = torch.Generator().manual_seed(args.seed + 1)
    eval_gen = torch.Generator(device=device).manual_seed(12345)
    n = len(x_train)
    schedule = args.schedule
    common = {"schedule": schedule.to_dict(), "t_max": args.t_max,
              "command": "python scripts/train_purifier.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "training": {k: (v.to_dict() if isinstance(v, NoiseSchedule) else str(v) if isinstance(v, Path) else v)
                           for k, v in vars(args).items() if k != "out"},
              "data": data_manifest(args.data_dir, n, len(x_test)), "torch": torch.__version__, "device": str(device)}

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(args.seed)                       # weight init, restored after
        if args.space == "latent":
            with torch.no_grad():
                u_train = torch.cat([to_real(codec.encode(x_train[i:i + 1000])) for i in range(0, n, 1000)])
                u_test = to_real(codec.encode(x_test))
            cfg = LatentDenoiserConfig(dim=u_train.shape[1], hidden=args.hidden, depth=args.depth,
                                       num_train_steps=args.num_train_steps)
            model = fit(LatentDenoiser(cfg).to(device), lambda idx: u_train[idx], n, args, gen, shuffle, "latent denoiser")
            table = residual_table(model, schedule, u_test, args.t_max, DefenseConfig().nfe, eval_gen)
            metrics = evaluate_latent(codec, model, schedule, table, x_test, y_test, eval_gen)
            manifest = {"model": "LatentDenoiser (semcom_phy.purify.models)", "config": asdict(cfg),
                        "codec_sha256": codec.sha256, "residual_var": table, **common,
                        "metrics_test_set_symbol_channel_awgn": metrics}
            paths = [save_weights(model, args.out, "latent_denoiser", manifest | {"elapsed_s": round(time.time() - t0, 1)})]
        else:
            cfg = ImageUNetConfig(channels=args.channels, num_train_steps=args.num_train_steps)
            model = fit(ImageUNet(cfg).to(device), lambda idx: 2 * x_train[idx] - 1, n, args, gen, shuffle, "image UNet")
            image_codec = train_image_codec(codec, x_train, schedule, args, gen, shuffle)
            if args.classifier_epochs:
                tune_classifier(image_codec, model, schedule, x_train, y_train, image_step, args, gen, shuffle)
            metrics = evaluate_image(codec, image_codec, model, schedule, x_test, y_test, default_step, image_step,
                                     DefenseConfig().nfe, eval_gen)
            elapsed = {"elapsed_s": round(time.time() - t0, 1)}
            paths = [save_weights(model, args.out, "image_denoiser",
                                  {"model": "ImageUNet (semcom_phy.purify.models)", "config": asdict(cfg),
                                   **common, "metrics_test_set_symbol_channel_awgn": metrics} | elapsed),
                     save_weights(image_codec, args.out, "codec_image",
                                  {"model": "SemanticCodec (semcom_phy.semantic.codec), fine-tuned on diffused images"
                                            + (", classifier on purified images" if args.classifier_epochs else ""),
                                   "config": {"num_symbols": codec.cfg.num_symbols, "channels": codec.cfg.channels},
                                   "bandwidth_ratio": codec.cfg.bandwidth_ratio, "initialised_from": {"sha256": codec.sha256},
                                   "sender_step_max": args.sender_step_max, **common} | elapsed)]
    for snr, row in metrics.items():
        print(snr, {k: v for k, v in row.items()})
    for p in paths:
        print(f"wrote {p}")
    return 0


def train_image_codec(codec, x_train, schedule, args, gen, shuffle):
    """A copy of the codec whose encoder and decoder carry images diffused at the sender (step
    uniform in [0, sender_step_max]) and reconstruct the clean image (the classifier: tune_classifier)."""
    import torch
    import torch.nn.functional as F

    from semcom_phy.data import minibatches
    from semcom_phy.semantic import symbol_channel

    image_codec = copy.deepcopy(codec).train()
    params = list(image_codec.encoder.parameters()) + list(image_codec.decoder.parameters())
    opt = torch.optim.Adam(params, lr=3e-4)
    n, steps = len(x_train), math.ceil(len(x_train) / 128)
    for epoch in range(args.codec_epochs):
        bar = progress(minibatches(n, 128, shuffle), total=steps, desc=f"image codec {epoch + 1}/{args.codec_epochs}")
        for idx in bar:
            x = x_train[idx]
            b = len(idx)
            t = torch.randint(-1, args.sender_step_max + 1, (b,), generator=gen, device=x.device)
            ab = schedule.alpha_bar(t, x)[:, None, None, None]
            x_s = (ab.sqrt() * (2 * x - 1) + (1 - ab).sqrt() * torch.randn(x.shape, generator=gen, device=x.device) + 1) / 2
            snr = 22 * torch.rand(b, generator=gen, device=x.device)
            fading = torch.rand(b, generator=gen, device=x.device) < 0.3
            x_hat = image_codec.decode(*symbol_channel(image_codec.encode(x_s), snr, fading, gen))
            loss = F.mse_loss(x_hat, x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            bar.set_postfix(psnr=f"{-10 * math.log10(loss.item()):.1f}")
    return image_codec.eval()


def tune_classifier(image_codec, model, schedule, x_train, y_train, image_step, args, gen, shuffle):
    """Fine-tune the image codec's classifier on --classifier-images training images purified from
    image_step (stochastic sampling, the default NFE), as the image defense's receiver has them."""
    import torch
    import torch.nn.functional as F

    from semcom_phy.data import minibatches
    from semcom_phy.purify import purify_image

    n = min(args.classifier_images, len(x_train))
    with torch.no_grad():
        x_pur = torch.cat([purify_image(model, schedule, x_train[i:min(i + 1000, n)], image_step,
                                        DefenseConfig().nfe, 1.0, gen) for i in range(0, n, 1000)])
    classifier = image_codec.classifier.train()
    opt = torch.optim.Adam(classifier.parameters(), lr=3e-4)
    for epoch in range(args.classifier_epochs):
        bar = progress(minibatches(n, 128, shuffle), total=math.ceil(n / 128),
                       desc=f"image classifier {epoch + 1}/{args.classifier_epochs}")
        for idx in bar:
            loss = F.cross_entropy(classifier(x_pur[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
    classifier.eval()


if __name__ == "__main__":
    sys.exit(main())
