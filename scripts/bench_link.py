#!/usr/bin/env python3
"""Benchmark the ZeroMQ transport through GNU Radio, side by side with a raw pyzmq loop.

1. ``transport_msps``: complex64 samples per second through ``flowgraphs/channel_emulator.py``
   (clean channel) with :class:`semcom_phy.transport.zmq.ZmqTransport`: a sender thread calls
   ``send`` while the main thread ``receive``s, counting from the first send to the last sample
   back. The samples carry a counter (real part n mod 2^23, imaginary part n // 2^23, exact in
   float32), so every sample that comes back is checked: none lost, none duplicated, none out of
   order (GNU Radio's resampler advances the stream by 3 samples and holds 5 at the end).
2. ``raw_zmq_msps``: the same through the same flowgraph with bare pyzmq sockets (PUSH in a
   thread, PULL in the main loop), the reference the transport is held to.
3. ``images_per_s``: the semantic loopback (512 images, 10 dB AWGN, no defense) over the
   simulated transport and over GNU Radio.
4. ``recording_overhead``: the same loopback over the simulated transport with and without SigMF
   recording of its TX and RX streams (written, hashed, validated and closed), median of 5 runs
   each: the recorded run's time over the plain one's, minus 1.

Writes JSON (``--json``, default ``results/bench_link.json``) with the config that produced it.
``--quick``: 10^7 samples (about 10 s); default 10^8.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from semcom_phy.config import ChannelConfig, ModemConfig, OfdmConfig
from semcom_phy.transport.zmq import Flowgraph, channel_emulator, free_tcp_address, gnuradio_available

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
def _codec_and_images(num_images: int):
    """The shipped codec and the first ``num_images`` test images, loaded once per process."""
    from semcom_phy.data import load_split, to_tensor
    from semcom_phy.semantic import load_codec

    return load_codec(), to_tensor(load_split("test").images[:num_images])


def loopback_seconds(link: str, num_images: int, record: Path | None = None) -> float:
    """Wall time of one loopback run (transport set-up included), recording to ``record`` if given."""
    import torch

    from semcom_phy.channel import channel_profile
    from semcom_phy.io.sigmf_io import LinkRecorder
    from semcom_phy.link import SemanticLink
    from semcom_phy.transport import SimTransport

    (codec, x), ofdm = _codec_and_images(num_images), OfdmConfig()
    cfg = channel_profile("awgn", 10.0)
    t0 = time.perf_counter()
    transport = channel_emulator(cfg, ofdm) if link == "gnuradio" else SimTransport(cfg, ofdm, np.random.default_rng(0))
    recorder = LinkRecorder(record, ofdm.sample_rate_hz, fields={"snr_db": 10.0}) if record else None
    with transport, torch.no_grad():
        SemanticLink(codec, transport, ofdm, ModemConfig(mode="analog", gap_samples=256), recorder=recorder).run(x)
    if recorder:
        recorder.close()
    return time.perf_counter() - t0


def recording_overhead(num_images: int, repeats: int = 5) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(loopback_seconds("sim", num_images), loopback_seconds("sim", num_images, Path(tmp) / f"r{i}"))
                for i in range(repeats)]
    plain, recorded = (float(np.median(v)) for v in zip(*runs))
    return {"overhead": recorded / plain - 1, "plain_s": plain, "recorded_s": recorded, "repeats": repeats}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10^7 samples instead of 10^8")
    ap.add_argument("--samples", type=int, default=None, help="samples per throughput run (overrides --quick)")
    ap.add_argument("--images", type=int, default=512, help="images per loopback run (default 512, the loopback's)")
    ap.add_argument("--json", type=Path, default=Path("results/bench_link.json"))
    args = ap.parse_args(argv)
    reason = gnuradio_available()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    num = args.samples or (10**7 if args.quick else 10**8)
    if num < 10 * CHUNK:
        ap.error(f"--samples {num}: at least {10 * CHUNK}")
    transport, raw = run_transport(num), run_raw(num)
    rates = {link: args.images / loopback_seconds(link, args.images) for link in ("sim", "gnuradio")}
    doc = {"transport_msps": transport["msps"], "raw_zmq_msps": raw["msps"],
           "transport_vs_raw_zmq": transport["msps"] / raw["msps"], "images_per_s": rates,
           "recording_overhead": recording_overhead(args.images),
           "transport": transport, "raw_zmq": raw,
           "config": {"samples": num, "chunk_samples": CHUNK, "flowgraph": "flowgraphs/channel_emulator.py (clean)",
                      "images": args.images, "loopback": "awgn 10 dB, defense none"}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: doc[k] for k in ("transport_msps", "raw_zmq_msps", "transport_vs_raw_zmq", "images_per_s",
                                          "recording_overhead")},
                     indent=1))
    ok = all(r["mismatched"] == 0 and r["returned"] == r["expected_back"] for r in (transport, raw))
    print(f"transport: {transport['returned']} samples back of {transport['expected_back']} expected, "
          f"{transport['mismatched']} out of sequence; wrote {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
