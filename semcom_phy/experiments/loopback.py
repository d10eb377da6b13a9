"""The loopback experiment: Fashion-MNIST test images through the OFDM link and back, by SNR.

:func:`run_loopback` runs a :class:`~semcom_phy.experiments.LoopbackConfig`: each image is encoded
into k complex symbols (the configured codec and defense), framed, sent through the transport
(the simulated channel, GNU Radio's channel blocks over ZeroMQ, or radios), found and equalised by
the stream receiver, decoded and classified, once per SNR point (one run over radios, at the SNR
the air gives). An attack, if configured, is crafted against the link's own defense at each
run's SNR (white box, :mod:`semcom_phy.attacks.live`); metrics are always measured against the
clean images. With ``record`` set, every run's TX and RX IQ is recorded as SigMF.

A run goes in chunks of ``chunk_images`` images (``LoopbackConfig.chunk``): each chunk is picked
from the test set, attacked, sent, received and decoded, its metrics summed
(:class:`~semcom_phy.link.RunMetrics`) and its samples streamed to the recording, then dropped,
so memory does not grow with the run and one run can send up to 10^6 images (the 10,000 test
images repeat beyond 10,000). The link's sequence numbers, scrambling and random draws carry on
from chunk to chunk; each chunk starts a capture segment of the recording.

:func:`save_loopback` writes a run folder: ``config.yaml`` (the resolved config, loadable with
``--config``), ``results.json`` (config, run details with the code version, result rows),
``images.png`` and ``curves.png``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import LoopbackConfig, dump

ATTACK_AIR_SNR_DB = 10.0     # the SNR an attacker assumes over the air, where the run does not set one
SHOWN_IMAGES = 10            # images kept per run for the image plot


@dataclass
class LoopbackResult:
    """What one loopback experiment measured.

    config : the resolved :class:`LoopbackConfig`
    rows : one dict per run (``snr_db``, ``channel``, ``attack`` and the link's metrics:
        ``frames_sent``, ``frames_received``, ``images_lost``, ``accuracy``, ``images_abstained``,
        ``abstain_rate`` (the smoothed receiver's abstentions), ``psnr_db``, ``ssim``,
        the EVMs, measured SNR/CFO/SFO, receiver counters)
    clean_accuracy : the defense's own classifier on the original images (the ceiling)
    run : what was resolved when it ran: device, code version, codec name and SHA-256, test-image
        indices, the channel and flowgraph parameters per SNR, the radio settings
    recordings : the RX/TX SigMF metadata files written (``config.record``)
    originals, shown : float [n, 1, 28, 28] the first images and, per run, (SNR, what came back)
    """

    config: LoopbackConfig
    rows: list[dict]
    clean_accuracy: float
    elapsed_s: float
    run: dict
    recordings: list[str] = field(default_factory=list)
    originals: object = field(default=None, repr=False)
    shown: list = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        return run_label(self.config)

    def document(self) -> dict:
        """The JSON document of the run: ``{config, run, results, clean_accuracy, elapsed_s, recordings}``."""
        return {"config": dump(self.config), "run": self.run, "results": self.rows,
                "clean_accuracy": self.clean_accuracy, "elapsed_s": round(self.elapsed_s, 1),
                "recordings": self.recordings}

    def table(self) -> str:
        """The printed summary: one line per run."""
        cfg = self.config
        smoothed = cfg.link.defense.defense == "smoothed"      # its abstentions get a column
        lines = [f"{cfg.num_images} test images over {self.label}, k = {self.run['codec']['num_symbols']} symbols per "
                 f"image (k/n = {self.run['codec']['bandwidth_ratio']:.3f}); classifier on the originals: "
                 f"{self.clean_accuracy:.3f}",
                 f"{'SNR dB':>7} {'frames rx/tx':>13} {'lost':>5} {'accuracy':>9}" + (f" {'abstained':>9}" if smoothed
                                                                                        else "") +
                 f" {'PSNR dB':>8} {'SSIM':>6} {'EVM(ZF) dB':>11} {'EVM(MMSE) dB':>13}"]
        for r in self.rows:
            evm = [f"{r[k]:.2f}" if r.get(k) is not None else "-" for k in ("evm_db", "evm_mmse_db")]
            lines.append(f"{r['snr_db']:>7g} {r['frames_received']:>6}/{r['frames_sent']:<6} {r['images_lost']:>5} "
                         f"{r['accuracy']:>9.3f}" + (f" {r['images_abstained']:>9}" if smoothed else "") +
                         f" {r['psnr_db']:>8.2f} {r['ssim']:>6.3f} {evm[0]:>11} {evm[1]:>13}")
        if smoothed:
            lines.append("abstained: images the smoothed receiver's PREDICT abstained on (counted wrong in accuracy)")
        first = self.rows[0]
        if cfg.transport.air and first.get("cfo_est_hz") is not None:
            burst = self.run["radio"].get("tx_burst")
            lines.append(f"SNR and CFO as the receiver measured them: CFO {first['cfo_est_hz'] / 1e3:.2f} kHz "
                         f"({first['cfo_est_hz'] / carrier_hz(cfg.transport) * 1e6:.2f} ppm of the LO)" + (
                             "" if not burst else
                             f"; TX burst of {burst['samples']} samples, PAPR {burst['papr_db']:.1f} dB, "
                             f"{burst['rms_dbfs']:.1f} dBFS RMS, clip rate TX {burst['clip_rate']:.1e} "
                             f"RX {burst['rx_clip_rate']:.1e}"))
        return "\n".join(lines)


def run_tags(cfg: LoopbackConfig) -> tuple[str, str]:
    """(channel, attack) of a run: the channel profile (``air`` over radios) and the attack's name
    with its budget (``none`` without one)."""
    return ("air" if cfg.transport.air else cfg.transport.channel), cfg.attack.name


def run_label(cfg: LoopbackConfig) -> str:
    """``link/channel, defense[, attack]`` of a run."""
    channel, attack = run_tags(cfg)
    return (f"{cfg.transport.kind}/{channel}, defense {describe(cfg.link.defense)}"
            + ("" if attack == "none" else f", attack {attack}"))


def describe(d) -> str:
    """A :class:`~semcom_phy.purify.DefenseConfig` in a few words."""
    scrambled = "" if not d.scramble else ", scrambled" + (" (mixing)" if d.scramble_mode == "mix" else "")
    if d.defense == "smoothed":
        return f"smoothed (sigma_r {d.sigma_r:g}, {d.votes} votes, alpha {d.alpha:g}){scrambled}"
    if d.evaluations_per_image == 0:
        return d.defense + scrambled
    sender = f"t_s {d.sender_step}, " if d.defense in ("latent", "image") else ""
    if d.defense == "image" and d.image_step >= 0:
        sender += f"t* {d.image_step}, "
    return (f"{d.defense} ({sender}{d.nfe} NFE, {'stochastic' if d.stochastic else 'deterministic'}"
            + (f", {d.votes} votes" if d.votes > 1 else "") + f"){scrambled}")


def run_loopback(cfg: LoopbackConfig, *, log=print, monitor=None) -> LoopbackResult:
    """Run the experiment ``cfg``; ``log`` gets one-line notes (e.g. what GNU Radio cannot model);
    ``monitor``: a :class:`~semcom_phy.transport.monitor.MonitorFeed` that sees every frame received.

    Raises the errors a user can act on with their cause named: ``DatasetError`` (Fashion-MNIST
    missing), ``WeightsError`` (weights missing or modified), ``FlowgraphError`` (GNU Radio missing
    or its flowgraph died), ``PlutoError`` (no radio at the URI), ``ValueError`` (a setting the
    hardware or models refuse)."""
    from ..io.signals import deferred_signals

    with deferred_signals():        # a signal in the middle of torch's import leaves its C++ state half made
        import torch

        from ..attacks.live import LiveAttack
        from ..channel.profiles import channel_profile
        from ..config import to_dict
        from ..data import load_split, pick_indices, take_images, to_tensor
        from ..link import Link, RunMetrics
        from ..progress import progress
        from ..purify import load_defense
        from ..semantic import load_codec, pick_device
        from ..symbol_link import SymbolLink
        from ..transport.zmq import channel_emulator_params
        from ..transports import open_transport, require_gnuradio
        from ..version import code_version

    device = pick_device(cfg.device)
    link_cfg, ofdm, channel_name = cfg.link, cfg.link.ofdm, run_tags(cfg)[0]
    if cfg.transport.kind in ("gnuradio", "flowgraph"):
        require_gnuradio(cfg.transport.kind)                # a missing GNU Radio or radio: before any work
    if cfg.transport.kind == "flowgraph" and cfg.record:
        raise ValueError("--record with --link flowgraph: the IQ stays in the flowgraph (record it there, or "
                         "record over --link gnuradio)")
    if cfg.transport.kind == "flowgraph" and cfg.transport.flowgraph:
        from ..transport.pdu import check_flowgraph

        check_flowgraph(cfg.transport.flowgraph)            # its contract, before any work
    radios = open_transport(cfg.transport, None, ofdm, cfg.seed, modem=link_cfg.modem) if cfg.transport.air else None
    try:
        codec = load_codec(link_cfg.codec, device)
        defense = load_defense(link_cfg.defense, codec, device)
        test = load_split("test", cfg.data_dir)
        train = load_split("train", cfg.data_dir) if cfg.attack.attack == "universal" else None
        rng = np.random.default_rng(cfg.seed)               # the images, then the simulated channels
        pick = pick_indices(cfg.num_images, rng, len(test))
    except BaseException:
        if radios:
            radios.close()
        raise
    if train is not None:
        train = to_tensor(train.images), torch.from_numpy(train.labels.astype(np.int64))
    if cfg.transport.kind in ("gnuradio", "flowgraph") and not cfg.transport.air:
        ignored = channel_emulator_params(channel_profile(cfg.transport.channel, None), ofdm)[1]
        if ignored:
            log(f"note: GNU Radio's channel blocks do not model {', '.join(ignored)} of the "
                f"{cfg.transport.channel} profile")
    chunks = [pick[a:a + cfg.chunk] for a in range(0, len(pick), cfg.chunk)]
    run = {"device": str(device), "code": code_version(),
           "codec": {"name": codec.name, "sha256": codec.sha256, **to_dict(codec.cfg),
                     "bandwidth_ratio": codec.cfg.bandwidth_ratio},
           "weights": weights_used(codec, defense), "images": pick.tolist(), "chunk_images": cfg.chunk,
           "channels": None if cfg.transport.air else
           {f"{s:g}": to_dict(channel_profile(cfg.transport.channel, s)) for s in cfg.snr_db},
           "flowgraph": None if cfg.transport.kind not in ("gnuradio", "flowgraph") else {
               "name": "channel_emulator" if cfg.transport.kind == "gnuradio" else
               cfg.transport.flowgraph or "semantic_emulator",
               "params": None if cfg.transport.air else
               {f"{s:g}": channel_emulator_params(channel_profile(cfg.transport.channel, s), ofdm, cfg.seed)[0]
                for s in cfg.snr_db}},
           "radio": None if not cfg.transport.air else {"link": cfg.transport.kind}}
    rows, shown, recordings = [], [], []
    t0 = time.time()
    bar = progress(total=len(cfg.runs) * len(pick), unit="image",
                   desc=f"loopback {cfg.transport.kind}/{channel_name}/{link_cfg.defense.defense}")
    for snr in cfg.runs:
        attack = None if cfg.attack.attack == "none" else LiveAttack(
            cfg.attack, SymbolLink(defense.single_vote(), ATTACK_AIR_SNR_DB if snr is None else snr,
                                   fading=channel_name in ("fading", "multipath")),
            torch.Generator(device).manual_seed(cfg.seed + 1), train)
        recorder, sums = None, RunMetrics()
        try:
            with deferred_signals():                         # made and held whole, or not at all
                recorder = open_recorder(cfg, snr, run)
            with radios or open_transport(cfg.transport, snr, ofdm, cfg.seed, rng, link_cfg.modem) as transport:
                generator = torch.Generator(device).manual_seed(cfg.seed)       # every run from the same seed
                link = Link(codec, transport, ofdm, link_cfg.modem, defense, generator, link_cfg.interleave,
                            recorder, monitor=monitor)
                for i, ids in enumerate(chunks):             # constant memory: a chunk of images at a time
                    x, labels, _ = take_images(test, ids, device)
                    x_sent, delta = x, None
                    if attack:
                        with torch.enable_grad():
                            x_sent, delta = attack(x, labels)
                    out = link.run(x, image_ids=ids, labels=labels.cpu().numpy(), x_sent=x_sent, delta_air=delta)
                    sums.add(out, x, labels)
                    if i == 0:
                        kept = out.x_hat[:SHOWN_IMAGES].cpu()
                    bar.update(len(ids))
                tx_burst = getattr(transport, "last_burst", None)
        except BaseException:                                # an interrupted run leaves no recording behind
            bar.close()
            if recorder:
                recorder.abort()
            raise
        if recorder:
            recordings.append(str(recorder.close()[1]))
        m = sums.result()
        snr = snr if snr is not None else round(m["snr_est_db"] or float("nan"), 2)   # radios: as measured
        rows.append({"snr_db": snr, "channel": channel_name, "attack": cfg.attack.name, **m})
        shown.append((snr, kept))
        if cfg.transport.air:
            run["radio"]["tx_burst"] = tx_burst
    bar.close()
    elapsed = time.time() - t0
    correct = 0
    with torch.no_grad():                                    # the defense's own codec on the originals
        for ids in chunks:
            x, labels, _ = take_images(test, ids, device)
            correct += int((defense.codec.classify(x).argmax(dim=-1) == labels).sum())
    originals = take_images(test, pick[:SHOWN_IMAGES], device).images.cpu()
    return LoopbackResult(cfg, rows, correct / len(pick), elapsed, run, recordings, originals, shown)


def weights_used(codec, defense) -> dict:
    """Name and SHA-256 of the models a run used: the codec, and the defense's own codec when it has
    one (a recording names its weights by these, never by a path)."""
    out = {"codec": {"name": codec.name, "sha256": codec.sha256}}
    if defense.codec is not codec:
        out["defense_codec"] = {"name": getattr(defense.codec, "name", None), "sha256": defense.codec.sha256}
    return out


def portable(cfg: LoopbackConfig, codec_name: str) -> LoopbackConfig:
    """``cfg`` without what only this machine knows: no folders, the codec by name."""
    return dataclasses.replace(cfg, record=None, data_dir=None,
                               link=dataclasses.replace(cfg.link, codec=codec_name))


def open_recorder(cfg: LoopbackConfig, snr: float | None, run: dict):
    """The SigMF recorder of one run (``cfg.record``), or None. Its metadata holds no path and no
    key: the portable config (key fingerprint only), the run details and the weights by name and
    SHA-256."""
    if not cfg.record:
        return None
    from ..io.sigmf_io import LinkRecorder

    t = cfg.transport
    hw = {"sim": "simulated channel (semcom_phy.channel.SimChannel)",
          "gnuradio": "GNU Radio channels.channel_model over ZeroMQ (semcom_phy flowgraph channel_emulator)",
          "soapy": f"SoapySDR via gr-soapy (semcom_phy flowgraph soapy_txrx): TX {t.sdr.tx}, RX {t.sdr.rx}",
          "uhd": f"USRP via gr-uhd (semcom_phy flowgraph uhd_txrx): TX {t.sdr.tx or 'first found'}, "
                 f"RX {t.sdr.rx or 'first found'}"}.get(
        t.kind, f"ADALM-PlutoSDR via {'pyadi-iio' if t.kind == 'pluto' else 'gr-iio'}: "
                f"TX {t.radio.tx_uri or t.radio.uri}, RX {t.radio.rx_uri or t.radio.uri}")
    channel, attack = run_tags(cfg)
    name = f"{t.kind}_{channel}_" + ("air" if snr is None else f"{snr:g}dB") + ("" if attack == "none" else f"_{attack}")
    folder, stem, n = Path(cfg.record), name, 1
    while any((folder / f"{name}-{s}.sigmf-{e}").exists() for s in ("tx", "rx") for e in ("meta", "data")):
        n += 1                                                  # a recording is never overwritten: a new name
        name = f"{stem}_{n}"
    meta = {"experiment": "loopback", "config": dump(portable(cfg, run["codec"]["name"])),
            "run": {k: v for k, v in run.items() if k != "weights"}, "run_snr_db": snr}
    return LinkRecorder(folder / name, cfg.link.ofdm.sample_rate_hz,
                        frequency_hz=carrier_hz(t) if t.air else 0.0, hw=hw,
                        fields={"snr_db": snr, "defense": dump(cfg.link.defense), **cfg.attack.fields()},
                        config=meta, weights=run["weights"])


def carrier_hz(t) -> float:
    """The carrier of an air link: the SoapySDR/USRP radio's (``sdr``) or the Pluto's (``radio``)."""
    return t.sdr.lo_hz if t.kind in ("soapy", "uhd") else t.radio.lo_hz


def save_loopback(result: LoopbackResult, out: str | Path, *, plot: bool = True, json_path: str | Path | None = None,
                  name: str | None = None) -> Path:
    """Write ``<out>/<run>/`` (``config.yaml``, ``results.json``, with ``plot`` the PNG files) and,
    with ``json_path``, the document there too; returns the run folder."""
    from ..io import new_run_dir, save_run, write_json
    from .plots import plot_curves, plot_images

    run_dir = new_run_dir(out, name)
    document = result.document()
    save_run(run_dir, document["config"], document)
    if json_path:
        write_json(json_path, document)
    if plot:
        plot_images(result.originals, result.shown, run_dir / "images.png")
        plot_curves([(result.label, result.rows)], run_dir / "curves.png", f"{result.config.num_images} images",
                    result.clean_accuracy)
    return run_dir
