"""The experiments' command lines: ``scripts/loopback.py``, ``record.py``, ``ota.py``,
``replay.py`` and ``compare.py`` are these functions (also ``python -m semcom_phy <command>``).

Options come from the configs (:mod:`.cli`); every command takes ``--config FILE.yaml`` and
writes the resolved config beside its results. Errors a user can act on end the command with one
``error: ...`` line and exit status 2; nothing heavy (torch, GNU Radio) is imported before the
options are checked.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from ..attacks.config import LIVE_ATTACKS
from ..channel.profiles import PROFILES
from ..purify.config import DEFENSES, SCRAMBLE_MODES
from . import config as C
from .cli import Option, add_config_option, add_options, check_outputs, given, key_int, resolve
from .radios import load_preset, sdr_device_alias

LOOPBACK_HELP = """Semantic loopback: Fashion-MNIST test images through the OFDM link and back, by SNR.

Each image is encoded into k complex symbols (the shipped codec), framed, sent through the link,
found and equalised by the stream receiver, decoded and classified.

--link sim (default) runs the simulated channel in this process; --link gnuradio streams the IQ
over ZeroMQ through GNU Radio's channel blocks (the channel_emulator flowgraph under Debian's
Python, one flowgraph per SNR, modelling the --channel profile as closely as GNU Radio can);
--link pluto / pluto-gnuradio use PlutoSDR radios (one run at the SNR the air gives). --link
flowgraph runs the PHY itself inside GNU Radio, the project's Semantic OFDM TX and RX blocks,
frames going out and coming back as PDUs over ZeroMQ: the shipped semantic_emulator (GNU Radio's
channel blocks between the blocks) or --flowgraph FILE, your own flowgraph with the blocks and
your radio (semcom_phy/flowgraphs/README.md gives the contract it meets). --link soapy (HackRF,
USRP, LimeSDR, bladeRF... through gr-soapy, --device driver=hackrf) and --link uhd (a USRP through
gr-uhd, --device type=b200) drive other radios through GNU Radio; the device is looked for first,
and a missing driver or radio is one error line naming what to install or check.

--defense: receiver (latent denoising at the receiver only), latent (symbols diffused at the
sender to --sender-step, denoised at the receiver from the step that matches sender plus channel
noise), image (the image diffused before the encoder, purified by the image denoiser from
--image-step before the classifier), median (a 3x3 median filter before the classifier),
advtrain (the codec adversarially trained against image and air attacks) or advtrain_t1
(against image attacks only), or smoothed (randomized smoothing at the receiver, the certified
receiver of scripts/certify.py run live: --votes noisy copies of the received symbols, noise
--sigma-r, each decoded and classified; PREDICT returns the vote's class or abstains at level
--alpha, and abstained images count as wrong and are reported). --scramble adds keyed symbol
scrambling to any of them (a secret per-image permutation and phase rotation with the pre-shared
--key, undone at the receiver).

--attack: an adversary crafted before each run against the link's own defense at the run's SNR
(white box): jamming, air (per-image PGD on the transmitted symbols) or universal at --psr-db,
or pgd on the source images at L-inf --eps. Metrics stay measured against the clean images.

--interleave G spreads each image's symbols over G frames. An image none of whose symbols come
back is counted as lost (blank image, wrong class) and stays in every average.

Prints a table (SNR, frames received/sent, images lost, accuracy, PSNR, SSIM, EVM after ZF and
MMSE scaling) and writes <out>/<run>/: config.yaml (the resolved config: --config takes it back),
results.json, images.png and curves.png.
"""

RADIO = "radio (--link pluto, pluto-gnuradio)"
SDR = "radio (--link soapy, uhd)"
CHANNELS = tuple(PROFILES)
LOOPBACK_OPTIONS = (
    Option("--link", "transport.kind", "transport: sim (the simulated channel in this process), gnuradio (GNU "
           "Radio's channel_model over ZeroMQ), pluto (PlutoSDR radios via pyadi-iio), pluto-gnuradio (via gr-iio) or "
           "flowgraph (the PHY inside GNU Radio: the project's Semantic OFDM TX/RX blocks, frames as PDUs over ZeroMQ)"
           "; soapy (a SoapySDR radio through gr-soapy) or uhd (a USRP through gr-uhd), with --device ARGS",
           choices=C.LINKS),
    Option("--flowgraph", "transport.flowgraph", "with --link flowgraph: your flowgraph (.grc or its .py) with the "
           "Semantic OFDM TX/RX blocks and ZMQ message source/sink on rx_address/tx_address (none: the shipped "
           "semantic_emulator, GNU Radio's channel blocks between the blocks)", metavar="FILE"),
    Option("--channel", "transport.channel", "channel profile: awgn, fading (flat Rayleigh), multipath (TDL + CFO, "
           "SFO, phase noise)", choices=CHANNELS),
    Option("--snr", "snr_db", "SNR points, Es/N0 per data resource element", metavar="DB"),
    Option("--num-images", "num_images", f"test images per SNR (1..{C.MAX_IMAGES}; the 10,000 test images "
           "repeat beyond 10,000)"),
    Option("--chunk-images", "chunk_images", "images through the link at a time: memory grows with this, not with "
           "--num-images", metavar="N"),
    Option("--seed", "seed", "seed of the image choice, the channel and the defense's draws"),
    Option("--weights", "link.codec", "codec: a shipped weights name or a manifest path", metavar="NAME|FILE"),
    Option("--data-dir", "data_dir", "Fashion-MNIST folder (none: the Debian package's)", metavar="DIR"),
    Option("--device", "device", "torch device", choices=C.DEVICES),
    Option("--interleave", "link.interleave", "spread each image's symbols over G frames (1: one image per frame)",
           metavar="G"),
    Option("--max-inferred", "link.modem.max_inferred_frames", "frames decoded where the train of frames puts them "
           "when their own preamble or header is lost, at most N in a row (0: off)", metavar="N"),
    Option("--record", "record", "record each run's TX and RX IQ as SigMF in DIR "
           "(<link>_<channel>_<snr>-tx/-rx), one annotation per frame; scripts/replay.py decodes them (none: no "
           "recording)", metavar="DIR"),
    Option("--uri", "transport.radio.uri", "the Pluto for TX and RX, a cable loopback ('virtual': the virtual Pluto)",
           group=RADIO),
    Option("--tx-uri", "transport.radio.tx_uri", "two radios: the transmitter (virtual:NAME for a virtual one; none: --uri)",
           group=RADIO),
    Option("--rx-uri", "transport.radio.rx_uri", "two radios: the receiver (none: --uri)", group=RADIO),
    Option("--lo-hz", "transport.radio.lo_hz", "carrier frequency", group=RADIO),
    Option("--rx-gain-db", "transport.radio.rx_gain_db", "manual RX gain", group=RADIO),
    Option("--tx-attenuation-db", "transport.radio.tx_attenuation_db", "TX attenuation, 0 = full power", group=RADIO),
    Option("--sdr-device", "transport.sdr.device", "the radio for TX and RX, also spelled --device ARGS (a value "
           "with '='): a SoapySDR device string naming its driver (driver=hackrf, driver=uhd,type=b200, driver=lime, "
           "driver=bladerf) or UHD device arguments (type=b200, serial=..., addr=192.168.10.2; none: the first USRP "
           "found)", metavar="ARGS", group=SDR),
    Option("--sdr-tx-device", "transport.sdr.tx_device", "two radios: the transmitter (none: --sdr-device; a HackRF is "
           "half duplex, a HackRF link needs two)", metavar="ARGS", group=SDR),
    Option("--sdr-rx-device", "transport.sdr.rx_device", "two radios: the receiver (none: --sdr-device)",
           metavar="ARGS", group=SDR),
    Option("--sdr-lo-hz", "transport.sdr.lo_hz", "carrier frequency", group=SDR),
    Option("--sdr-tx-gain-db", "transport.sdr.tx_gain_db", "TX gain (the device's overall gain)", group=SDR),
    Option("--sdr-rx-gain-db", "transport.sdr.rx_gain_db", "manual RX gain (the device's overall gain)", group=SDR),
    Option("--sdr-tx-antenna", "transport.sdr.tx_antenna", "TX antenna (none: Soapy the device's default, UHD TX/RX)",
           metavar="NAME", group=SDR),
    Option("--sdr-rx-antenna", "transport.sdr.rx_antenna", "RX antenna (none: Soapy the device's default, UHD RX2)",
           metavar="NAME", group=SDR),
    Option("--defense", "link.defense.defense", "the defense", choices=DEFENSES, group="defense"),
    Option("--sender-step", "link.defense.sender_step", "sender diffusion step t_s of the latent and image defenses",
           group="defense"),
    Option("--image-step", "link.defense.image_step", "image defense: the step t* the receiver diffuses the decoded "
           "image to before the image denoiser (-1: the sender step)", group="defense"),
    Option("--nfe", "link.defense.nfe", "denoiser evaluations per purification", group="defense"),
    Option("--stochastic", "link.defense.stochastic", "stochastic (DDPM-like) instead of deterministic (DDIM) "
           "sampling", group="defense"),
    Option("--votes", "link.defense.votes", "per image: with a denoising defense the purifications, majority vote "
           "(1..64, needs --stochastic); with --defense smoothed PREDICT's draws of the smoothing noise (2..100000; "
           "1, the default, means 1000)", group="defense"),
    Option("--sigma-r", "link.defense.sigma_r", "--defense smoothed: the receiver's own noise, CN(0, sigma_r^2) per "
           "equalised symbol, added to every draw ((0, 10])", metavar="SIGMA", group="defense"),
    Option("--alpha", "link.defense.alpha", "--defense smoothed: PREDICT's level: an image is abstained on (counted "
           "wrong) unless the binomial test of its top two vote counts rejects a tie at alpha; a returned class "
           "differs from the smoothed classifier's with probability at most alpha ((0, 0.5])", group="defense"),
    Option("--bf16", "link.defense.bf16", "run the denoiser under bfloat16 autocast (for GPUs)", group="defense"),
    Option("--scramble", "link.defense.scramble", "keyed symbol scrambling on top of the defense (against air "
           "perturbations)", group="defense"),
    Option("--scramble-mode", "link.defense.scramble_mode", "what --scramble does: permute (a secret permutation "
           "and phase rotation per symbol; keeps each symbol's magnitude) or mix (a keyed unitary mixing every symbol "
           "into every transmitted one: the magnitudes on the air say nothing per symbol)", choices=SCRAMBLE_MODES,
           group="defense"),
    Option("--key", "link.defense.key", "the scrambling's pre-shared key, an integer below 2^256, decimal or 0x-hex "
           "(0 is a testbed key; results and recordings store only its fingerprint)", metavar="INT", type=key_int,
           group="defense"),
    Option("--attack", "attack.attack", "adversary crafted against the link before each run: jamming, air, universal "
           "(on the transmitted symbols, at --psr-db) or pgd (on the source images, at --eps)",
           choices=LIVE_ATTACKS, group="attack"),
    Option("--psr-db", "attack.psr_db", "perturbation-to-signal ratio of the air attacks", group="attack"),
    Option("--eps", "attack.eps", "L-inf budget of pgd on [0, 1] images", group="attack"),
    Option("--attack-steps", "attack.steps", "PGD iterations", group="attack"),
)


def _parser(description: str, epilog: str | None = None) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(description=description, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def _outputs(ap: argparse.ArgumentParser, default_out: str) -> None:
    ap.add_argument("--out", type=Path, default=Path(default_out), help=f"results directory (default {default_out})")
    ap.add_argument("--json", type=Path, default=None, help="also write the results document to this JSON file")
    ap.add_argument("--no-plot", action="store_true", help="skip the PNG files")


def _fail(err: BaseException) -> int:
    print(f"error: {err}", file=sys.stderr)
    return 2


def interruptible(main):
    """A command that Ctrl-C (SIGINT) and ``kill`` (SIGTERM) stop cleanly: both raise in the main
    thread (:func:`~semcom_phy.io.signals.terminate_raises`), the run's partial files are removed
    on the way out, and the command says so and exits 130 (SIGINT) or 143 (SIGTERM)."""
    @functools.wraps(main)
    def run(argv=None) -> int:
        import signal

        from ..io.signals import Terminated, end_quietly, terminate_raises

        previous = signal.getsignal(signal.SIGTERM)
        terminate_raises()
        status = None
        try:
            status = main(argv)
        except KeyboardInterrupt as err:
            term = isinstance(err, Terminated)
            print(f"\ninterrupted ({'SIGTERM' if term else 'SIGINT'}): what was finished is kept (whole recordings, "
                  "their index), partial files are removed", file=sys.stderr)
            status = 143 if term else 130
        finally:
            if argv is None:        # as the program (argv from sys.argv): it ends quietly on a late signal
                end_quietly(status)
            else:                   # called in a process that goes on: its own SIGTERM handler back
                signal.signal(signal.SIGTERM, previous)
        return status
    return run


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that are a user's to act on (missing data, weights, GNU Radio, radio, a
    refused setting, an output that cannot be written: ``OSError``, e.g. a full disk, with the
    path): reported as one line, exit 2."""
    from ..data import DatasetError
    from ..io.sigmf_io import RecordingError
    from ..semantic.paths import WeightsError
    from ..transport.pluto import PlutoError
    from ..transport.zmq import FlowgraphError

    return DatasetError, WeightsError, FlowgraphError, PlutoError, RecordingError, ValueError, OSError


def recording_size(ap: argparse.ArgumentParser, cfg: C.LoopbackConfig | C.RecordConfig) -> int:
    """The bytes a recorded loopback or a recording sweep will write, estimated (:mod:`.sizes`); a
    codec whose manifest cannot be read ends the command through ``ap.error`` (exit 2)."""
    from ..semantic.paths import WeightsError
    from .sizes import record_bytes, recording_bytes

    try:
        return record_bytes(cfg) if isinstance(cfg, C.RecordConfig) else recording_bytes(cfg)
    except WeightsError as err:
        ap.error(str(err))


def warn_ignored(cfg: C.LoopbackConfig, values: dict) -> None:
    """Options given that the config makes meaningless: a warning each, never silence."""
    d = cfg.link.defense
    notes = []
    if "link.defense.key" in values and not d.scramble:
        notes.append("--key without --scramble: the key is not used")
    if "link.defense.scramble_mode" in values and not d.scramble:
        notes.append("--scramble-mode without --scramble: nothing is scrambled")
    if d.evaluations_per_image == 0 and {"link.defense.nfe", "link.defense.sender_step"} & set(values):
        notes.append(f"--nfe/--sender-step with --defense {d.defense}: that defense runs no denoiser")
    if d.defense != "smoothed" and {"link.defense.sigma_r", "link.defense.alpha"} & set(values):
        notes.append(f"--sigma-r/--alpha with --defense {d.defense}: only --defense smoothed uses them")
    if cfg.transport.air and "snr_db" in values:
        notes.append("--snr over radios: the air sets the SNR (one run)")
    if (not cfg.transport.air or cfg.transport.kind == "flowgraph") and \
            {p for p in values if p.startswith("transport.radio.")}:
        notes.append(f"radio options with --link {cfg.transport.kind}: no radio of ours is used (a flowgraph "
                     "sets its own)")
    if "transport.flowgraph" in values and cfg.transport.kind != "flowgraph":
        notes.append(f"--flowgraph with --link {cfg.transport.kind}: only --link flowgraph runs it")
    if cfg.transport.kind in C.SDR_LINKS and {p for p in values if p.startswith("transport.radio.")}:
        notes.append(f"Pluto radio options with --link {cfg.transport.kind}: they set the Pluto links only (the "
                     "radio here: --sdr-lo-hz, --sdr-tx-gain-db, --sdr-rx-gain-db, ...)")
    if cfg.transport.kind not in C.SDR_LINKS and {p for p in values if p.startswith("transport.sdr.")}:
        notes.append(f"--sdr-*/--device ARGS with --link {cfg.transport.kind}: only --link soapy and uhd use them")
    for n in notes:
        print(f"warning: {n}", file=sys.stderr)


def sdr_preflight(cfg: C.LoopbackConfig) -> int | None:
    """``--link soapy`` / ``uhd``: the radio looked for before anything heavy loads (a few seconds
    at most); the exit status of a failure (one ``error:`` line), or None."""
    if cfg.transport.kind not in C.SDR_LINKS:
        return None
    from ..transport.sdr import preflight

    try:
        preflight(cfg.transport.kind, cfg.transport.sdr)
    except user_errors() as err:
        return _fail(err)
    return None


@interruptible
def loopback_main(argv=None) -> int:
    """``scripts/loopback.py``."""
    return _loopback(argv, LOOPBACK_HELP)


@interruptible
def ota_main(argv=None) -> int:
    """``scripts/ota.py``: the loopback over radios, a hardware preset's radio settings under
    ``--config`` and the options."""
    return _loopback(argv, OTA_HELP, preset=True)


def _loopback(argv, description: str, preset: bool = False) -> int:
    ap = _parser(description)
    add_config_option(ap)
    if preset:
        ap.add_argument("--preset", default="cable", metavar="NAME|FILE",
                        help="hardware preset: a shipped name (cable, ism-2.4, virtual; hackrf, usrp-b200) or a YAML "
                             "file of PlutoConfig fields, or with link: soapy / uhd of SdrConfig fields (default "
                             "cable)")
    add_options(ap, LOOPBACK_OPTIONS, C.LoopbackConfig)
    ap.add_argument("--monitor", action="store_true",
                    help="show the received frames live: the Qt monitor flowgraph (constellation, SNR per frame, "
                         "frames lost) gets every frame the receiver finds, on any link (needs GNU Radio)")
    _outputs(ap, "results/loopback")
    args = ap.parse_args(sdr_device_alias(argv))
    base = None
    if preset:
        try:
            base = {"transport": load_preset(args.preset)}
        except ValueError as err:
            ap.error(str(err))
    cfg = resolve(ap, args, LOOPBACK_OPTIONS, C.LoopbackConfig, base=base)
    if preset and not cfg.transport.air:
        ap.error(f"--link {cfg.transport.kind}: over the air the link is pluto, pluto-gnuradio, soapy or uhd")
    warn_ignored(cfg, given(args, LOOPBACK_OPTIONS))
    check_outputs(ap, args.out, json=args.json)
    if cfg.record:
        check_outputs(ap, Path(cfg.record), recording_size(ap, cfg), flag="--record")
    failed = sdr_preflight(cfg)
    if failed is not None:
        return failed
    from .loopback import run_loopback, save_loopback

    feed = None
    try:
        if args.monitor:
            from ..transport.monitor import MonitorFeed, open_monitor

            feed = MonitorFeed()
            open_monitor(feed)
        result = run_loopback(cfg, monitor=feed)
        print("\n" + result.table())
        run_dir = save_loopback(result, args.out, plot=not args.no_plot, json_path=args.json)
    except user_errors() as err:
        return _fail(err)
    finally:
        if feed is not None:
            if feed.dropped:
                print(f"note: {feed.dropped} frame copies the monitor could not take were not shown", file=sys.stderr)
            feed.close()
    print(f"results in {run_dir} ({result.elapsed_s:.1f} s)")
    return 0


OTA_HELP = """Over the air: the semantic loopback through PlutoSDR radios, from a hardware preset.

    python scripts/ota.py --preset cable                       # one radio, TX -> 30 dB -> RX cable
    python scripts/ota.py --preset ism-2.4 --tx-uri ip:192.168.2.1 --rx-uri ip:192.168.3.1
    python scripts/ota.py --preset virtual                     # two virtual radios: runs anywhere
    python scripts/ota.py --preset usrp-b200                   # a USRP B200 through gr-uhd, a cable

A preset (a shipped name: cable, ism-2.4, virtual for PlutoSDRs; hackrf (two boards, through
gr-soapy) and usrp-b200 (through gr-uhd); or a YAML path) holds radio settings: PlutoConfig
fields, or with link: soapy / uhd the link and SdrConfig fields; --config and the options given
here win over it. Every other option is the
loopback's, and the table, plots and results/ files are the loopback's. --link pluto (default)
drives the radios with pyadi-iio; --link pluto-gnuradio through GNU Radio's gr-iio flowgraph. See
hardware/README.md for the set-up. Other radios: --link soapy --device driver=hackrf (gr-soapy) or
--link uhd --device type=b200 (gr-uhd) with the --sdr-* options (the preset's Pluto settings are
then unused; semcom_phy/flowgraphs/README.md, "HackRF / USRP / Pluto through Soapy").
"""
RECORD_HELP = """Record an IQ dataset: the loopback over a chosen link, every run's TX and RX streams as SigMF.

    python scripts/record.py --out data/awgn --snr 0 5 10 --num-images 256
    python scripts/record.py --out data/gr --link gnuradio --channel multipath
    python scripts/record.py --out data/air --link pluto --uri ip:192.168.2.1
    python scripts/record.py --out data/sweep --channel awgn multipath --attack none jamming air

Every option but --out, --json and the lists --channel and --attack is the loopback's; the
loopback runs once per channel and attack, and each SNR (or the one over-the-air run) gives
<link>_<channel>_<snr>dB[_<attack>]-tx and -rx recordings (cf32_le, one annotation per frame).
DIR/index.csv lists them, DIR/<DIR>.sigmf-collection is their SigMF Collection, the loopbacks'
results go to DIR/runs/; scripts/replay.py DIR decodes the recordings again. The metadata holds
no machine path and no key (only its fingerprint).
"""

RECORD_OPTIONS = tuple(Option(o.flag, "loopback." + o.path, o.help, o.metavar, o.type, o.choices, o.group)
                       for o in LOOPBACK_OPTIONS if o.flag not in ("--channel", "--attack", "--record")) + (
    Option("--channel", "channels", "channel profiles to sweep", choices=CHANNELS),
    Option("--attack", "attacks", "attacks to sweep (budgets: --psr-db, --eps)",
           choices=LIVE_ATTACKS),
    Option("--out", "out", "the dataset folder", metavar="DIR"),
    Option("--existing", "existing", "when DIR already holds recordings: refuse, append (new names) or overwrite "
           "(delete them first); --append and --overwrite say the same", choices=C.EXISTING),
)


@interruptible
def record_main(argv=None) -> int:
    """``scripts/record.py``."""
    ap = _parser(RECORD_HELP)
    add_config_option(ap)
    add_options(ap, RECORD_OPTIONS, C.RecordConfig)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--append", dest="existing", action="store_const", const="append", default=argparse.SUPPRESS,
                      help="add new recordings beside the ones DIR holds")
    mode.add_argument("--overwrite", dest="existing", action="store_const", const="overwrite",
                      default=argparse.SUPPRESS, help="delete the recordings DIR holds first")
    ap.add_argument("--json", type=Path, default=None, help="write {runs, results} of the live runs here")
    ap.add_argument("--no-plot", action="store_true", help="skip the loopbacks' PNG files")
    args = ap.parse_args(sdr_device_alias(argv))
    cfg = resolve(ap, args, RECORD_OPTIONS, C.RecordConfig)
    check_outputs(ap, Path(cfg.out), recording_size(ap, cfg), json=args.json)
    warn_ignored(cfg.loopback, {p.removeprefix("loopback."): v for p, v in given(args, RECORD_OPTIONS).items()})
    failed = sdr_preflight(cfg.loopback)
    if failed is not None:
        return failed
    from ..io import write_json
    from .record import record

    try:
        result = record(cfg, plot=not args.no_plot)
        for run in result.runs:
            print("\n" + run.table())
        print(f"{len(result.index)} recordings in {cfg.out} (index.csv, {result.collection.name})")
        if args.json:
            write_json(args.json, result.document())
    except user_errors() as err:
        return _fail(err)
    return 0


REPLAY_HELP = """Replay recorded link runs offline: receiver, purification, decoder and classifier on the
recorded RX IQ, with the metrics a live run prints.

    python scripts/loopback.py --record data/run1        # or scripts/record.py
    python scripts/replay.py data/run1 --json replay.json --export frames.npz

Each *-rx.sigmf-meta in DIR is checked first (size and SHA-512 against its metadata: a truncated
or modified recording is reported, never decoded); its semcom:config rebuilds the run and its
semcom:weights names the codec by SHA-256, found among the installed weights: a recording moved
to another folder or machine replays to the same rows. A scrambled run needs --key (recordings
hold only the key's fingerprint). A SigMF recording made elsewhere is demodulated with the link
--config FILE.yaml describes.
"""


@interruptible
def replay_main(argv=None) -> int:
    """``scripts/replay.py``."""
    ap = _parser(REPLAY_HELP)
    ap.add_argument("dir", type=Path, help="a folder of recordings (loopback.py --record, record.py) or one "
                                            "*-rx.sigmf-meta")
    ap.add_argument("--key", type=key_int, default=None, metavar="INT",
                    help="the scrambling key of scrambled runs (decimal or 0x-hex)")
    ap.add_argument("--config", type=Path, default=None, metavar="FILE.yaml",
                    help="the loopback config of recordings made elsewhere (no semcom:config)")
    ap.add_argument("--json", type=Path, default=None, help="write {recordings, results} here")
    ap.add_argument("--export", type=Path, default=None, metavar="NPZ",
                    help="also write every frame (IQ, equalised symbols, no_eff, image, label, SNRs, CFO, attack) to "
                         "this .npz; semcom_phy.io.sigmf_io.load_frames reads it")
    ap.add_argument("--device", choices=C.DEVICES, default="auto", help="torch device (default auto)")
    ap.add_argument("--data-dir", type=Path, default=None, help="Fashion-MNIST folder (default: the Debian package's)")
    args = ap.parse_args(argv)
    check_outputs(ap, json=args.json, export=args.export)
    foreign = None
    if args.config:
        try:
            foreign = C.load(C.LoopbackConfig, C.with_key(C.read_yaml(args.config), args.key))
        except ValueError as err:
            ap.error(str(err))
    from ..io import write_json
    from .replay import replay

    try:
        result = replay(args.dir, key=args.key, config=foreign, device=args.device, data_dir=args.data_dir,
                        export=args.export is not None)
    except user_errors() as err:
        return _fail(err)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for err in result.errors:
        print(f"error: {err}", file=sys.stderr)
    if result.rows:
        print(result.table())
    try:
        if args.json:
            write_json(args.json, result.document())
        if args.export:
            from ..io.sigmf_io import export_frames
            frames = export_frames(result.frames, args.export)
            print(f"{len(frames['seq'])} frames exported to {args.export}")
    except OSError as err:
        return _fail(err)
    if result.errors:
        print(f"error: {len(result.errors)} of {len(result.errors) + len(result.rows)} recordings refused "
              "(listed above); the others replayed", file=sys.stderr)
        return 2
    return 0


COMPARE_HELP = """Compare loopback runs: their curves in one plot and their numbers side by side.

    python scripts/loopback.py --channel awgn --json a.json
    python scripts/loopback.py --channel multipath --json b.json
    python scripts/compare.py a.json b.json --out results/compare.png

Each RUN is a run folder of scripts/loopback.py (results/loopback/<run>/) or a file its --json
wrote; record.py --json and replay.py --json documents hold several runs and give one line each.
Lines are labelled link/channel, defense[, attack] from each run's config, made unique with what
differs between runs of one label (--labels overrides). Prints accuracy and PSNR per SNR, one
column per run, and writes accuracy, PSNR and SSIM against SNR to --out.
"""


@interruptible
def compare_main(argv=None) -> int:
    """``scripts/compare.py``."""
    ap = _parser(COMPARE_HELP)
    ap.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders or JSON documents")
    ap.add_argument("--labels", nargs="+", default=None, help="one label per line of the plot, in order")
    ap.add_argument("--out", type=Path, default=Path("results/compare.png"),
                    help="the plot (default results/compare.png)")
    ap.add_argument("--title", default="", help="the plot's title")
    args = ap.parse_args(argv)
    check_outputs(ap, out=args.out)
    from .compare import compare, load_runs

    try:
        runs = [run for p in args.runs for run in load_runs(p)]
        if args.labels and len(args.labels) != len(runs):
            ap.error(f"--labels: {len(args.labels)} given for {len(runs)} runs")
        print(compare(runs, args.out, args.labels, args.title))
    except (ValueError, OSError) as err:
        return _fail(err)
    print(f"wrote {args.out}")
    return 0


COMMANDS = {"loopback": loopback_main, "record": record_main, "ota": ota_main, "replay": replay_main,
            "compare": compare_main}
