#!/usr/bin/env python3
"""Benchmark the ZeroMQ transport through GNU Radio, side by side with a raw pyzmq loop.

1. ``transport_msps``: complex64 samples per second through the ``channel_emulator`` flowgraph
   (``semcom_phy/flowgraphs/``, clean channel) with :class:`semcom_phy.transport.zmq.ZmqTransport`: a sender thread calls
   ``send`` while the main thread ``receive``s, counting from the first send to the last sample
   back. The samples carry a counter (real part n mod 2^23, imaginary part n // 2^23, exact in
   float32), so every sample that comes back is checked: none lost, none duplicated, none out of
   order (GNU Radio's resampler advances the stream by 3 samples and holds 5 at the end).
2. ``raw_zmq_msps``: the same through the same flowgraph with bare pyzmq sockets (PUSH in a
   thread, PULL in the main loop), the reference the transport is held to.
3. ``images_per_s``: the semantic loopback (512 images, 10 dB AWGN, no defense) over the
   simulated transport, over GNU Radio with IQ over ZeroMQ (``gnuradio``: the PHY here, the
   channel in the ``channel_emulator`` flowgraph) and through the project's GNU Radio blocks
   (``flowgraph``: Semantic OFDM TX -> channel_model -> Semantic OFDM RX in the
   ``semantic_emulator`` flowgraph, frames as PDUs), each with its set-up (flowgraph start) in
   the time, same run; ``--loopback-only`` measures only these.
4. ``recording_overhead``: the same loopback over the simulated transport with and without SigMF
   recording of its TX and RX streams (written, hashed, validated and closed), median of 5 runs
   each: the recorded run's time over the plain one's, minus 1.
5. ``receive_path``: the semantic receiver in x real time (air time over wall or CPU time) on
   a stream of ``--air-s`` seconds of semantic frames (test images, repeated, 8 frames per
   interleave group, 10 dB AWGN), pushed in 4096-sample chunks as a radio delivers them:

   * ``phy``: the stream receiver alone, per ``batch_samples`` (its batching latency in ms):
     ``x_real_time_cpu`` (air over process CPU time: one core, numpy's BLAS on one thread) and
     ``x_real_time`` (wall);
   * ``decoder``: reassembly, decoder and classifier alone on the frames found, per precision, on
     one thread (``x_real_time_cpu``: air over that thread's CPU time), with accuracy and PSNR;
   * ``complete``: PHY and decoder pipelined (:meth:`SemanticLink.receive_stream`), per
     configuration: ``x_real_time`` (air over wall time, both cores), ``x_real_time_cpu`` (air
     over the process's CPU time, every thread), each stage's (the decoder's with one decoder
     thread only: OpenMP's helper threads are not counted), ``latency_ms`` (the receiver's
     batching), accuracy and PSNR, and whether its outputs equal the batch receiver's on the same
     frames; ``paced``, ``paced_bfloat16``: the default configuration (and in bfloat16) fed at the
     air rate, ``lag_ms`` from the last sample's arrival to the last image decoded (near the
     batching latency when it keeps up, growing with the stream when it does not).

   The script runs with ``OPENBLAS_NUM_THREADS=1`` and ``OMP_WAIT_POLICY=PASSIVE`` (below). At
   the top of the section: ``x_real_time`` and ``latency_ms`` of the default configuration
   (:class:`~semcom_phy.pipeline.ReceiveConfig`), ``phy_x_real_time_cpu`` of the PHY alone at its
   batch, ``decoder_x_real_time_cpu`` of the float32 decoder alone.

Writes JSON (``--json``, default ``results/bench_link.json``) with the config that produced it.
``--quick``: 10^7 samples (about 10 s) and 1.5 s of air (the receive path in about 40 s);
default 10^8 and 4 s (about 100 s).
``--receive-path-only``: the receive path alone (no GNU Radio needed).
"""

from __future__ import annotations

import os

# Thread settings of a real-time receiver on 2 cores, before numpy and torch load: numpy's OpenBLAS
# would run the receiver's small matrix products on a second, spinning thread (twice the
# receiver's CPU time for no gain in wall time, on the decoder's core), and OpenMP threads that
# spin while waiting for work take the receiver's core (OMP_WAIT_POLICY=ACTIVE: half the speed)
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from semcom_phy.config import ChannelConfig, ModemConfig, OfdmConfig  # noqa: E402
from semcom_phy.transport.zmq import Flowgraph, channel_emulator, free_tcp_address, gnuradio_available  # noqa: E402
from semcom_phy.validation import arg_type  # noqa: E402
from semcom_phy.version import code_version  # noqa: E402

CHUNK = 1 << 16
LAG, HELD = 3, 5                       # channel_model: y[n] = x[n + 3]; 5 samples stay inside


def counter(start: int, n: int) -> np.ndarray:
    k = np.arange(start, start + n, dtype=np.int64)
    return ((k & ((1 << 23) - 1)) + 1j * (k >> 23)).astype(np.complex64)


class Checker:
    """Checks every sample that comes back against the counter: the stream must be the input
    advanced by LAG, with nothing lost, repeated or reordered (the zeros sent last are not checked)."""

    def __init__(self, num: int):
        self.num, self.seen, self.bad = num, 0, 0

    def __call__(self, y: np.ndarray) -> None:
        n = max(0, min(y.size, self.num - LAG - self.seen))
        k = y[:n].real.astype(np.int64) + (y[:n].imag.astype(np.int64) << 23)
        self.bad += int(np.count_nonzero(k != np.arange(self.seen + LAG, self.seen + LAG + n)))
        self.seen += y.size

    def result(self, seconds: float) -> dict:
        back = self.num + 64 - LAG - HELD                    # what a complete stream returns
        return {"msps": self.num / seconds / 1e6, "samples": self.num, "seconds": seconds,
                "returned": self.seen, "expected_back": back, "mismatched": self.bad}


def _pump(send, receive, num: int) -> dict:
    """Send the counter in CHUNK messages from a thread, receive until everything is back."""
    check = Checker(num)

    def sender():
        for s in range(0, num, CHUNK):
            send(counter(s, min(CHUNK, num - s)))
        send(np.zeros(64, np.complex64))                     # pushes out what the resampler holds

    t0 = time.perf_counter()
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    back = num + 64 - LAG - HELD
    while check.seen < back:
        y = receive()
        if y is None:                                        # silence: the stream ended short
            break
        check(y)
    elapsed = time.perf_counter() - t0
    th.join(10)
    return check.result(elapsed)


def run_transport(num: int) -> dict:
    with channel_emulator(ChannelConfig(), OfdmConfig()) as t:
        def receive():
            y = t.receive(5.0)
            return y if y.size else None

        return _pump(t.send, receive, num)


def run_raw(num: int) -> dict:
    import zmq

    push_addr, pull_addr = free_tcp_address(), free_tcp_address()
    ctx = zmq.Context()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    push.bind(push_addr)
    pull.connect(pull_addr)
    try:
        with Flowgraph("channel_emulator", {"rx_address": push_addr, "tx_address": pull_addr}):
            return _pump(lambda c: push.send(c, copy=False),
                         lambda: np.frombuffer(pull.recv(), np.complex64) if pull.poll(5000) else None, num)
    finally:
        ctx.destroy(linger=0)


@functools.lru_cache(maxsize=1)
def _codec_and_test():
    """The shipped codec and the test images float [10000, 1, 28, 28] and labels long [10000],
    loaded once per process."""
    import torch

    from semcom_phy.data import load_split, to_tensor
    from semcom_phy.semantic import load_codec

    test = load_split("test")
    return load_codec(), to_tensor(test.images), torch.from_numpy(test.labels.astype(np.int64))


def loopback_seconds(link: str, num_images: int, record: Path | None = None) -> float:
    """Wall time of one loopback run (transport set-up included), recording to ``record`` if given."""
    import torch

    from semcom_phy.channel import channel_profile
    from semcom_phy.io.sigmf_io import LinkRecorder
    from semcom_phy.link import SemanticLink
    from semcom_phy.transport import SimTransport

    (codec, x, _), ofdm = _codec_and_test(), OfdmConfig()
    x = x[:num_images]
    cfg = channel_profile("awgn", 10.0)
    t0 = time.perf_counter()
    if link == "flowgraph":
        from semcom_phy.transports import flowgraph

        transport = flowgraph(channel="awgn", snr_db=10.0, ofdm=ofdm)
    else:
        transport = channel_emulator(cfg, ofdm) if link == "gnuradio" else SimTransport(cfg, ofdm, np.random.default_rng(0))
    recorder = LinkRecorder(record, ofdm.sample_rate_hz, fields={"snr_db": 10.0}) if record else None
    with transport, torch.no_grad():
        SemanticLink(codec, transport, ofdm, ModemConfig(mode="analog", gap_samples=256), recorder=recorder).run(x)
    if recorder:
        recorder.close()
    return time.perf_counter() - t0


def loopback_rates(num_images: int) -> dict:
    """Images per second of the loopback over each link, the block path next to the IQ path,
    and its ratio to IQ over ZeroMQ (``flowgraph_vs_gnuradio``)."""
    rates = {link: num_images / loopback_seconds(link, num_images) for link in ("sim", "gnuradio", "flowgraph")}
    return {**rates, "flowgraph_vs_gnuradio": rates["flowgraph"] / rates["gnuradio"]}


def recording_overhead(num_images: int, repeats: int = 5) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(loopback_seconds("sim", num_images), loopback_seconds("sim", num_images, Path(tmp) / f"r{i}"))
                for i in range(repeats)]
    plain, recorded = (float(np.median(v)) for v in zip(*runs))
    return {"overhead": recorded / plain - 1, "plain_s": plain, "recorded_s": recorded, "repeats": repeats}


RX_CHUNK = 4096                        # samples per push in the receive-path runs, as a radio delivers them
RX_BATCHES = (1 << 15, 1 << 16, 24 * 4096, 1 << 19)   # stream receiver batches the PHY is timed at
RX_SNR_DB = 10.0
RX_INTERLEAVE = 8


class Capture:
    """A transport that keeps every chunk it hands back."""

    def __init__(self, transport):
        self.transport, self.chunks = transport, []

    def send(self, iq):
        self.transport.send(iq)

    def receive(self, timeout_s=0.0):
        self.chunks.append(self.transport.receive(timeout_s))
        return self.chunks[-1]

    def drain(self, timeout_s=5.0):
        self.chunks.append(self.transport.drain(timeout_s))
        return self.chunks[-1]


def receive_path(air_s: float, repeats: int = 2) -> dict:
    """The ``receive_path`` section (module doc, item 5)."""
    import torch

    from semcom_phy.channel import channel_profile
    from semcom_phy.link import SemanticLink
    from semcom_phy.phy import StreamReceiver
    from semcom_phy.phy.frame import KINDS, frame_length_samples
    from semcom_phy.pipeline import ReceiveConfig
    from semcom_phy.transport import SimTransport

    codec, x_test, y_test = _codec_and_test()
    ofdm, modem = OfdmConfig(), ModemConfig(mode="analog", gap_samples=256)
    fs = ofdm.sample_rate_hz
    per_image = frame_length_samples(ofdm, KINDS.index("analog"), codec.cfg.num_symbols) + modem.gap_samples
    n = min(0xFFFF, max(RX_INTERLEAVE, round(air_s * fs / per_image)))
    pick = np.arange(n) % len(x_test)
    x, y = x_test[pick], y_test[pick]

    def link(cfg: ReceiveConfig = ReceiveConfig(), transport=None) -> SemanticLink:
        return SemanticLink(codec, transport, ofdm, modem, interleave=RX_INTERLEAVE, receive=cfg)

    capture = Capture(SimTransport(channel_profile("awgn", RX_SNR_DB), ofdm, np.random.default_rng(0)))
    sent = link(transport=capture).run(x)                      # the stream, as the link's receiver got it
    stream = np.concatenate(capture.chunks)
    chunks = [stream[s:s + RX_CHUNK] for s in range(0, stream.size, RX_CHUNK)]
    air = stream.size / fs
    z = sent.z

    phy, frames = {}, None
    for batch in RX_BATCHES:
        best = None
        for _ in range(repeats):
            rx = StreamReceiver(ofdm, modem, batch)
            w0, c0 = time.perf_counter(), time.process_time()
            found = [f for c in chunks for f in rx.push(c)] + rx.flush()
            run = {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}
            best = run if best is None or run["cpu_s"] < best["cpu_s"] else best
        phy[str(batch)] = {"latency_ms": batch / fs * 1e3, "x_real_time_cpu": air / best["cpu_s"],
                           "x_real_time": air / best["wall_s"], "frames": len(found), **best}
        if batch == ReceiveConfig().batch_samples:
            frames, stats = found, rx.stats

    def scored(out) -> dict:
        m = out.metrics(x, y)
        return {"accuracy": m["accuracy"], "psnr_db": m["psnr_db"], "frames_received": m["frames_received"]}

    decoder, batch_out = {}, {}
    for precision in ("float32", "bfloat16"):
        best = None
        for _ in range(repeats):                              # one thread: its CPU time is all of it
            w0 = time.perf_counter()
            out = link(ReceiveConfig(precision=precision, decoder_threads=1)).receive(z, frames, stats)
            run = {"cpu_s": out.pipeline.decoder_cpu_s, "wall_s": time.perf_counter() - w0}
            best = run if best is None or run["cpu_s"] < best["cpu_s"] else best
        batch_out[precision] = out
        decoder[precision] = {"x_real_time_cpu": air / best["cpu_s"], "x_real_time": air / best["wall_s"],
                              "ms_per_image_cpu": best["cpu_s"] / n * 1e3, **best, **scored(out)}

    def complete_run(cfg: ReceiveConfig, paced: bool = False) -> dict:
        def feed():
            t0 = time.perf_counter()
            for i, c in enumerate(chunks):
                if paced:                                     # chunk i is on the air until (i + 1) chunks' time
                    time.sleep(max(0.0, t0 + (i + 1) * RX_CHUNK / fs - time.perf_counter()))
                yield c
            feed.air_end = t0 + air

        best = None
        for _ in range(1 if paced else repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            out = link(cfg).receive_stream(z, feed())
            w1 = time.perf_counter()
            run = {"wall_s": w1 - w0, "cpu_s": time.process_time() - c0, "phy_cpu_s": out.pipeline.phy_cpu_s,
                   "decoder_cpu_s": out.pipeline.decoder_cpu_s}
            if paced:
                run["lag_ms"] = (w1 - feed.air_end) * 1e3
            best = run if best is None or run["wall_s"] < best["wall_s"] else best
        ref = batch_out[cfg.precision]
        one = cfg.decoder_threads == 1                        # else its OpenMP helper's CPU time is not in it
        return {"x_real_time": air / best["wall_s"], "x_real_time_cpu": air / best["cpu_s"],
                "phy_x_real_time_cpu": air / best["phy_cpu_s"],
                "decoder_x_real_time_cpu": air / best["decoder_cpu_s"] if one else None,
                "latency_ms": cfg.batch_samples / fs * 1e3,
                "config": {"batch_samples": cfg.batch_samples, "decoder_threads": cfg.decoder_threads,
                           "decode_block": cfg.decode_block, "precision": cfg.precision},
                **best, **scored(out), "max_queue": out.pipeline.max_queue,
                "equals_batch_receiver": bool(torch.equal(out.x_hat, ref.x_hat) and torch.equal(out.logits, ref.logits))}

    configs = {"default": ReceiveConfig(), "decoder_threads_1": ReceiveConfig(decoder_threads=1),
               "bfloat16": ReceiveConfig(precision="bfloat16"), "batch_16ms": ReceiveConfig(batch_samples=1 << 15),
               "batch_49ms": ReceiveConfig(batch_samples=24 * 4096)}
    complete = {name: complete_run(cfg) for name, cfg in configs.items()}
    complete["paced"] = complete_run(ReceiveConfig(), paced=True)
    complete["paced_bfloat16"] = complete_run(ReceiveConfig(precision="bfloat16"), paced=True)
    top = complete["default"]
    return {"x_real_time": top["x_real_time"], "phy_x_real_time_cpu": phy[str(ReceiveConfig().batch_samples)]["x_real_time_cpu"],
            "decoder_x_real_time_cpu": decoder["float32"]["x_real_time_cpu"], "latency_ms": top["latency_ms"],
            "air_s": air, "images": n, "phy": phy, "decoder": decoder, "complete": complete,
            "bfloat16_vs_float32": {"accuracy": decoder["bfloat16"]["accuracy"] - decoder["float32"]["accuracy"],
                                    "psnr_db": decoder["bfloat16"]["psnr_db"] - decoder["float32"]["psnr_db"]},
            "setup": (f"{n} test images (repeated) over awgn {RX_SNR_DB:g} dB, interleave {RX_INTERLEAVE}, defense none, "
                      f"{RX_CHUNK}-sample pushes; {os.cpu_count()} cores; best of {repeats} (paced: one run)")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10^7 samples instead of 10^8, 1.5 s of air instead of 4")
    ap.add_argument("--samples", type=arg_type(int, 1, 10**9), default=None,
                    help="samples per throughput run, 1..1e9 (overrides --quick)")
    ap.add_argument("--images", type=arg_type(int, 1, 10_000), default=512, help="images per loopback run (default 512, the loopback's)")
    ap.add_argument("--air-s", type=arg_type(float, 0.01, 3600.0), default=None, help="seconds of air in the receive-path runs (overrides --quick)")
    ap.add_argument("--receive-path-only", action="store_true", help="only the receive path (no GNU Radio needed)")
    ap.add_argument("--loopback-only", action="store_true", help="only images_per_s (sim, gnuradio, flowgraph)")
    ap.add_argument("--json", type=Path, default=Path("results/bench_link.json"))
    args = ap.parse_args(argv)
    air_s = args.air_s if args.air_s is not None else (1.5 if args.quick else 4.0)
    if not 0.05 <= air_s <= 60:
        ap.error(f"--air-s {air_s:g}: allowed 0.05..60")
    if args.receive_path_only:
        doc = {"receive_path": receive_path(air_s), "config": {"air_s": air_s}}
        return _write(args.json, doc, ("receive_path",), True)
    reason = gnuradio_available()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    if args.loopback_only:
        rates = loopback_rates(args.images)
        return _write(args.json, {"images_per_s": rates, "config": {"images": args.images}}, ("images_per_s",), True)
    num = args.samples if args.samples is not None else (10**7 if args.quick else 10**8)
    if num < 10 * CHUNK:
        ap.error(f"--samples {num}: at least {10 * CHUNK}")
    transport, raw = run_transport(num), run_raw(num)
    rates = loopback_rates(args.images)
    doc = {"transport_msps": transport["msps"], "raw_zmq_msps": raw["msps"],
           "transport_vs_raw_zmq": transport["msps"] / raw["msps"], "images_per_s": rates,
           "recording_overhead": recording_overhead(args.images), "receive_path": receive_path(air_s),
           "transport": transport, "raw_zmq": raw,
           "config": {"samples": num, "chunk_samples": CHUNK, "flowgraph": "semcom_phy/flowgraphs/channel_emulator.py (clean)",
                      "images": args.images, "loopback": "awgn 10 dB, defense none", "air_s": air_s}}
    ok = all(r["mismatched"] == 0 and r["returned"] == r["expected_back"] for r in (transport, raw))
    print(f"transport: {transport['returned']} samples back of {transport['expected_back']} expected, "
          f"{transport['mismatched']} out of sequence")
    return _write(args.json, doc, ("transport_msps", "raw_zmq_msps", "transport_vs_raw_zmq", "images_per_s",
                                   "recording_overhead", "receive_path"), ok)


def _write(path: Path, doc: dict, shown: tuple, ok: bool) -> int:
    """Write the JSON, print its headline keys (the receive path's top level); 0 if ``ok``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**doc, "code": code_version()}, indent=1) + "\n")
    head = {k: doc[k] for k in shown}
    if "receive_path" in head:
        head["receive_path"] = {k: v for k, v in head["receive_path"].items() if not isinstance(v, dict)}
    print(json.dumps(head, indent=1))
    print(f"wrote {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
