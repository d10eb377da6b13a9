#!/usr/bin/env python3
"""PHY-only loopback over a simulated link: frames -> channel -> stream receiver, by SNR.

Every SNR point sends ``--num-frames`` analog frames (unit-power complex Gaussian symbols, as a
semantic encoder produces) and as many digital frames (random bytes, Gray ``--modulation``),
each frame through its own channel realisation, and measures what comes back:

  frames sent/received, EVM of the analog symbols, BER of the digital payloads, the receiver's
  own SNR and CFO estimates.

The table is printed; ``<out>/<run>/`` receives ``config.yaml`` (the resolved configuration),
``results.json`` and ``loopback.png`` (EVM and BER against SNR, and a received constellation).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from semcom_phy.channel import PROFILES, SimChannel, channel_profile
from semcom_phy.config import MODULATIONS, ModemConfig, OfdmConfig, to_dict
from semcom_phy.io import new_run_dir, save_run
from semcom_phy.progress import progress


def run_point(ofdm: OfdmConfig, modem: ModemConfig, profile: str, snr_db: float, num_frames: int,
              symbols_per_frame: int, rng: np.random.Generator) -> dict:
    """One SNR point in one payload mode; returns metrics and a few received symbols."""
    from semcom_phy.phy import StreamReceiver, transmit          # scipy: after the options

    channel = SimChannel(channel_profile(profile, snr_db), ofdm, rng)
    rx = StreamReceiver(ofdm, modem, batch_samples=1)
    if modem.mode == "analog":
        z = rng.standard_normal((num_frames, symbols_per_frame)) + 1j * rng.standard_normal((num_frames, symbols_per_frame))
        payloads = list((z / np.sqrt(2)).astype(np.complex64))
    else:
        num_bytes = symbols_per_frame * modem.bits_per_symbol // 8
        payloads = [rng.bytes(num_bytes) for _ in range(num_frames)]
    frames = []
    for i, p in enumerate(payloads):            # one burst (and one fading draw) per frame
        burst = transmit([p], ofdm, modem, first_seq=i)
        silence = np.zeros(int(rng.integers(64, 512)), np.complex64)
        frames += rx.push(channel(np.concatenate([silence, burst.iq])))
    frames += rx.push(channel(np.zeros(4096, np.complex64))) + rx.push(channel.flush()) + rx.flush()
    got = {f.seq: f for f in frames}
    out = {"frames_sent": num_frames, "frames_received": len(got),
           "snr_est_db": float(np.mean([f.snr_db for f in frames])) if frames else None,
           "cfo_est_hz": float(np.mean([f.cfo_hz for f in frames])) if frames else None,
           "sfo_est_ppm": float(np.mean([f.sfo_ppm for f in frames])) if frames else None,
           "header_failures": rx.stats.header_failures, "frames_damaged": rx.stats.damaged}
    if modem.mode == "analog":
        err = [np.mean(np.abs(got[i].symbols - p) ** 2) for i, p in enumerate(payloads) if i in got]
        out["evm_db"] = float(10 * np.log10(np.mean(err))) if err else None
        out["no_eff_db"] = float(10 * np.log10(np.mean([np.mean(f.no_eff) for f in frames]))) if frames else None
    else:
        bits = 8 * len(payloads[0])
        errors = sum(int(np.count_nonzero(np.unpackbits(np.frombuffer(got[i].payload, np.uint8)
                                                        ^ np.frombuffer(p, np.uint8))))
                     for i, p in enumerate(payloads) if i in got)
        out["ber"] = errors / (bits * len(got)) if got else None
        out["frames_crc_ok"] = sum(bool(f.payload_crc_ok) for f in frames)
    c = np.concatenate([f.symbols for f in frames[:8]]) if frames else np.zeros(0, np.complex64)
    out["constellation"] = np.stack([c.real, c.imag], axis=1).round(4).tolist()   # [[re, im], ...]
    return out


def plot(rows: list[dict], path: Path, modulation: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    snr = [r["snr_db"] for r in rows]
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    ax[0].plot(snr, [r["analog"]["evm_db"] for r in rows], "o-", label="measured EVM")
    ax[0].plot(snr, [r["analog"]["no_eff_db"] for r in rows], "x--", label="receiver no_eff")
    ax[0].set(xlabel="SNR [dB]", ylabel="EVM [dB]", title="Analog symbols")
    ber = [(s, r["digital"]["ber"]) for s, r in zip(snr, rows) if r["digital"]["ber"]]
    if ber:
        ax[1].semilogy(*zip(*ber), "o-")
    zero = [s for s, r in zip(snr, rows) if r["digital"]["ber"] == 0]
    if zero:
        ax[1].semilogy(zero, [1e-5] * len(zero), "v", color="C2", label="no bit errors")
        ax[1].legend()
    ax[1].set(xlabel="SNR [dB]", ylabel="BER (uncoded)", title=f"Digital {modulation}", ylim=(5e-6, 0.5))
    mid = rows[len(rows) // 2]
    c = np.array(mid["digital"]["constellation"]).reshape(-1, 2)
    ax[2].plot(c[:, 0], c[:, 1], ".", ms=3)
    ax[2].set(title=f"Received {modulation} symbols at {mid['snr_db']:g} dB", aspect="equal",
              xlim=(-1.6, 1.6), ylim=(-1.6, 1.6))
    for a in ax[:2]:
        a.grid(True, which="both", alpha=0.3)
    ax[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--snr", type=float, nargs="+", default=[0, 5, 10, 15, 20], metavar="DB",
                    help="SNR points, Es/N0 per data resource element (default: 0 5 10 15 20)")
    ap.add_argument("--channel", choices=sorted(PROFILES), default="awgn", help="channel profile (default awgn)")
    ap.add_argument("--num-frames", type=int, default=64, help="frames per mode and SNR (default 64)")
    ap.add_argument("--symbols", type=int, default=128, help="payload symbols per frame (default 128)")
    ap.add_argument("--modulation", choices=list(MODULATIONS), default="qpsk", help="digital modulation")
    ap.add_argument("--equalizer", choices=["zf", "mmse"], default="zf", help="analog equaliser")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--out", type=Path, default=Path("results/phy_loopback"), help="results directory")
    ap.add_argument("--no-plot", action="store_true", help="skip the PNG")
    args = ap.parse_args(argv)
    if args.num_frames < 1 or args.symbols < 1:
        ap.error("--num-frames and --symbols must be >= 1")

    ofdm = OfdmConfig()
    modems = {"analog": ModemConfig(mode="analog", equalizer=args.equalizer, gap_samples=0),
              "digital": ModemConfig(mode="digital", modulation=args.modulation, gap_samples=0)}
    rng = np.random.default_rng(args.seed)
    rows = []
    for snr in progress(args.snr, desc=f"loopback ({args.channel})", unit="SNR"):
        row = {"snr_db": snr}
        for mode, modem in modems.items():
            row[mode] = run_point(ofdm, modem, args.channel, snr, args.num_frames, args.symbols, rng)
        rows.append(row)

    print(f"\nchannel {args.channel}: {args.num_frames} analog + {args.num_frames} {args.modulation} frames "
          f"of {args.symbols} symbols per SNR")
    print(f"{'SNR dB':>7} {'frames rx/tx':>13} {'EVM dB':>8} {'BER':>9} {'est. SNR':>9} {'CFO Hz':>9}")
    for r in rows:
        a, d = r["analog"], r["digital"]
        fmt = lambda v, f: format(v, f) if v is not None else "-"  # noqa: E731
        print(f"{r['snr_db']:>7g} {a['frames_received'] + d['frames_received']:>6}/{2 * args.num_frames:<6} "
              f"{fmt(a['evm_db'], '8.2f')} {fmt(d['ber'], '9.2e')} {fmt(a['snr_est_db'], '9.2f')} "
              f"{fmt(a['cfo_est_hz'], '9.0f')}")

    run_dir = new_run_dir(args.out)
    config = {"script": "phy_loopback", "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "ofdm": to_dict(ofdm), "modems": {k: to_dict(m) for k, m in modems.items()},
              "channels": {str(s): to_dict(channel_profile(args.channel, s)) for s in args.snr}}
    save_run(run_dir, config, {"rows": rows})
    if not args.no_plot:
        plot(rows, run_dir / "loopback.png", args.modulation)
    print(f"results in {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
