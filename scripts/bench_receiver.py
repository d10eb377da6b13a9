#!/usr/bin/env python3
"""Benchmark the stream receiver against what real radios do to a stream.

Writes one JSON document (``--json``, default ``results/bench_receiver.json``) with the keys

* ``sfo``: per modulation and SNR (``qpsk_20db``, ``16qam_20db``, ``16qam_23db``; 1500-byte
  frames at a fractional timing) and sample-clock offset (0-100 ppm): ``crc_ok`` (share of frames
  sent that come back with a good CRC-32), next to ``theory_awgn_crc_ok`` (what an uncoded frame
  can reach on AWGN at that SNR, nearest-neighbour BER: 16-QAM at 20 dB cannot reach 99 %); per ppm for
  analog frames of the same length: ``loss_db`` (their error power over the same frames'
  without SFO), ``no_eff_calibration_db`` (actual error power over the mean reported ``no_eff``),
  ``sfo_error_ppm`` (RMS error of ``ReceivedFrame.sfo_ppm``).
* ``dc``: a receiver DC at -10 dBc with CFOs of 0-2 subcarriers at 20 dB: QPSK ``crc_ok`` and the
  analog error power over the DC-free case's (``evm_penalty_db``).
* ``interference``: 1e7 samples (``--quick``: 2e6) of noise, of a CW tone 20 dB over the noise,
  of a DC line 20 dB over the noise, and of 802.11a/g-like bursts at 20 dB: frames returned,
  detector candidates, and receiver CPU time over the noise-only run's (``cpu_vs_noise``).
* ``faults``: slips (1-50 samples lost), repeated runs (1-50), zeroed runs (4-50) and NaN/inf
  samples inside analog payloads at 20 dB: ``refused`` (share of damaged frames not returned and
  counted in ``stats.damaged``), ``nan_symbols`` (non-finite symbols ever returned),
  ``neighbours_unchanged`` (the other frames come back as without the fault).
* ``multipath``: two-ray channels (0 and -3 dB echoes 8, 12, 15 samples late) and a -8 dB first
  path 10 samples early, at 20 dB: ``loss_db``, the error power weighted by each carrier's true
  channel gain over the noise, against the same measure on AWGN alone (the receiver's own
  estimation loss cancels: what remains is what the channel's delay spread costs it).
* ``speed``: the PHY alone on one core (BLAS/OpenMP pools of one thread) on a stream of the
  semantic link's frames (128 symbols, 256-sample gaps) at 2 MSPS, 20 dB: ``x_real_time_cpu``
  (air time over CPU time) at ``batch_latency_ms`` (``StreamReceiver.batch_samples`` over the
  sample rate).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from semcom_phy.channel import apply_channel, awgn, multipath, noise_variance  # noqa: E402
from semcom_phy.channel import faults  # noqa: E402
from semcom_phy.version import code_version  # noqa: E402
from semcom_phy.config import ChannelConfig, ModemConfig, OfdmConfig  # noqa: E402
from semcom_phy.phy import StreamReceiver, transmit  # noqa: E402
from semcom_phy.phy import frame as fr  # noqa: E402
from semcom_phy.progress import progress  # noqa: E402

CHUNK = 1 << 16
OFDM = OfdmConfig()


def run(iq: np.ndarray, modem: ModemConfig, batch_samples: int = 1 << 16):
    """(frames, stats, CPU seconds) of the stream receiver over iq, pushed in CHUNK pieces."""
    rx = StreamReceiver(OFDM, modem, batch_samples=batch_samples)
    t0 = time.process_time()
    frames = []
    for i in range(0, iq.size, CHUNK):
        frames += rx.push(iq[i:i + CHUNK])
    frames += rx.flush()
    return frames, rx.stats, time.process_time() - t0


def analog_frames(num: int, size: int, rng, gap: int = 100):
    modem = ModemConfig(mode="analog", gap_samples=gap)
    z = ((rng.standard_normal((num, size)) + 1j * rng.standard_normal((num, size))) / np.sqrt(2)).astype(np.complex64)
    return modem, z, transmit(list(z), OFDM, modem)


def lead(iq: np.ndarray, n: int = 137) -> np.ndarray:
    return np.concatenate([np.zeros(n, np.complex64), iq, np.zeros(400, np.complex64)])


def errors(frames, z):
    """(actual error power, mean no_eff, SFO estimates) over the frames that came back."""
    err = np.mean([np.mean(np.abs(f.symbols - z[f.seq]) ** 2) for f in frames])
    return float(err), float(np.mean([np.mean(f.no_eff) for f in frames])), np.array([f.sfo_ppm for f in frames])


def db(x: float) -> float:
    return round(float(10 * np.log10(x)), 3)


def frame_success_theory(modulation: str, snr_db: float, num_bytes: int) -> float:
    """(1 - BER)^bits of an uncoded Gray-QAM frame on AWGN at Es/N0 ``snr_db`` (nearest-neighbour
    BER): the best CRC-ok rate any receiver can reach."""
    from scipy.special import erfc

    k = {"qpsk": 2, "16qam": 4}[modulation]
    es = 10 ** (snr_db / 10)
    if k == 2:
        ber = 0.5 * erfc(np.sqrt(es / 2))
    else:
        ber = 3 / 8 * erfc(np.sqrt(es / 10))
    return float((1 - ber) ** (8 * (num_bytes + fr.PAYLOAD_CRC_BYTES)))


def bench_sfo(num: int, rng) -> dict:
    """Frames arrive at a fractional timing (0.37 samples) in every case, as they do over the air;
    an integer timing would make the 0 ppm reference about 0.4 dB better than any real case."""
    out = {}
    cfo = 0.37 * OFDM.subcarrier_spacing_hz

    def channel(ppm, snr_db=20.0):
        return ChannelConfig(snr_db=snr_db, sfo_ppm=ppm, cfo_hz=cfo, timing_offset_samples=0.37)

    for mod, snr_db in (("qpsk", 20.0), ("16qam", 20.0), ("16qam", 23.0)):
        modem = ModemConfig(mode="digital", modulation=mod, gap_samples=100)
        payloads = [rng.bytes(1500) for _ in range(num)]
        tx = transmit(payloads, OFDM, modem)
        row = out.setdefault(f"{mod}_{snr_db:g}db", {"theory_awgn_crc_ok": round(frame_success_theory(mod, snr_db, 1500), 4)})
        for ppm in (0, 10, 25, 50, 100):
            frames, _, _ = run(apply_channel(lead(tx.iq), channel(ppm, snr_db), OFDM, rng), modem)
            ok = sum(f.payload_crc_ok and f.payload == payloads[f.seq] for f in frames)
            row[f"{ppm}ppm"] = {"crc_ok": ok / num}
    size = fr.payload_num_res(fr.kind_code("digital", "qpsk"), 1500)
    modem, z, tx = analog_frames(max(num // 4, 10), size, rng)
    ref = None
    for ppm in (0, 10, 25, 50, 100):
        frames, _, _ = run(apply_channel(lead(tx.iq), channel(ppm), OFDM, rng), modem)
        err, no, sfo = errors(frames, z)
        ref = ref or err
        out.setdefault("analog", {})[f"{ppm}ppm"] = {
            "frames": len(frames), "loss_db": db(err / ref), "no_eff_calibration_db": db(err / no),
            "sfo_error_ppm": round(float(np.sqrt(np.mean((sfo - ppm) ** 2))), 2)}
    return out


def bench_dc(num: int, rng) -> dict:
    out = {}
    qpsk = ModemConfig(mode="digital", modulation="qpsk", gap_samples=100)
    payloads = [rng.bytes(1500) for _ in range(num)]
    tx_d = transmit(payloads, OFDM, qpsk)
    modem, z, tx_a = analog_frames(num, 1000, rng)
    for cfo in (0.0, 0.5, 0.8, 2.0):
        row = {}
        for level, key in ((0.0, "clean"), (np.sqrt(0.1), "dc")):
            ch = ChannelConfig(snr_db=20.0, cfo_hz=cfo * OFDM.subcarrier_spacing_hz, dc_offset=level, dc_offset_phase_deg=37.0)
            frames, _, _ = run(apply_channel(lead(tx_d.iq), ch, OFDM, rng), qpsk)
            row[f"crc_ok_{key}"] = sum(f.payload_crc_ok and f.payload == payloads[f.seq] for f in frames) / num
            frames, _, _ = run(apply_channel(lead(tx_a.iq), ch, OFDM, rng), modem)
            row[f"analog_error_{key}"] = errors(frames, z)[0] if frames else None
        out[f"cfo_{cfo}"] = {"crc_ok": row["crc_ok_dc"], "crc_ok_without_dc": row["crc_ok_clean"],
                             "evm_penalty_db": db(row["analog_error_dc"] / row["analog_error_clean"])}
    return out


def bench_interference(num_samples: int, rng) -> dict:
    noise = lambda n: ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)
    streams = {
        "noise": lambda: noise(num_samples),
        "cw_tone_20db": lambda: noise(num_samples) + faults.tone(num_samples, 0.1234, 100.0),
        "dc_line_20db": lambda: noise(num_samples) + faults.tone(num_samples, 0.0, 100.0, 0.7),
        "wifi_bursts_20db": lambda: noise(num_samples) + faults.wifi_like_bursts(num_samples, rng, power=100.0),
    }
    out = {}
    for name, make in streams.items():
        frames, stats, cpu = run(make(), ModemConfig(mode="analog"))
        out[name] = {"samples": num_samples, "frames": len(frames), "candidates": stats.candidates,
                     "header_decodes": stats.candidates - stats.false_triggers, "cpu_s": round(cpu, 3)}
    for row in out.values():
        row["cpu_vs_noise"] = round(row["cpu_s"] / out["noise"]["cpu_s"], 3)
    return out


FAULTS = {
    "slip": [(faults.drop_samples, n) for n in (1, 2, 5, 10, 20, 50)],
    "repeat": [(faults.repeat_samples, n) for n in (1, 5, 20, 50)],
    "zero": [(faults.zero_samples, n) for n in (4, 10, 20, 50)],
    "nonfinite": [(lambda x, at, n: faults.nonfinite_samples(x, at, n), 1), (lambda x, at, n: faults.nonfinite_samples(x, at, n, np.inf), 1),
                  (lambda x, at, n: faults.nonfinite_samples(x, at, n), 10)],
}


def bench_faults(trials: int, rng) -> dict:
    modem, z, tx = analog_frames(12, 500, rng)
    clean_iq = apply_channel(lead(tx.iq), ChannelConfig(snr_db=20.0), OFDM, rng)
    clean, _, _ = run(clean_iq, modem)
    ref = {f.seq: f.symbols for f in clean}
    out = {}
    for kind, cases in FAULTS.items():
        refused = damaged = nan = unchanged = total = 0
        for fault, n in cases:
            for _ in range(trials):
                j = int(rng.integers(2, 10))              # a frame in the middle of the train
                a = 137 + int(tx.frame_starts[j])
                pay = a + int(tx.frame_lengths[j])
                at = int(rng.integers(a + 5 * OFDM.symbol_length_samples + 240, pay - n))   # inside its payload
                frames, stats, _ = run(fault(clean_iq, at, n), modem)
                total += 1
                got = {f.seq: f for f in frames}
                refused += j not in got and stats.damaged >= 1
                nan += sum(int(np.count_nonzero(~np.isfinite(f.symbols)) + np.count_nonzero(~np.isfinite(f.no_eff)))
                           for f in frames)
                others = [s for s in ref if s != j]
                unchanged += all(s in got and np.allclose(got[s].symbols, ref[s], rtol=1e-4, atol=1e-4) for s in others)
        out[kind] = {"cases": total, "refused": refused / total, "nan_symbols": nan,
                     "neighbours_unchanged": unchanged / total}
    return out


def bench_multipath(num: int, rng) -> dict:
    modem, z, tx = analog_frames(num, 20 * OFDM.num_data_carriers, rng)
    n0 = noise_variance(20.0, OFDM)

    def loss(delays, gains):
        gains = np.asarray(gains, complex) / np.sqrt(np.sum(np.abs(gains) ** 2))
        y = awgn(multipath(lead(tx.iq), delays, gains[:, None]), n0, rng)
        frames, _, _ = run(y, modem)
        taps = np.zeros(OFDM.fft_size, complex)
        taps[np.asarray(delays)] = gains
        gain = np.abs(np.fft.fft(taps)[OFDM.fft_bins(OFDM.data_carriers)]) ** 2        # |H_k|^2, data carriers
        # each frame's error per data carrier (whole OFDM symbols of 48), weighted by the carrier's gain
        eff = [np.mean((np.abs(f.symbols - z[f.seq]) ** 2).reshape(-1, gain.size) * gain) for f in frames]
        return len(frames), float(np.mean(eff)) / 10 ** (-20 / 10)

    n_awgn, ref = loss([0], [1.0])
    out = {"awgn": {"frames": n_awgn, "effective_noise_db": db(ref)}}
    for echo_db in (0.0, -3.0):
        for d in (8, 12, 15):
            frames, eff = loss([0, d], [1.0, 10 ** (echo_db / 20) * np.exp(0.9j)])
            out[f"two_ray_{echo_db:g}db_{d}"] = {"frames": frames, "loss_db": db(eff / ref)}
    frames, eff = loss([0, 10], [10 ** (-8 / 20) * np.exp(2.1j), 1.0])
    out["early_path_-8db_10"] = {"frames": frames, "loss_db": db(eff / ref)}
    return out


def bench_speed(seconds: float, rng) -> dict:
    k = 128
    num = int(seconds * OFDM.sample_rate_hz / (fr.frame_length_samples(OFDM, 0, k) + 256))
    modem, z, tx = analog_frames(num, k, rng, gap=256)
    iq = apply_channel(lead(tx.iq), ChannelConfig(snr_db=20.0), OFDM, rng)
    out = {}
    for batch in (1 << 14, 1 << 16, 1 << 18):
        run(iq[:200_000], modem, batch)                   # warm-up
        frames, stats, cpu = run(iq, modem, batch)
        out[f"batch_{batch}"] = {"batch_latency_ms": round(batch / OFDM.sample_rate_hz * 1e3, 1),
                                 "frames": len(frames), "frames_sent": num,
                                 "x_real_time_cpu": round(iq.size / OFDM.sample_rate_hz / cpu, 2)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, default=Path("results/bench_receiver.json"), help="output JSON path")
    ap.add_argument("--quick", action="store_true", help="fewer frames and samples (about a minute)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--only", nargs="+", choices=("sfo", "dc", "interference", "faults", "multipath", "speed"),
                    help="run only these sections")
    args = ap.parse_args(argv)
    if args.seed < 0:
        ap.error(f"--seed {args.seed}: allowed >= 0")
    if args.json.exists() and args.json.is_dir():
        ap.error(f"--json {args.json}: is a folder; give a file path")
    rng = np.random.default_rng(args.seed)
    q = args.quick
    sections = {
        "sfo": lambda: bench_sfo(30 if q else 100, rng),
        "dc": lambda: bench_dc(20 if q else 100, rng),
        "interference": lambda: bench_interference(2_000_000 if q else 10_000_000, rng),
        "faults": lambda: bench_faults(2 if q else 5, rng),
        "multipath": lambda: bench_multipath(10 if q else 40, rng),
        "speed": lambda: bench_speed(2.0 if q else 10.0, rng),
    }
    t0 = time.time()
    result = {"config": {"quick": q, "seed": args.seed, "ofdm_sample_rate_hz": OFDM.sample_rate_hz}}
    bar = progress(args.only or list(sections), desc="bench_receiver", unit="section")
    for name in bar:
        result[name] = sections[name]()
        bar.write(f"{name}: {json.dumps(result[name])}")
    result["elapsed_s"] = round(time.time() - t0, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({**result, "code": code_version()}, indent=1))
    print(f"wrote {args.json} in {result['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
