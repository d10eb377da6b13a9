#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: semcom_phy USRP TX/RX bridge
# Author: semcom_phy
# Description: semcom_phy USRP bridge (gr-uhd): ZMQ PULL (connects to --rx-address) -> USRP Sink (TX); USRP Source (RX) -> ZMQ PUSH (binds --tx-address). Items are raw complex64 (full scale +-1.0), no tags.
# GNU Radio version: 3.10.5.1

from gnuradio import gr
from gnuradio.filter import firdes
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import uhd
import time
from gnuradio import zeromq




class uhd_txrx(gr.top_block):

    def __init__(self, bandwidth_hz=2e6, device='type=b200', lo_hz=2.4e9, rx_address='tcp://127.0.0.1:50001', rx_antenna='RX2', rx_device='', rx_gain_db=30, sample_rate_hz=2e6, tx_address='tcp://127.0.0.1:50002', tx_antenna='TX/RX', tx_device='', tx_gain_db=0):
        gr.top_block.__init__(self, "semcom_phy USRP TX/RX bridge", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.bandwidth_hz = bandwidth_hz
        self.device = device
        self.lo_hz = lo_hz
        self.rx_address = rx_address
        self.rx_antenna = rx_antenna
        self.rx_device = rx_device
        self.rx_gain_db = rx_gain_db
        self.sample_rate_hz = sample_rate_hz
        self.tx_address = tx_address
        self.tx_antenna = tx_antenna
        self.tx_device = tx_device
        self.tx_gain_db = tx_gain_db

        ##################################################
        # Variables
        ##################################################
        self.tx_device_eff = tx_device_eff = tx_device if tx_device else device
        self.rx_device_eff = rx_device_eff = rx_device if rx_device else device

        ##################################################
        # Blocks
        ##################################################

        self.zeromq_push_sink_0 = zeromq.push_sink(gr.sizeof_gr_complex, 1, tx_address, 100, False, (-1))
        self.zeromq_pull_source_0 = zeromq.pull_source(gr.sizeof_gr_complex, 1, rx_address, 100, False, (-1))
        self.uhd_usrp_source_0 = uhd.usrp_source(
            ",".join((rx_device_eff, '')),
            uhd.stream_args(
                cpu_format="fc32",
                args='',
                channels=list(range(0,1)),
            ),
        )
        self.uhd_usrp_source_0.set_samp_rate(sample_rate_hz)
        # No synchronization enforced.

        self.uhd_usrp_source_0.set_center_freq(lo_hz, 0)
        self.uhd_usrp_source_0.set_antenna(rx_antenna, 0)
        self.uhd_usrp_source_0.set_bandwidth(bandwidth_hz, 0)
        self.uhd_usrp_source_0.set_gain(rx_gain_db, 0)
        self.uhd_usrp_sink_0 = uhd.usrp_sink(
            ",".join((tx_device_eff, '')),
            uhd.stream_args(
                cpu_format="fc32",
                args='',
                channels=list(range(0,1)),
            ),
            '',
        )
        self.uhd_usrp_sink_0.set_samp_rate(sample_rate_hz)
        # No synchronization enforced.

        self.uhd_usrp_sink_0.set_center_freq(lo_hz, 0)
        self.uhd_usrp_sink_0.set_antenna(tx_antenna, 0)
        self.uhd_usrp_sink_0.set_bandwidth(bandwidth_hz, 0)
        self.uhd_usrp_sink_0.set_gain(tx_gain_db, 0)


        ##################################################
        # Connections
        ##################################################
        self.connect((self.uhd_usrp_source_0, 0), (self.zeromq_push_sink_0, 0))
        self.connect((self.zeromq_pull_source_0, 0), (self.uhd_usrp_sink_0, 0))


    def get_bandwidth_hz(self):
        return self.bandwidth_hz

    def set_bandwidth_hz(self, bandwidth_hz):
        self.bandwidth_hz = bandwidth_hz
        self.uhd_usrp_sink_0.set_bandwidth(self.bandwidth_hz, 0)
        self.uhd_usrp_source_0.set_bandwidth(self.bandwidth_hz, 0)

    def get_device(self):
        return self.device

    def set_device(self, device):
        self.device = device
        self.set_rx_device_eff(self.rx_device if self.rx_device else self.device)
        self.set_tx_device_eff(self.tx_device if self.tx_device else self.device)

    def get_lo_hz(self):
        return self.lo_hz

    def set_lo_hz(self, lo_hz):
        self.lo_hz = lo_hz
        self.uhd_usrp_sink_0.set_center_freq(self.lo_hz, 0)
        self.uhd_usrp_source_0.set_center_freq(self.lo_hz, 0)

    def get_rx_address(self):
        return self.rx_address

    def set_rx_address(self, rx_address):
        self.rx_address = rx_address

    def get_rx_antenna(self):
        return self.rx_antenna

    def set_rx_antenna(self, rx_antenna):
        self.rx_antenna = rx_antenna
        self.uhd_usrp_source_0.set_antenna(self.rx_antenna, 0)

    def get_rx_device(self):
        return self.rx_device

    def set_rx_device(self, rx_device):
        self.rx_device = rx_device
        self.set_rx_device_eff(self.rx_device if self.rx_device else self.device)

    def get_rx_gain_db(self):
        return self.rx_gain_db

    def set_rx_gain_db(self, rx_gain_db):
        self.rx_gain_db = rx_gain_db
        self.uhd_usrp_source_0.set_gain(self.rx_gain_db, 0)

    def get_sample_rate_hz(self):
        return self.sample_rate_hz

    def set_sample_rate_hz(self, sample_rate_hz):
        self.sample_rate_hz = sample_rate_hz
        self.uhd_usrp_sink_0.set_samp_rate(self.sample_rate_hz)
        self.uhd_usrp_source_0.set_samp_rate(self.sample_rate_hz)

    def get_tx_address(self):
        return self.tx_address

    def set_tx_address(self, tx_address):
        self.tx_address = tx_address

    def get_tx_antenna(self):
        return self.tx_antenna

    def set_tx_antenna(self, tx_antenna):
        self.tx_antenna = tx_antenna
        self.uhd_usrp_sink_0.set_antenna(self.tx_antenna, 0)

    def get_tx_device(self):
        return self.tx_device

    def set_tx_device(self, tx_device):
        self.tx_device = tx_device
        self.set_tx_device_eff(self.tx_device if self.tx_device else self.device)

    def get_tx_gain_db(self):
        return self.tx_gain_db

    def set_tx_gain_db(self, tx_gain_db):
        self.tx_gain_db = tx_gain_db
        self.uhd_usrp_sink_0.set_gain(self.tx_gain_db, 0)

    def get_tx_device_eff(self):
        return self.tx_device_eff

    def set_tx_device_eff(self, tx_device_eff):
        self.tx_device_eff = tx_device_eff

    def get_rx_device_eff(self):
        return self.rx_device_eff

    def set_rx_device_eff(self, rx_device_eff):
        self.rx_device_eff = rx_device_eff



def argument_parser():
    description = 'semcom_phy USRP bridge (gr-uhd): ZMQ PULL (connects to --rx-address) -> USRP Sink (TX); USRP Source (RX) -> ZMQ PUSH (binds --tx-address). Items are raw complex64 (full scale +-1.0), no tags.'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--bandwidth-hz", dest="bandwidth_hz", type=eng_float, default=eng_notation.num_to_str(float(2e6)),
        help="Set Analog filter bandwidth in Hz, TX and RX [default=%(default)r]")
    parser.add_argument(
        "--device", dest="device", type=str, default='type=b200',
        help="Set UHD device arguments: type=b200, serial=30AD123, addr=192.168.10.2 (empty = the first USRP found) [default=%(default)r]")
    parser.add_argument(
        "--lo-hz", dest="lo_hz", type=eng_float, default=eng_notation.num_to_str(float(2.4e9)),
        help="Set LO (carrier) frequency in Hz, TX and RX [default=%(default)r]")
    parser.add_argument(
        "--rx-address", dest="rx_address", type=str, default='tcp://127.0.0.1:50001',
        help="Set ZMQ address the PULL source (TX samples) connects to (our PUSH binds it) [default=%(default)r]")
    parser.add_argument(
        "--rx-antenna", dest="rx_antenna", type=str, default='RX2',
        help="Set RX antenna (TX/RX and RX2 on most USRPs; uhd_usrp_probe lists them) [default=%(default)r]")
    parser.add_argument(
        "--rx-device", dest="rx_device", type=str, default='',
        help="Set Device for RX only (empty = use --device) [default=%(default)r]")
    parser.add_argument(
        "--rx-gain-db", dest="rx_gain_db", type=eng_float, default=eng_notation.num_to_str(float(30)),
        help="Set RX gain in dB (the device's overall gain, manual: no AGC) [default=%(default)r]")
    parser.add_argument(
        "--sample-rate-hz", dest="sample_rate_hz", type=eng_float, default=eng_notation.num_to_str(float(2e6)),
        help="Set Sample rate in S/s, TX and RX [default=%(default)r]")
    parser.add_argument(
        "--tx-address", dest="tx_address", type=str, default='tcp://127.0.0.1:50002',
        help="Set ZMQ address the PUSH sink (RX samples) binds (our PULL connects) [default=%(default)r]")
    parser.add_argument(
        "--tx-antenna", dest="tx_antenna", type=str, default='TX/RX',
        help="Set TX antenna (TX/RX and RX2 on most USRPs; uhd_usrp_probe lists them) [default=%(default)r]")
    parser.add_argument(
        "--tx-device", dest="tx_device", type=str, default='',
        help="Set Device for TX only (empty = use --device) [default=%(default)r]")
    parser.add_argument(
        "--tx-gain-db", dest="tx_gain_db", type=eng_float, default=eng_notation.num_to_str(float(0)),
        help="Set TX gain in dB (the device's overall gain) [default=%(default)r]")
    return parser


def main(top_block_cls=uhd_txrx, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(bandwidth_hz=options.bandwidth_hz, device=options.device, lo_hz=options.lo_hz, rx_address=options.rx_address, rx_antenna=options.rx_antenna, rx_device=options.rx_device, rx_gain_db=options.rx_gain_db, sample_rate_hz=options.sample_rate_hz, tx_address=options.tx_address, tx_antenna=options.tx_antenna, tx_device=options.tx_device, tx_gain_db=options.tx_gain_db)

    def sig_handler(sig=None, frame=None):
        tb.stop()
        tb.wait()

        sys.exit(0)

    signal.signal(signal.SIGINT, sig_handler)
    signal.signal(signal.SIGTERM, sig_handler)

    tb.start()

    try:
        input('Press Enter to quit: ')
    except EOFError:
        pass
    tb.stop()
    tb.wait()


if __name__ == '__main__':
    main()
