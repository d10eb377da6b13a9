#!/usr/bin/env python3
"""Check PlutoSDR radios: find them, print their settings, run a frame loopback, report SNR and CFO.

    python hardware/check_pluto.py                          # list radios, loop back through the first
    python hardware/check_pluto.py --uri ip:192.168.2.1     # one radio, TX -> attenuator -> RX cable
    python hardware/check_pluto.py --tx-uri usb:1.4.5 --rx-uri usb:1.5.5
    python hardware/check_pluto.py --uri virtual            # the virtual Pluto (no hardware)

The loopback sends ``--frames`` OFDM frames of random QPSK through the radios with the project's
PlutoSDR transport (the same code the experiments use), finds them with the stream receiver and
prints how many came back, their SNR and the carrier offset in Hz and in ppm of the LO. Two boards
differ by 5-25 ppm; ``--calibrate`` removes it by setting the RX board's ``xo_correction`` (the
reference frequency its driver assumes) from the measured CFO and measures again. Exit status 0
when every frame came back, 1 when some did not, 2 when no radio answers.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from semcom_phy.config import ModemConfig, OfdmConfig
from semcom_phy.transport.pluto import PlutoConfig, PlutoError, open_pluto

XO_REFERENCE_HZ = 40e6               # Pluto's reference oscillator


def find_radios() -> dict:
    """{uri: description} of the IIO contexts libiio finds (USB and, where avahi runs, network)."""
    try:
        import iio
    except ImportError:
        return {}
    try:
        return dict(iio.scan_contexts())
    except Exception:                                        # noqa: BLE001 - no backend: nothing found
        return {}


def show_settings(radio) -> None:
    for name in ("sample_rate", "rx_lo", "tx_lo", "rx_rf_bandwidth", "tx_rf_bandwidth", "gain_control_mode_chan0",
                 "rx_hardwaregain_chan0", "tx_hardwaregain_chan0", "rx_buffer_size"):
        print(f"  {name:24s} {getattr(radio, name)}")


def loopback(transport, ofdm: OfdmConfig, num: int):
    """Send ``num`` frames of random QPSK through the radios; (sequence numbers back, frames,
    receiver stats, TX burst report)."""
    from semcom_phy.phy import StreamReceiver, transmit          # scipy: after the options

    modem = ModemConfig(mode="analog", gap_samples=256)
    g = np.random.default_rng(0)
    symbols = (g.choice([-1, 1], (num, 256)) + 1j * g.choice([-1, 1], (num, 256))) / np.sqrt(2)
    transport.send(transmit(list(symbols.astype(np.complex64)), ofdm, modem).iq)
    transport.send(np.zeros(4 * ofdm.symbol_length_samples, np.complex64))
    rx = StreamReceiver(ofdm, modem)
    frames = rx.push(transport.drain()) + rx.flush()
    return {f.seq for f in frames}, frames, rx.stats, transport.last_burst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p = PlutoConfig()
    ap.add_argument("--uri", default=None, help="the radio for TX and RX (default: the first one found)")
    ap.add_argument("--tx-uri", default="", help="two radios: the transmitter")
    ap.add_argument("--rx-uri", default="", help="two radios: the receiver")
    ap.add_argument("--lo-hz", type=float, default=p.lo_hz, help=f"carrier (default {p.lo_hz:g})")
    ap.add_argument("--rx-gain-db", type=float, default=p.rx_gain_db)
    ap.add_argument("--tx-attenuation-db", type=float, default=p.tx_attenuation_db)
    ap.add_argument("--frames", type=int, default=50, help="frames in the loopback burst (default 50)")
    ap.add_argument("--calibrate", action="store_true",
                    help="set the RX radio's xo_correction from the measured CFO, then measure again")
    args = ap.parse_args(argv)

    found = find_radios()
    print(f"radios libiio finds: {len(found)}")
    for uri, what in found.items():
        print(f"  {uri}: {what}")
    uri = args.uri or (next(iter(found)) if found else p.uri)
    ofdm = OfdmConfig()
    try:
        cfg = PlutoConfig(uri=uri, tx_uri=args.tx_uri, rx_uri=args.rx_uri, lo_hz=args.lo_hz,
                          sample_rate_hz=ofdm.sample_rate_hz, rf_bandwidth_hz=ofdm.sample_rate_hz,
                          rx_gain_db=args.rx_gain_db, tx_attenuation_db=args.tx_attenuation_db)
        transport = open_pluto(cfg, ofdm)
    except (PlutoError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    with transport:
        for role, radio in (("TX", transport.tx_radio), ("RX", transport.rx_radio)):
            print(f"{role} radio {getattr(radio, 'uri', '')}:")
            show_settings(radio)
        seqs, frames, stats, report = loopback(transport, ofdm, args.frames)
        print(f"\nloopback: {len(seqs)} of {args.frames} frames back (TX burst PAPR {report['papr_db']:.1f} dB, "
              f"{report['rms_dbfs']:.1f} dBFS RMS, TX clip rate {report['clip_rate']:.1e}, RX clip rate "
              f"{report['rx_clip_rate']:.1e})")
        if stats.header_failures:
            print(f"{stats.header_failures} frames were found but failed their header CRC")
        if frames:
            snr, cfo = np.median([f.snr_db for f in frames]), float(np.median([f.cfo_hz for f in frames]))
            ppm = cfo / cfg.lo_hz * 1e6
            print(f"SNR {snr:.1f} dB; CFO {cfo / 1e3:.3f} kHz = {ppm:+.2f} ppm of the LO (an xo_correction of the RX "
                  f"board by about {-ppm * 1e-6 * XO_REFERENCE_HZ:+.0f} Hz would remove it)")
            if args.calibrate:
                old, new = transport.calibrate_xo(cfo)
                _, again, _, _ = loopback(transport, ofdm, args.frames)
                cfo2 = float(np.median([f.cfo_hz for f in again])) if again else float("nan")
                print(f"calibrated: RX xo_correction {old} -> {new} Hz; CFO now {cfo2:.0f} Hz "
                      "(not persistent: fw_setenv xo_correction on the radio keeps it across reboots)")
    return 0 if len(seqs) == args.frames else 1


if __name__ == "__main__":
    sys.exit(main())
