#!/usr/bin/env python3
"""Benchmark the OFDM physical layer: BER against theory, frame detection, CFO range, speed.

Writes one JSON document (``--json``, default ``results/bench_phy.json``) with the keys

* ``ber``: rows ``{modulation, ebn0_db, ber, theory, receiver}``; ``receiver`` is ``genie``
  (FFT windows at the true symbol starts, perfect CSI, no CFO) or ``full`` (the stream
  receiver: detection, CFO, timing, channel estimation, pilot tracking). Eb/N0 is per data
  resource element (no CP or pilot overhead), so the Q-function theory is the reference.
* ``ebn0_at_ber_1e-3_db``: ``{qpsk: {full, genie, theory}, 16qam: {...}}`` (log-linear
  interpolation between measured points).
* ``detection``: ``{awgn_5db, tdl_15db, false_frames_per_1e7_noise_samples}``; a frame counts as
  detected when it is decoded with a valid header. ``tdl_15db`` uses the longest profile with
  Rayleigh fading redrawn for every frame.
* ``cfo``: ``{max_recovered_subcarriers, residual_error_subcarriers_at_10db}`` (RMS error of the
  receiver's CFO estimate, random CFO in +-3.5 subcarriers).
* ``throughput_msps``: ``{tx, rx, ...}`` on one core: the process pins itself to ``--cpu`` with
  ``os.sched_setaffinity`` and limits BLAS/OpenMP pools to one thread before numpy loads;
  scipy.fft runs single-threaded by default. Best of several runs after a warm-up.

``--quick`` runs a reduced version in under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from semcom_phy.channel import apply_channel, awgn, noise_variance  # noqa: E402
from semcom_phy.config import MODULATIONS, ChannelConfig, ModemConfig, OfdmConfig, to_dict  # noqa: E402
from semcom_phy.version import code_version  # noqa: E402
from semcom_phy.phy import StreamReceiver, transmit  # noqa: E402
from semcom_phy.phy import frame as fr  # noqa: E402
from semcom_phy.phy.ofdm import ofdm_demodulate, split_symbols  # noqa: E402
from semcom_phy.phy.preamble import preamble_length  # noqa: E402
from semcom_phy.phy.qam import demap_hard  # noqa: E402
from semcom_phy.progress import progress  # noqa: E402

CHUNK = 1 << 16


def theory_ber(modulation: str, ebn0_db) -> np.ndarray:
    """Gray-coded uncoded BER on AWGN (nearest-neighbour approximation for square QAM)."""
    from scipy.special import erfc

    g = 10 ** (np.asarray(ebn0_db, float) / 10)
    if modulation in ("bpsk", "qpsk"):
        return 0.5 * erfc(np.sqrt(g))
    k = MODULATIONS[modulation]
    m = 2 ** k
    return 2 * (1 - 1 / np.sqrt(m)) / k * erfc(np.sqrt(3 * k * g / (2 * (m - 1))))


def ebn0_at(ebn0: np.ndarray, ber: np.ndarray, target: float = 1e-3) -> float | None:
    """Eb/N0 where the measured curve crosses ``target`` (log-linear interpolation)."""
    for i in range(len(ebn0) - 1):
        a, b = ber[i], ber[i + 1]
        if a >= target > b and b > 0:
            la, lb = np.log10(a), np.log10(b)
            return float(ebn0[i] + (np.log10(target) - la) / (lb - la) * (ebn0[i + 1] - ebn0[i]))
    return None


def receive_all(iq: np.ndarray, ofdm: OfdmConfig, modem: ModemConfig):
    # 2^19-sample batches (262 ms at 2 MSPS), as the throughput key has always been measured; the
    # receiver's default 2^16 (33 ms) trades some throughput for latency (scripts/bench_receiver.py)
    rx = StreamReceiver(ofdm, modem, batch_samples=1 << 19)
    frames = []
    for i in range(0, iq.size, CHUNK):
        frames += rx.push(iq[i:i + CHUNK])
    return frames + rx.flush(), rx.stats


def bit_errors(a: bytes, b: bytes) -> int:
    return int(np.count_nonzero(np.unpackbits(np.frombuffer(a, np.uint8) ^ np.frombuffer(b, np.uint8))))


def ber_sweep(ofdm: OfdmConfig, modulation: str, grid: np.ndarray, num_frames: int, rng) -> list[dict]:
    k = MODULATIONS[modulation]
    modem = ModemConfig(mode="digital", modulation=modulation, gap_samples=100)
    payloads = [rng.bytes(1500) for _ in range(num_frames)]
    tx = transmit(payloads, ofdm, modem)
    nh = fr.num_header_symbols(ofdm)
    num_pay = fr.num_payload_symbols(ofdm, fr.kind_code("digital", modulation), 1500)
    data_bins = ofdm.fft_bins(ofdm.data_carriers)

    nres = fr.payload_num_res(fr.kind_code("digital", modulation), 1500)

    def payload_res(iq):
        # genie: FFT windows at the true payload symbol bodies -> [frames, payload REs]
        frames = np.stack([iq[s:s + n] for s, n in zip(tx.frame_starts, tx.frame_lengths)])
        body = split_symbols(frames, ofdm, nh + num_pay, preamble_length(ofdm))[:, nh:]
        return ofdm_demodulate(body, ofdm)[..., data_bins].reshape(num_frames, -1)[:, :nres]

    sent_bits = demap_hard(payload_res(tx.iq), modulation)
    rows = []
    for ebn0 in grid:
        snr_db = float(ebn0 + 10 * np.log10(k))
        rx_iq = awgn(tx.iq, noise_variance(snr_db, ofdm), rng)
        genie = np.mean(demap_hard(payload_res(rx_iq), modulation) != sent_bits)
        frames, _ = receive_all(rx_iq, ofdm, modem)
        got = {f.seq: f for f in frames}
        errors = sum(bit_errors(got[i].payload, p) if i in got else 4 * len(p) for i, p in enumerate(payloads))
        full = errors / (8 * 1500 * num_frames)
        theory = float(theory_ber(modulation, ebn0))
        rows += [dict(modulation=modulation, ebn0_db=float(ebn0), ber=float(genie), theory=theory, receiver="genie"),
                 dict(modulation=modulation, ebn0_db=float(ebn0), ber=float(full), theory=theory, receiver="full",
                      frames_lost=num_frames - len(got))]
    return rows


def detection_rate(ofdm: OfdmConfig, channel: ChannelConfig, num_frames: int, rng, per_frame: bool) -> float:
    """Fraction of short analog frames (128 symbols) decoded with a valid header."""
    modem = ModemConfig(mode="analog", gap_samples=0)
    z = (rng.standard_normal((num_frames, 128)) + 1j * rng.standard_normal((num_frames, 128))) / np.sqrt(2)
    tx = transmit(list(z.astype(np.complex64)), ofdm, modem)
    pieces = []
    for s, n in zip(tx.frame_starts, tx.frame_lengths):
        gap = np.zeros(int(rng.integers(50, 400)), np.complex64)      # frames at arbitrary offsets
        pieces.append(np.concatenate([gap, tx.iq[s:s + n]]))
    if per_frame:   # a fresh fading realisation for every frame
        iq = np.concatenate([apply_channel(p, channel, ofdm, rng) for p in pieces])
    else:
        iq = apply_channel(np.concatenate(pieces), channel, ofdm, rng)
    frames, _ = receive_all(np.concatenate([iq, np.zeros(400, np.complex64)]), ofdm, modem)
    return len({f.seq for f in frames}) / num_frames


def false_frames(ofdm: OfdmConfig, num_samples: int, rng) -> dict:
    rx = StreamReceiver(ofdm, ModemConfig(mode="digital"))
    frames = 0
    for _ in progress(range(0, num_samples, 1 << 20), desc="noise-only", leave=False):
        n = ((rng.standard_normal(1 << 20) + 1j * rng.standard_normal(1 << 20)) / np.sqrt(2)).astype(np.complex64)
        frames += len(rx.push(n))
    frames += len(rx.flush())
    return dict(frames=frames, samples=rx.stats.samples, candidates=rx.stats.candidates,
                per_1e7=frames * 1e7 / rx.stats.samples)


def cfo_errors(ofdm: OfdmConfig, cfos: np.ndarray, snr_db: float, rng) -> tuple[np.ndarray, int]:
    """CFO estimate errors (subcarriers) of frames sent at the given CFOs; missed frame count."""
    modem = ModemConfig(mode="analog", gap_samples=200)
    z = (rng.standard_normal((len(cfos), 128)) + 1j * rng.standard_normal((len(cfos), 128))) / np.sqrt(2)
    tx = transmit(list(z.astype(np.complex64)), ofdm, modem)
    errors, missed = [], 0
    for i, cfo in enumerate(cfos):
        seg = tx.iq[tx.frame_starts[i] - 100:tx.frame_starts[i] + tx.frame_lengths[i] + 100]
        ch = ChannelConfig(snr_db=snr_db, cfo_hz=float(cfo) * ofdm.subcarrier_spacing_hz)
        frames, _ = receive_all(apply_channel(seg, ch, ofdm, rng), ofdm, modem)
        if frames:
            errors.append(frames[0].cfo_subcarriers - cfo)
        else:
            missed += 1
    return np.array(errors), missed


def max_cfo(ofdm: OfdmConfig, rng, per_point: int) -> float:
    """Largest |CFO| such that every frame at every tested |CFO| up to it is decoded with an
    error below 0.05 subcarrier (20 dB SNR, both signs, steps of 0.25)."""
    best = 0.0
    for mag in progress(np.arange(0.25, 8.01, 0.25), desc="CFO range", leave=False):
        cfos = np.repeat([mag, -mag], per_point)
        err, missed = cfo_errors(ofdm, cfos, 20.0, rng)
        if missed or np.max(np.abs(err)) > 0.05:
            break
        best = float(mag)
    return best


def throughput(ofdm: OfdmConfig, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    cases = {"": ModemConfig(mode="digital", modulation="16qam", gap_samples=100),
             "_analog_128": ModemConfig(mode="analog", gap_samples=100)}
    for suffix, modem in cases.items():
        if modem.mode == "digital":
            payloads = [rng.bytes(1500) for _ in range(200)]
        else:
            payloads = list(((rng.standard_normal((1000, 128)) + 1j * rng.standard_normal((1000, 128)))
                             / np.sqrt(2)).astype(np.complex64))
        tx = transmit(payloads, ofdm, modem)
        iq = awgn(tx.iq, noise_variance(20.0, ofdm), rng)
        times = {"tx": [], "rx": [], "tx_cpu": [], "rx_cpu": []}
        receive_all(iq, ofdm, modem)
        for _ in range(repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            transmit(payloads, ofdm, modem)
            w1, c1 = time.perf_counter(), time.process_time()
            frames, _ = receive_all(iq, ofdm, modem)
            w2, c2 = time.perf_counter(), time.process_time()
            if len(frames) != len(payloads):
                raise RuntimeError(f"throughput run decoded {len(frames)} of {len(payloads)} frames")
            for key, dt in (("tx", w1 - w0), ("rx", w2 - w1), ("tx_cpu", c1 - c0), ("rx_cpu", c2 - c1)):
                times[key].append(dt)
        for key, dt in times.items():
            name = key.replace("_cpu", suffix + "_cpu") if key.endswith("_cpu") else key + suffix
            out[name] = (tx.iq.size if key.startswith("tx") else iq.size) / min(dt) / 1e6
    out["setup"] = ("one core (sched_setaffinity), BLAS/OpenMP 1 thread; tx/rx: 200 frames of 1500-byte "
                    "16-QAM payloads; *_analog_128: 1000 frames of 128 analog symbols; rx pushes "
                    f"{CHUNK}-sample chunks; 20 dB AWGN; best of {repeats} after a warm-up; tx/rx: wall clock, "
                    "*_cpu: process CPU time (the same work without the VM's steal time)")
    return out


def plot_ber(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for i, mod in enumerate(sorted({r["modulation"] for r in rows})):
        sel = [r for r in rows if r["modulation"] == mod]
        x = sorted({r["ebn0_db"] for r in sel})
        fine = np.linspace(min(x), max(x), 100)
        ax.semilogy(fine, theory_ber(mod, fine), color=f"C{i}", lw=1, label=f"{mod} theory")
        for recv, marker in (("genie", "o"), ("full", "x")):
            pts = [(r["ebn0_db"], r["ber"]) for r in sel if r["receiver"] == recv and r["ber"] > 0]
            if pts:
                ax.semilogy(*zip(*pts), marker, color=f"C{i}", ls="none", label=f"{mod} {recv}")
    ax.set(xlabel="Eb/N0 per data RE [dB]", ylabel="BER", ylim=(1e-5, 0.5), title="Uncoded BER, AWGN")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="reduced run, under a minute on 2 cores")
    ap.add_argument("--json", type=Path, default=Path("results/bench_phy.json"), help="output JSON path")
    ap.add_argument("--plot", type=Path, default=None, help="also write a BER plot (PNG) here")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--cpu", type=int, default=0, help="core to pin the process to (default 0)")
    args = ap.parse_args(argv)
    from scipy.optimize import brentq

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    rng = np.random.default_rng(args.seed)
    ofdm = OfdmConfig()
    q = args.quick
    t_start = time.perf_counter()
    grids = {"qpsk": np.arange(0.0, 11.0, 1.0), "16qam": np.arange(4.0, 15.0, 1.0)}
    rows = []
    for mod, grid in progress(grids.items(), desc="BER"):
        rows += ber_sweep(ofdm, mod, grid, 12 if q else 80, rng)
    at = {}
    for mod in grids:
        at[mod] = {recv: ebn0_at(np.array([r["ebn0_db"] for r in rows if r["modulation"] == mod and r["receiver"] == recv]),
                                 np.array([r["ber"] for r in rows if r["modulation"] == mod and r["receiver"] == recv]))
                   for recv in ("full", "genie")}
        at[mod]["theory"] = float(brentq(lambda e: theory_ber(mod, e) - 1e-3, -5, 30))
    n_det = 400 if q else 5000
    detection = {
        "awgn_5db": detection_rate(ofdm, ChannelConfig(snr_db=5.0), n_det, rng, per_frame=False),
        "tdl_15db": detection_rate(ofdm, ChannelConfig(snr_db=15.0, multipath="tdl-long", fading="rayleigh"),
                                   n_det // 2, rng, per_frame=True),
    }
    noise = false_frames(ofdm, 2 * (1 << 20) if q else 10 * (1 << 20), rng)
    detection["false_frames_per_1e7_noise_samples"] = noise["per_1e7"]
    detection["noise_only"] = noise
    detection["frames_per_point"] = {"awgn_5db": n_det, "tdl_15db": n_det // 2}
    err, missed = cfo_errors(ofdm, rng.uniform(-3.5, 3.5, 100 if q else 1000), 10.0, rng)
    cfo = {"max_recovered_subcarriers": max_cfo(ofdm, rng, 3 if q else 20),
           "residual_error_subcarriers_at_10db": float(np.sqrt(np.mean(err ** 2))),
           "missed_frames_at_10db": missed}
    result = {
        "ber": rows,
        "ebn0_at_ber_1e-3_db": at,
        "detection": detection,
        "cfo": cfo,
        "throughput_msps": throughput(ofdm, 3 if q else 7),
        "config": {"ofdm": to_dict(ofdm), "quick": q, "seed": args.seed},
        "elapsed_s": None,
    }
    result["elapsed_s"] = round(time.perf_counter() - t_start, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({**result, "code": code_version()}, indent=1))
    if args.plot:
        plot_ber(rows, args.plot)
    print("Eb/N0 at BER 1e-3 [dB]: " + ", ".join(
        f"{m}: full {v['full']}, genie {v['genie']}, theory {v['theory']:.2f}" for m, v in at.items()))
    print(f"detection: AWGN 5 dB {detection['awgn_5db']:.4f}, TDL-long 15 dB {detection['tdl_15db']:.4f}, "
          f"false frames per 1e7 noise samples {detection['false_frames_per_1e7_noise_samples']:.2f}")
    print(f"CFO: max {cfo['max_recovered_subcarriers']} subcarriers, residual at 10 dB "
          f"{cfo['residual_error_subcarriers_at_10db']:.4f}")
    tp = result["throughput_msps"]
    print(f"throughput [MSPS, one core, wall (CPU time)]: tx {tp['tx']:.1f} ({tp['tx_cpu']:.1f}), "
          f"rx {tp['rx']:.1f} ({tp['rx_cpu']:.1f}); 128-symbol analog frames: tx {tp['tx_analog_128']:.1f}, "
          f"rx {tp['rx_analog_128']:.1f} ({tp['rx_analog_128_cpu']:.1f})")
    print(f"wrote {args.json} in {result['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
