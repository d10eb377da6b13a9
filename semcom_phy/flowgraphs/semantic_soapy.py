#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: semcom_phy semantic link over SoapySDR
# Author: semcom_phy
# Description: semcom_phy semantic link over a SoapySDR radio (HackRF, USRP, LimeSDR, PlutoSDR...): PDUs of semantic symbols from ZMQ (PULL message source, connects to --rx-address) -> Semantic OFDM TX -> Multiply Const (tx_amplitude: back-off, radios clip at +-1.0) -> Soapy sink; Soapy source -> Semantic OFDM RX -> one PDU per received frame to ZMQ (PUSH message sink, binds --tx-address). The default carrier, 2.45 GHz, is inside the 2.4 GHz ISM band (2400-2483.5 MHz): transmit only where and as loud as your regulator allows (power, bandwidth, duty cycle), better into a cable with attenuators or a dummy load.
# GNU Radio version: 3.10.5.1

from gnuradio import blocks
from gnuradio import gr
from gnuradio.filter import firdes
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import soapy
from gnuradio import zeromq
from semcom_phy.gr import semantic_ofdm_rx
from semcom_phy.gr import semantic_ofdm_tx




class semantic_soapy(gr.top_block):

    def __init__(self, device='driver=hackrf', lo_hz=2.45e9, phy='', rx_address='tcp://127.0.0.1:50001', rx_gain_db=30, samp_rate=2e6, tx_address='tcp://127.0.0.1:50002', tx_amplitude=0.2, tx_gain_db=0):
        gr.top_block.__init__(self, "semcom_phy semantic link over SoapySDR", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.device = device
        self.lo_hz = lo_hz
        self.phy = phy
        self.rx_address = rx_address
        self.rx_gain_db = rx_gain_db
        self.samp_rate = samp_rate
        self.tx_address = tx_address
        self.tx_amplitude = tx_amplitude
        self.tx_gain_db = tx_gain_db

        ##################################################
        # Variables
        ##################################################
        self.soapy_driver = soapy_driver = ([kv.split('=', 1)[1].strip() for kv in device.split(',') if kv.split('=', 1)[0].strip() == 'driver'] + [''])[0]

        ##################################################
        # Blocks
        ##################################################

        self.zeromq_push_msg_sink_0 = zeromq.push_msg_sink(tx_address, 100, True)
        self.zeromq_pull_msg_source_0 = zeromq.pull_msg_source(rx_address, 100, False)
        self.soapy_custom_source_0 = None
        dev = 'driver=' + soapy_driver
        stream_args = ''
        tune_args = ['']
        settings = ['']
        self.soapy_custom_source_0 = soapy.source(dev, "fc32",
                                  1, device,
                                  stream_args, tune_args, settings)
        self.soapy_custom_source_0.set_sample_rate(0, samp_rate)
        self.soapy_custom_source_0.set_bandwidth(0, samp_rate)
        self.soapy_custom_source_0.set_antenna(0, self.soapy_custom_source_0.get_antenna(0) if 'self' in locals() else '')
        self.soapy_custom_source_0.set_frequency(0, lo_hz)
        self.soapy_custom_source_0.set_frequency_correction(0, 0)
        self.soapy_custom_source_0.set_gain_mode(0, False)
        self.soapy_custom_source_0.set_gain(0, rx_gain_db)
        self.soapy_custom_source_0.set_dc_offset_mode(0, False)
        self.soapy_custom_source_0.set_dc_offset(0, 0)
        self.soapy_custom_source_0.set_iq_balance(0, 0)
        self.soapy_custom_sink_0 = None
        dev = 'driver=' + soapy_driver
        stream_args = ''
        tune_args = ['']
        settings = ['']
        self.soapy_custom_sink_0 = soapy.sink(dev, "fc32",
                                1, device,
                                stream_args, tune_args, settings)
        self.soapy_custom_sink_0.set_sample_rate(0, samp_rate)
        self.soapy_custom_sink_0.set_bandwidth(0, samp_rate)
        self.soapy_custom_sink_0.set_antenna(0, self.soapy_custom_sink_0.get_antenna(0) if 'self' in locals() else '')
        self.soapy_custom_sink_0.set_frequency(0, lo_hz)
        self.soapy_custom_sink_0.set_frequency_correction(0, 0)
        self.soapy_custom_sink_0.set_gain(0, tx_gain_db)
        self.soapy_custom_sink_0.set_dc_offset(0, 0)
        self.soapy_custom_sink_0.set_iq_balance(0, 0)
        self.semcom_ofdm_tx_0 = semantic_ofdm_tx(phy)
        self.semcom_ofdm_rx_0 = semantic_ofdm_rx(phy, 32768)
        self.blocks_null_sink_0 = blocks.null_sink(gr.sizeof_gr_complex*1)
        self.blocks_multiply_const_0 = blocks.multiply_const_cc(tx_amplitude)


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.semcom_ofdm_rx_0, 'pdus'), (self.zeromq_push_msg_sink_0, 'in'))
        self.msg_connect((self.zeromq_pull_msg_source_0, 'out'), (self.semcom_ofdm_tx_0, 'pdus'))
        self.connect((self.blocks_multiply_const_0, 0), (self.soapy_custom_sink_0, 0))
        self.connect((self.semcom_ofdm_rx_0, 0), (self.blocks_null_sink_0, 0))
        self.connect((self.semcom_ofdm_tx_0, 0), (self.blocks_multiply_const_0, 0))
        self.connect((self.soapy_custom_source_0, 0), (self.semcom_ofdm_rx_0, 0))


    def get_device(self):
        return self.device

    def set_device(self, device):
        self.device = device

    def get_lo_hz(self):
        return self.lo_hz

    def set_lo_hz(self, lo_hz):
        self.lo_hz = lo_hz
        self.soapy_custom_sink_0.set_frequency(0, self.lo_hz)
        self.soapy_custom_source_0.set_frequency(0, self.lo_hz)

    def get_phy(self):
        return self.phy

    def set_phy(self, phy):
        self.phy = phy

    def get_rx_address(self):
        return self.rx_address

    def set_rx_address(self, rx_address):
        self.rx_address = rx_address

    def get_rx_gain_db(self):
        return self.rx_gain_db

    def set_rx_gain_db(self, rx_gain_db):
        self.rx_gain_db = rx_gain_db
        self.soapy_custom_source_0.set_gain(0, self.rx_gain_db)

    def get_samp_rate(self):
        return self.samp_rate

    def set_samp_rate(self, samp_rate):
        self.samp_rate = samp_rate
        self.soapy_custom_sink_0.set_bandwidth(0, self.samp_rate)
        self.soapy_custom_source_0.set_bandwidth(0, self.samp_rate)

    def get_tx_address(self):
        return self.tx_address

    def set_tx_address(self, tx_address):
        self.tx_address = tx_address

    def get_tx_amplitude(self):
        return self.tx_amplitude

    def set_tx_amplitude(self, tx_amplitude):
        self.tx_amplitude = tx_amplitude
        self.blocks_multiply_const_0.set_k(self.tx_amplitude)

    def get_tx_gain_db(self):
        return self.tx_gain_db

    def set_tx_gain_db(self, tx_gain_db):
        self.tx_gain_db = tx_gain_db
        self.soapy_custom_sink_0.set_gain(0, self.tx_gain_db)

    def get_soapy_driver(self):
        return self.soapy_driver

    def set_soapy_driver(self, soapy_driver):
        self.soapy_driver = soapy_driver



def argument_parser():
    description = 'semcom_phy semantic link over a SoapySDR radio (HackRF, USRP, LimeSDR, PlutoSDR...): PDUs of semantic symbols from ZMQ (PULL message source, connects to --rx-address) -> Semantic OFDM TX -> Multiply Const (tx_amplitude: back-off, radios clip at +-1.0) -> Soapy sink; Soapy source -> Semantic OFDM RX -> one PDU per received frame to ZMQ (PUSH message sink, binds --tx-address). The default carrier, 2.45 GHz, is inside the 2.4 GHz ISM band (2400-2483.5 MHz): transmit only where and as loud as your regulator allows (power, bandwidth, duty cycle), better into a cable with attenuators or a dummy load.'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--device", dest="device", type=str, default='driver=hackrf',
        help="Set SoapySDR device string naming its driver: driver=hackrf, driver=uhd,type=b200, driver=lime, driver=plutosdr,hostname=192.168.2.1 [default=%(default)r]")
    parser.add_argument(
        "--lo-hz", dest="lo_hz", type=eng_float, default=eng_notation.num_to_str(float(2.45e9)),
        help="Set Carrier (LO) frequency in Hz, TX and RX (2.45e9: 2.4 GHz ISM band) [default=%(default)r]")
    parser.add_argument(
        "--phy", dest="phy", type=str, default='',
        help="Set The grid and modem as JSON (semcom_phy.phy.pdu.phy_text; empty: the defaults) [default=%(default)r]")
    parser.add_argument(
        "--rx-address", dest="rx_address", type=str, default='tcp://127.0.0.1:50001',
        help="Set ZMQ address the PULL message source connects to (our PUSH binds it): PDUs in [default=%(default)r]")
    parser.add_argument(
        "--rx-gain-db", dest="rx_gain_db", type=eng_float, default=eng_notation.num_to_str(float(30)),
        help="Set RX gain in dB (the device's overall gain, manual: no AGC) [default=%(default)r]")
    parser.add_argument(
        "--samp-rate", dest="samp_rate", type=eng_float, default=eng_notation.num_to_str(float(2e6)),
        help="Set Sample rate in S/s, TX and RX (also the analog filter bandwidth); the PHY's default grid is for 2 MS/s [default=%(default)r]")
    parser.add_argument(
        "--tx-address", dest="tx_address", type=str, default='tcp://127.0.0.1:50002',
        help="Set ZMQ address the PUSH message sink binds (our PULL connects): PDUs out [default=%(default)r]")
    parser.add_argument(
        "--tx-amplitude", dest="tx_amplitude", type=eng_float, default=eng_notation.num_to_str(float(0.2)),
        help="Set Scale of the TX samples (the PHY's are unit power, peaks near 4; radios clip at +-1.0 full scale) [default=%(default)r]")
    parser.add_argument(
        "--tx-gain-db", dest="tx_gain_db", type=eng_float, default=eng_notation.num_to_str(float(0)),
        help="Set TX gain in dB (the device's overall gain) [default=%(default)r]")
    return parser


def main(top_block_cls=semantic_soapy, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(device=options.device, lo_hz=options.lo_hz, phy=options.phy, rx_address=options.rx_address, rx_gain_db=options.rx_gain_db, samp_rate=options.samp_rate, tx_address=options.tx_address, tx_amplitude=options.tx_amplitude, tx_gain_db=options.tx_gain_db)

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
