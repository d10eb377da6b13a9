#!/usr/bin/env python3
"""Semantic loopback: Fashion-MNIST test images through the OFDM link and back, by SNR.

Each image is encoded into k complex symbols (the shipped codec), framed, sent through the
link, found and equalised by the stream receiver, decoded and classified.

``--link sim`` (default) runs the simulated channel in this process; ``--link gnuradio`` streams
the IQ over ZeroMQ through GNU Radio's channel blocks (``flowgraphs/channel_emulator.py`` under
Debian's Python, one flowgraph per SNR, modelling the ``--channel`` profile as closely as GNU
Radio can).

``--defense``: ``receiver`` (latent denoising at the receiver only), ``latent`` (symbols diffused
at the sender to --sender-step, denoised at the receiver from the step that matches sender plus
channel noise), ``image`` (the image diffused before the encoder to --sender-step, purified by the
image denoiser from --image-step before the classifier), ``median`` (a 3x3 median filter before
the classifier, the classic baseline), ``advtrain`` (the codec adversarially trained against image
and air attacks) or ``advtrain_t1`` (against image attacks only). ``--scramble`` adds keyed symbol
scrambling to any of them (a secret per-image permutation and phase rotation of the symbols with
the pre-shared ``--key``, undone at the receiver): an air perturbation crafted without the key
reaches the decoder scattered like noise. ``--defense advtrain_t1 --scramble`` is the most robust
link here.

``--attack``: an adversary in the loop, crafted before each run against the link's own defense
at the run's SNR (white box, see ``semcom_phy.attacks.live``): ``jamming``, ``air`` (per-image PGD
on the transmitted symbols) or ``universal`` at ``--psr-db``, or ``pgd`` on the source images at
L-inf ``--eps``. Metrics stay measured against the clean images.

``--interleave G`` spreads each image's symbols over G frames, so a frame lost in a fade costs G
images a G-th of their symbols each instead of one image everything. An image none of whose
symbols come back is counted as lost (blank image, wrong class) and stays in every average.
A frame whose preamble or header a fade took is still decoded where the regular train of frames
puts it, between two frames that did arrive (``--max-inferred N`` in a row at most; 0: off).

Prints a table (SNR, frames received/sent, images lost, accuracy, PSNR, SSIM, EVM) and writes
``<out>/<run>/``: ``config.yaml``, ``results.json``, ``images.png`` (originals and what came back
at each SNR) and ``curves.png`` (accuracy, PSNR and SSIM against SNR).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from semcom_phy.attacks import LinkModel
from semcom_phy.attacks.live import LIVE_ATTACKS, AttackConfig, craft
from semcom_phy.channel import PROFILES, channel_profile
from semcom_phy.config import ModemConfig, OfdmConfig, to_dict
from semcom_phy.data import DatasetError, load_split, to_tensor
from semcom_phy.io import new_run_dir, save_run
from semcom_phy.io.sigmf_io import LinkRecorder
from semcom_phy.link import SemanticLink
from semcom_phy.metrics import accuracy
from semcom_phy.purify import DEFENSES, DefenseConfig, load_defense
from semcom_phy.semantic import WEIGHTS_DIR, WeightsError, load_codec, pick_device
from semcom_phy.transport import SimTransport
from semcom_phy.transport.pluto import PlutoConfig, PlutoError, open_pluto, pluto_flowgraph
from semcom_phy.transport.zmq import FlowgraphError, channel_emulator, channel_emulator_params, gnuradio_available


def plot_images(x: torch.Tensor, rows: list[tuple[float, torch.Tensor]], path: Path, num: int = 10) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows) + 1, num, figsize=(num * 0.9, (len(rows) + 1) * 0.95))
    for j in range(num):
        for i, (label, imgs) in enumerate([("original", x)] + [(f"{s:g} dB", r) for s, r in rows]):
            ax = axes[i, j]
            ax.imshow(imgs[j, 0].cpu().numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(series: list[tuple[str, list[dict]]], path: Path, title: str, clean_accuracy: float | None) -> None:
    """Accuracy, PSNR and SSIM against SNR, one line per (label, result rows) of ``series``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(12, 3.5))
    for a, key, label in zip(ax, ("accuracy", "psnr_db", "ssim"), ("accuracy", "PSNR [dB]", "SSIM")):
        for name, results in series:
            a.plot([r["snr_db"] for r in results], [r[key] for r in results], "o-", label=name)
        a.set(xlabel="SNR [dB]", ylabel=label)
        a.grid(True, alpha=0.3)
    if clean_accuracy is not None:
        ax[0].axhline(clean_accuracy, ls="--", color="gray", label="classifier on the originals")
    ax[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_tags(cfg: dict) -> tuple[str, str]:
    """(channel, attack) of a loopback run, from its config: the ``--channel`` profile (``air``
    over the radios) and the attack's name with its budget (``none`` without one)."""
    a = cfg["args"]
    return "air" if a["link"].startswith("pluto") else a["channel"], AttackConfig(**cfg.get("attack", {})).name


def run_label(cfg: dict) -> str:
    """``link/channel, defense[, attack]`` of a loopback run, from its config."""
    channel, attack = run_tags(cfg)
    return (f"{cfg['args']['link']}/{channel}, defense {describe(DefenseConfig(**cfg['defense']))}"
            + ("" if attack == "none" else f", attack {attack}"))


def describe(d: DefenseConfig) -> str:
    scrambled = ", scrambled" if d.scramble else ""
    if d.evaluations_per_image == 0:
        return d.defense + scrambled
    sender = f"t_s {d.sender_step}, " if d.defense in ("latent", "image") else ""
    if d.defense == "image" and d.image_step >= 0:
        sender += f"t* {d.image_step}, "
    return (f"{d.defense} ({sender}{d.nfe} NFE, {'stochastic' if d.stochastic else 'deterministic'}"
            + (f", {d.votes} votes" if d.votes > 1 else "") + f"){scrambled}")


def key_int(text: str) -> int:
    """``--key``: a decimal or 0x-hex integer."""
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer (decimal, or hex with 0x)") from None


LINKS = ("sim", "gnuradio", "pluto", "pluto-gnuradio")
ATTACK_AIR_SNR_DB = 10.0     # the SNR an attacker assumes over the air, where the run does not set one


def open_recorder(args, snr, channel_name: str, ofdm: OfdmConfig, config: dict, defense_cfg, attack: AttackConfig,
                  weights: dict):
    """The SigMF recorder of one run (``--record``), or None."""
    if not args.record:
        return None
    air = args.link.startswith("pluto")
    hw = {"sim": "simulated channel (semcom_phy.channel.SimChannel)",
          "gnuradio": "GNU Radio channels.channel_model over ZeroMQ (flowgraphs/channel_emulator.py)"}.get(
        args.link, f"ADALM-PlutoSDR via {'pyadi-iio' if args.link == 'pluto' else 'gr-iio'}: "
                   f"TX {args.tx_uri or args.uri}, RX {args.rx_uri or args.uri}")
    name = f"{args.link}_{channel_name}_" + ("air" if snr is None else f"{snr:g}dB") + \
        ("" if attack.attack == "none" else f"_{attack.name}")
    return LinkRecorder(args.record / name, ofdm.sample_rate_hz, frequency_hz=args.lo_hz if air else 0.0, hw=hw,
                        fields={"snr_db": snr, "defense": to_dict(defense_cfg), **attack.fields()},
                        config={**config, "run_snr_db": snr},
                        weights=weights)


def weights_hashes(codec, defense) -> dict:
    """SHA-256 of the models a run used (the codec, and the defense's own codec when it has one)."""
    out = {"codec": codec.sha256}
    if defense.codec is not codec:
        out["defense_codec"] = getattr(defense.codec, "sha256", None)
    return out


def radio_config(args, ofdm: OfdmConfig) -> PlutoConfig:
    return PlutoConfig(uri=args.uri, tx_uri=args.tx_uri, rx_uri=args.rx_uri, lo_hz=args.lo_hz,
                       sample_rate_hz=ofdm.sample_rate_hz, rf_bandwidth_hz=ofdm.sample_rate_hz,
                       rx_gain_db=args.rx_gain_db, tx_attenuation_db=args.tx_attenuation_db)


def open_transport(args, snr: float | None, ofdm: OfdmConfig, rng: np.random.Generator):
    """The transport of one run: the simulated channel or GNU Radio's at ``snr``, or the radios."""
    if args.link == "pluto":
        return open_pluto(radio_config(args, ofdm), ofdm, args.seed)
    if args.link == "pluto-gnuradio":
        return pluto_flowgraph(radio_config(args, ofdm), ofdm)
    channel = channel_profile(args.channel, snr)
    if args.link == "gnuradio":
        return channel_emulator(channel, ofdm, seed=args.seed)
    return SimTransport(channel, ofdm, rng)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--link", choices=LINKS, default="sim",
                    help="transport: sim (default, the simulated channel in this process), gnuradio (IQ over ZeroMQ "
                         "through GNU Radio's channel_model in flowgraphs/channel_emulator.py, one flowgraph per SNR), "
                         "pluto (PlutoSDR radios through pyadi-iio: one run, the SNR is what the air gives) or "
                         "pluto-gnuradio (the radios through GNU Radio's gr-iio, flowgraphs/pluto_txrx.py)")
    ap.add_argument("--channel", choices=sorted(PROFILES), default="awgn",
                    help="channel profile: awgn, fading (flat Rayleigh), multipath (TDL + CFO, SFO, phase noise)")
    ap.add_argument("--snr", type=float, nargs="+", default=[0, 5, 10, 15, 20], metavar="DB",
                    help="SNR points, Es/N0 per data resource element (default: 0 5 10 15 20)")
    ap.add_argument("--num-images", type=int, default=512, help="test images per SNR (default 512)")
    ap.add_argument("--seed", type=int, default=0, help="seed for the image choice and the channel (default 0)")
    ap.add_argument("--out", type=Path, default=Path("results/loopback"), help="results directory (default results/loopback)")
    ap.add_argument("--json", type=Path, default=None, help="also write {config, results} to this JSON file")
    ap.add_argument("--weights", type=Path, default=WEIGHTS_DIR / "codec.json", help="codec manifest (default: shipped)")
    ap.add_argument("--data-dir", type=Path, default=None, help="Fashion-MNIST folder (default: the Debian package's)")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="torch device (default auto)")
    ap.add_argument("--interleave", type=int, default=8, metavar="G",
                    help="spread each image's symbols over G frames (default 8; 1: one image per frame)")
    ap.add_argument("--max-inferred", type=int, default=ModemConfig.max_inferred_frames, metavar="N",
                    help="frames the receiver decodes where the train of frames puts them when their own preamble "
                         f"or header is lost, at most N in a row (default {ModemConfig.max_inferred_frames}; 0: off)")
    ap.add_argument("--record", type=Path, default=None, metavar="DIR",
                    help="record each run's TX and RX IQ as SigMF in DIR (<link>_<channel>_<snr>-tx/-rx), one "
                         "annotation per frame; scripts/replay.py decodes them again")
    ap.add_argument("--no-plot", action="store_true", help="skip the PNG files")
    p = PlutoConfig()
    radio = ap.add_argument_group("radio (--link pluto)")
    radio.add_argument("--uri", default=p.uri, help=f"the Pluto for TX and RX, a cable loopback (default {p.uri}); "
                       "'virtual' runs the virtual Pluto")
    radio.add_argument("--tx-uri", default="", help="two radios: the transmitter (virtual:NAME for a virtual one)")
    radio.add_argument("--rx-uri", default="", help="two radios: the receiver")
    radio.add_argument("--lo-hz", type=float, default=p.lo_hz, help=f"carrier frequency (default {p.lo_hz:g})")
    radio.add_argument("--rx-gain-db", type=float, default=p.rx_gain_db, help=f"manual RX gain (default {p.rx_gain_db:g})")
    radio.add_argument("--tx-attenuation-db", type=float, default=p.tx_attenuation_db,
                       help=f"TX attenuation, 0 = full power (default {p.tx_attenuation_db:g})")
    d = DefenseConfig()
    ap.add_argument("--defense", choices=DEFENSES, default=d.defense, help="diffusion defense (default none)")
    ap.add_argument("--sender-step", type=int, default=d.sender_step,
                    help=f"sender diffusion step t_s of the latent and image defenses (default {d.sender_step})")
    ap.add_argument("--image-step", type=int, default=d.image_step,
                    help="image defense: the step t* the receiver diffuses the decoded image to before the image "
                         "denoiser (default -1: the sender step)")
    ap.add_argument("--nfe", type=int, default=d.nfe, help=f"denoiser evaluations per purification (default {d.nfe})")
    ap.add_argument("--stochastic", action="store_true", help="stochastic (DDPM-like) instead of deterministic (DDIM) sampling")
    ap.add_argument("--votes", type=int, default=d.votes, help="purifications per image, majority vote (needs --stochastic)")
    ap.add_argument("--bf16", action="store_true", help="run the denoiser under bfloat16 autocast (for GPUs)")
    ap.add_argument("--scramble", action="store_true",
                    help="keyed symbol scrambling on top of the defense (against air perturbations)")
    ap.add_argument("--key", type=key_int, default=d.key, metavar="INT",
                    help="the scrambling's pre-shared key, an integer below 2^256, decimal or 0x-hex (default 0, "
                         "a testbed key; recorded in the run's config so replays can unscramble)")
    a = AttackConfig()
    ap.add_argument("--attack", choices=LIVE_ATTACKS, default=a.attack,
                    help="adversary crafted against the link before each run (default none): jamming, air, universal "
                         "(on the transmitted symbols, at --psr-db) or pgd (on the source images, at --eps)")
    ap.add_argument("--psr-db", type=float, default=a.psr_db,
                    help=f"perturbation-to-signal ratio of the air attacks (default {a.psr_db:g} dB)")
    ap.add_argument("--eps", type=float, default=a.eps, help=f"L-inf budget of pgd on [0, 1] images (default {a.eps:g})")
    ap.add_argument("--attack-steps", type=int, default=a.steps, help=f"PGD iterations (default {a.steps})")
    args = ap.parse_args(argv)
    if not 1 <= args.num_images <= 10000:
        ap.error(f"--num-images {args.num_images}: allowed 1..10000 (the test set)")
    if not 1 <= args.interleave <= 64:
        ap.error(f"--interleave {args.interleave}: allowed 1..64 frames per image")
    for s in args.snr:
        if not -30 <= s <= 100:
            ap.error(f"--snr {s:g}: allowed -30..100 dB")
    try:
        device = pick_device(args.device)
        defense_cfg = DefenseConfig(args.defense, args.sender_step, args.nfe, args.stochastic, args.votes, args.bf16,
                                    args.scramble, args.key, args.image_step)
        attack = AttackConfig(args.attack, args.psr_db, args.eps, args.attack_steps)
        modem = ModemConfig(mode="analog", gap_samples=256, max_inferred_frames=args.max_inferred)
    except ValueError as err:
        ap.error(str(err))
    radios = None
    if args.link.startswith("pluto"):               # the radios first: a missing one is reported at once
        try:
            radios = open_transport(args, None, OfdmConfig(), None)
        except (FlowgraphError, PlutoError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    try:
        codec = load_codec(args.weights, device)
        defense = load_defense(defense_cfg, codec, device)
        test = load_split("test", args.data_dir)
        train = load_split("train", args.data_dir) if attack.attack == "universal" else None
    except (DatasetError, WeightsError) as err:
        print(f"error: {err}", file=sys.stderr)
        if radios:
            radios.close()
        return 2

    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(len(test), args.num_images, replace=False))
    x = to_tensor(test.images[pick]).to(device)
    labels = torch.from_numpy(test.labels[pick].astype(np.int64)).to(device)
    ofdm = OfdmConfig()
    results, shown, recordings = [], [], []
    t0 = time.time()
    if args.link == "gnuradio":
        reason = gnuradio_available()
        if reason:
            print(f"error: --link gnuradio: {reason}", file=sys.stderr)
            return 2
        ignored = channel_emulator_params(channel_profile(args.channel, None), ofdm)[1]
        if ignored:
            print(f"note: GNU Radio's channel blocks do not model {', '.join(ignored)} of the {args.channel} profile")
    air = args.link.startswith("pluto")
    runs = [None] if air else args.snr                       # over the air the radios set the SNR
    channel_name = "air" if air else args.channel
    config = {"script": "loopback", "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "device": str(device), "ofdm": to_dict(ofdm), "modem": to_dict(modem),
              "channels": {f"{s:g}": to_dict(channel_profile(args.channel, s)) for s in args.snr},
              "flowgraph": None if args.link != "gnuradio" else {
                  "script": "flowgraphs/channel_emulator.py",
                  "params": {f"{s:g}": channel_emulator_params(channel_profile(args.channel, s), ofdm, args.seed)[0]
                             for s in args.snr}},
              "radio": None if not air else {**to_dict(radio_config(args, ofdm)), "link": args.link},
              "codec": {"manifest": str(args.weights), "sha256": codec.sha256, **to_dict(codec.cfg)},
              "defense": to_dict(defense_cfg), "attack": to_dict(attack), "images": pick.tolist()}
    if train is not None:
        train = to_tensor(train.images), torch.from_numpy(train.labels.astype(np.int64))
    for snr in tqdm(runs, desc=f"loopback {args.link}/{channel_name}/{args.defense}", unit="run"):
        x_sent, delta = x, None
        if attack.attack != "none":
            target = LinkModel(defense.single_vote(), ATTACK_AIR_SNR_DB if snr is None else snr,
                               fading=channel_name in ("fading", "multipath"))
            with torch.enable_grad():
                x_sent, delta = craft(attack, target, x, labels, torch.Generator(device).manual_seed(args.seed + 1), train)
        recorder = open_recorder(args, snr, channel_name, ofdm, config, defense_cfg, attack,
                                 weights_hashes(codec, defense))
        try:
            with radios or open_transport(args, snr, ofdm, rng) as transport:
                generator = torch.Generator(device).manual_seed(args.seed)       # every run from the same seed
                link = SemanticLink(codec, transport, ofdm, modem, defense, generator, args.interleave, recorder)
                out = link.run(x, image_ids=pick, labels=labels.cpu().numpy(), x_sent=x_sent, delta_air=delta)
                tx_burst = getattr(transport, "last_burst", None)
        except BaseException as err:                         # an interrupted run leaves no recording behind
            if recorder:
                recorder.abort()
            if not isinstance(err, (FlowgraphError, PlutoError, ValueError)):
                raise
            print(f"error: {err}", file=sys.stderr)
            return 2
        if recorder:
            recordings.append(str(recorder.close()[1]))
        m = out.metrics(x, labels)
        snr = snr if snr is not None else round(m["snr_est_db"] or float("nan"), 2)   # pluto: as measured
        results.append({"snr_db": snr, "channel": channel_name, "attack": attack.name, **m})
        shown.append((snr, out.x_hat[:10]))
    elapsed = time.time() - t0
    with torch.no_grad():
        clean = accuracy(codec.classify(x), labels)

    print(f"\n{args.num_images} test images over {run_label(config)}, k = {codec.cfg.num_symbols} symbols per image "
          f"(k/n = {codec.cfg.bandwidth_ratio:.3f}); classifier on the originals: {clean:.3f}")
    print(f"{'SNR dB':>7} {'frames rx/tx':>13} {'lost':>5} {'accuracy':>9} {'PSNR dB':>8} {'SSIM':>6} {'EVM dB':>7}")
    for r in results:
        evm = f"{r['evm_db']:7.2f}" if r["evm_db"] is not None else "      -"
        print(f"{r['snr_db']:>7g} {r['frames_received']:>6}/{r['frames_sent']:<6} {r['images_lost']:>5} {r['accuracy']:>9.3f} "
              f"{r['psnr_db']:>8.2f} {r['ssim']:>6.3f} {evm}")
    if air and results[0]["cfo_est_hz"] is not None:
        print(f"SNR and CFO as the receiver measured them: CFO {results[0]['cfo_est_hz'] / 1e3:.2f} kHz "
              f"({results[0]['cfo_est_hz'] / args.lo_hz * 1e6:.2f} ppm of the LO)" + ("" if not tx_burst else
              f"; TX burst of {tx_burst['samples']} samples, PAPR {tx_burst['papr_db']:.1f} dB, "
              f"{tx_burst['rms_dbfs']:.1f} dBFS RMS, clip rate TX {tx_burst['clip_rate']:.1e} "
              f"RX {tx_burst['rx_clip_rate']:.1e}"))

    if air:
        config["radio"]["tx_burst"] = tx_burst
    document = {"config": config, "results": results, "clean_accuracy": clean, "elapsed_s": round(elapsed, 1),
                "recordings": recordings}
    run_dir = new_run_dir(args.out)
    save_run(run_dir, config, document)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=1))
    if not args.no_plot:
        plot_images(x, shown, run_dir / "images.png", num=min(10, args.num_images))
        plot_curves([(run_label(config), results)], run_dir / "curves.png", f"{args.num_images} images", clean)
    print(f"results in {run_dir} ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
