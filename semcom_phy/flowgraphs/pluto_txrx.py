#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: semcom_phy PlutoSDR TX/RX bridge
# Author: semcom_phy
# Description: semcom_phy PlutoSDR bridge: ZMQ PULL (connects to --rx-address) -> PlutoSDR TX (gr-iio); PlutoSDR RX -> ZMQ PUSH (binds --tx-address). Items are raw complex64 (full scale +-1.0), no tags.
# GNU Radio version: 3.10.5.1

from gnuradio import gr
from gnuradio.filter import firdes
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import iio
from gnuradio import zeromq




class pluto_txrx(gr.top_block):

    def __init__(self, bandwidth_hz=2e6, buffer_size=32768, lo_hz=2.4e9, rx_address='tcp://127.0.0.1:50001', rx_gain_db=30, rx_uri='', samp_rate=2e6, tx_address='tcp://127.0.0.1:50002', tx_attenuation_db=10, tx_uri='', uri='ip:192.168.2.1'):
        gr.top_block.__init__(self, "semcom_phy PlutoSDR TX/RX bridge", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.bandwidth_hz = bandwidth_hz
        self.buffer_size = buffer_size
        self.lo_hz = lo_hz
        self.rx_address = rx_address
        self.rx_gain_db = rx_gain_db
        self.rx_uri = rx_uri
        self.samp_rate = samp_rate
        self.tx_address = tx_address
        self.tx_attenuation_db = tx_attenuation_db
        self.tx_uri = tx_uri
        self.uri = uri

        ##################################################
        # Variables
        ##################################################
        self.tx_uri_eff = tx_uri_eff = tx_uri if tx_uri else uri
        self.rx_uri_eff = rx_uri_eff = rx_uri if rx_uri else uri

        ##################################################
        # Blocks
        ##################################################

        self.zeromq_push_sink_0 = zeromq.push_sink(gr.sizeof_gr_complex, 1, tx_address, 100, False, (-1))
        self.zeromq_pull_source_0 = zeromq.pull_source(gr.sizeof_gr_complex, 1, rx_address, 100, False, (-1))
        self.iio_pluto_source_0 = iio.fmcomms2_source_fc32(rx_uri_eff if rx_uri_eff else iio.get_pluto_uri(), [True, True], buffer_size)
        self.iio_pluto_source_0.set_len_tag_key('packet_len')
        self.iio_pluto_source_0.set_frequency(int(lo_hz))
        self.iio_pluto_source_0.set_samplerate(int(samp_rate))
        self.iio_pluto_source_0.set_gain_mode(0, 'manual')
        self.iio_pluto_source_0.set_gain(0, rx_gain_db)
        self.iio_pluto_source_0.set_quadrature(True)
        self.iio_pluto_source_0.set_rfdc(True)
        self.iio_pluto_source_0.set_bbdc(True)
        self.iio_pluto_source_0.set_filter_params('Auto', '', 0, 0)
        self.iio_pluto_sink_0 = iio.fmcomms2_sink_fc32(tx_uri_eff if tx_uri_eff else iio.get_pluto_uri(), [True, True], buffer_size, False)
        self.iio_pluto_sink_0.set_len_tag_key('')
        self.iio_pluto_sink_0.set_bandwidth(int(bandwidth_hz))
        self.iio_pluto_sink_0.set_frequency(int(lo_hz))
        self.iio_pluto_sink_0.set_samplerate(int(samp_rate))
        self.iio_pluto_sink_0.set_attenuation(0, tx_attenuation_db)
        self.iio_pluto_sink_0.set_filter_params('Auto', '', 0, 0)


        ##################################################
        # Connections
        ##################################################
        self.connect((self.iio_pluto_source_0, 0), (self.zeromq_push_sink_0, 0))
        self.connect((self.zeromq_pull_source_0, 0), (self.iio_pluto_sink_0, 0))


    def get_bandwidth_hz(self):
        return self.bandwidth_hz

    def set_bandwidth_hz(self, bandwidth_hz):
        self.bandwidth_hz = bandwidth_hz
        self.iio_pluto_sink_0.set_bandwidth(int(self.bandwidth_hz))

    def get_buffer_size(self):
        return self.buffer_size

    def set_buffer_size(self, buffer_size):
        self.buffer_size = buffer_size

    def get_lo_hz(self):
        return self.lo_hz

    def set_lo_hz(self, lo_hz):
        self.lo_hz = lo_hz
        self.iio_pluto_sink_0.set_frequency(int(self.lo_hz))
        self.iio_pluto_source_0.set_frequency(int(self.lo_hz))

    def get_rx_address(self):
        return self.rx_address

    def set_rx_address(self, rx_address):
        self.rx_address = rx_address

    def get_rx_gain_db(self):
        return self.rx_gain_db

    def set_rx_gain_db(self, rx_gain_db):
        self.rx_gain_db = rx_gain_db
        self.iio_pluto_source_0.set_gain(0, self.rx_gain_db)

    def get_rx_uri(self):
        return self.rx_uri

    def set_rx_uri(self, rx_uri):
        self.rx_uri = rx_uri
        self.set_rx_uri_eff(self.rx_uri if self.rx_uri else self.uri)

    def get_samp_rate(self):
        return self.samp_rate

    def set_samp_rate(self, samp_rate):
        self.samp_rate = samp_rate
        self.iio_pluto_sink_0.set_samplerate(int(self.samp_rate))
        self.iio_pluto_source_0.set_samplerate(int(self.samp_rate))

    def get_tx_address(self):
        return self.tx_address

    def set_tx_address(self, tx_address):
        self.tx_address = tx_address

    def get_tx_attenuation_db(self):
        return self.tx_attenuation_db

    def set_tx_attenuation_db(self, tx_attenuation_db):
        self.tx_attenuation_db = tx_attenuation_db
        self.iio_pluto_sink_0.set_attenuation(0,self.tx_attenuation_db)

    def get_tx_uri(self):
        return self.tx_uri

    def set_tx_uri(self, tx_uri):
        self.tx_uri = tx_uri
        self.set_tx_uri_eff(self.tx_uri if self.tx_uri else self.uri)

    def get_uri(self):
        return self.uri

    def set_uri(self, uri):
        self.uri = uri
        self.set_rx_uri_eff(self.rx_uri if self.rx_uri else self.uri)
        self.set_tx_uri_eff(self.tx_uri if self.tx_uri else self.uri)

    def get_tx_uri_eff(self):
        return self.tx_uri_eff

    def set_tx_uri_eff(self, tx_uri_eff):
        self.tx_uri_eff = tx_uri_eff

    def get_rx_uri_eff(self):
        return self.rx_uri_eff

    def set_rx_uri_eff(self, rx_uri_eff):
        self.rx_uri_eff = rx_uri_eff



def argument_parser():
    description = 'semcom_phy PlutoSDR bridge: ZMQ PULL (connects to --rx-address) -> PlutoSDR TX (gr-iio); PlutoSDR RX -> ZMQ PUSH (binds --tx-address). Items are raw complex64 (full scale +-1.0), no tags.'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--bandwidth-hz", dest="bandwidth_hz", type=eng_float, default=eng_notation.num_to_str(float(2e6)),
        help="Set RF (analog filter) bandwidth in Hz, TX and RX [default=%(default)r]")
    parser.add_argument(
        "--buffer-size", dest="buffer_size", type=intx, default=32768,
        help="Set IIO buffer size in samples, TX and RX [default=%(default)r]")
    parser.add_argument(
        "--lo-hz", dest="lo_hz", type=eng_float, default=eng_notation.num_to_str(float(2.4e9)),
        help="Set LO (carrier) frequency in Hz, TX and RX [default=%(default)r]")
    parser.add_argument(
        "--rx-address", dest="rx_address", type=str, default='tcp://127.0.0.1:50001',
        help="Set ZMQ address the PULL source (TX samples) connects to (our PUSH binds it) [default=%(default)r]")
    parser.add_argument(
        "--rx-gain-db", dest="rx_gain_db", type=eng_float, default=eng_notation.num_to_str(float(30)),
        help="Set RX gain in dB (manual gain mode) [default=%(default)r]")
    parser.add_argument(
        "--rx-uri", dest="rx_uri", type=str, default='',
        help="Set IIO context URI for RX only (empty = use --uri) [default=%(default)r]")
    parser.add_argument(
        "--samp-rate", dest="samp_rate", type=eng_float, default=eng_notation.num_to_str(float(2e6)),
        help="Set Sample rate in S/s, TX and RX [default=%(default)r]")
    parser.add_argument(
        "--tx-address", dest="tx_address", type=str, default='tcp://127.0.0.1:50002',
        help="Set ZMQ address the PUSH sink (RX samples) binds (our PULL connects) [default=%(default)r]")
    parser.add_argument(
        "--tx-attenuation-db", dest="tx_attenuation_db", type=eng_float, default=eng_notation.num_to_str(float(10)),
        help="Set TX attenuation in dB (0 = maximum output power) [default=%(default)r]")
    parser.add_argument(
        "--tx-uri", dest="tx_uri", type=str, default='',
        help="Set IIO context URI for TX only (empty = use --uri) [default=%(default)r]")
    parser.add_argument(
        "--uri", dest="uri", type=str, default='ip:192.168.2.1',
        help="Set IIO context URI of the Pluto used for TX and RX (empty = first Pluto found) [default=%(default)r]")
    return parser


def main(top_block_cls=pluto_txrx, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(bandwidth_hz=options.bandwidth_hz, buffer_size=options.buffer_size, lo_hz=options.lo_hz, rx_address=options.rx_address, rx_gain_db=options.rx_gain_db, rx_uri=options.rx_uri, samp_rate=options.samp_rate, tx_address=options.tx_address, tx_attenuation_db=options.tx_attenuation_db, tx_uri=options.tx_uri, uri=options.uri)

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
