#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: semcom_phy semantic emulator
# Author: semcom_phy
# Description: semcom_phy semantic emulator: PDUs of semantic symbols from ZMQ (PULL message source, connects to --rx-address) -> Semantic OFDM TX -> optional Rayleigh fading -> channel_model (taps, epsilon, CFO, AWGN) -> Semantic OFDM RX -> one PDU per received frame to ZMQ (PUSH message sink, binds --tx-address). The whole PHY runs in GNU Radio; no throttle.
# GNU Radio version: 3.10.5.1

from gnuradio import blocks
from gnuradio import channels
from gnuradio.filter import firdes
from gnuradio import gr
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import zeromq
from semcom_phy.gr import semantic_ofdm_rx
from semcom_phy.gr import semantic_ofdm_tx




class semantic_emulator(gr.top_block):

    def __init__(self, epsilon=1.0, fading=0, fading_fdts=(1e-4), freq_offset=0.0, noise_voltage=0.0, phy='', rx_address='tcp://127.0.0.1:50001', samp_rate=2e6, seed=0, taps_profile='flat', tx_address='tcp://127.0.0.1:50002'):
        gr.top_block.__init__(self, "semcom_phy semantic emulator", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.epsilon = epsilon
        self.fading = fading
        self.fading_fdts = fading_fdts
        self.freq_offset = freq_offset
        self.noise_voltage = noise_voltage
        self.phy = phy
        self.rx_address = rx_address
        self.samp_rate = samp_rate
        self.seed = seed
        self.taps_profile = taps_profile
        self.tx_address = tx_address

        ##################################################
        # Variables
        ##################################################
        self.taps_profiles = taps_profiles = {'flat': [1.0], 'three_tap': [1.0, 0.4+0.2j, 0.15-0.1j]}
        self.taps_raw = taps_raw = taps_profiles[taps_profile]
        self.taps = taps = [complex(t) / sum(abs(u) ** 2 for u in taps_raw) ** 0.5 for t in taps_raw]
        self.fading_on = fading_on = 1 if fading else 0
        self.pdp_mags = pdp_mags = [abs(t) for t in taps]
        self.pdp_delays = pdp_delays = [float(k) for k in range(len(taps))]
        self.cm_taps = cm_taps = [1.0 + 0.0j] if fading_on else taps

        ##################################################
        # Blocks
        ##################################################

        self.zeromq_push_msg_sink_0 = zeromq.push_msg_sink(tx_address, 100, True)
        self.zeromq_pull_msg_source_0 = zeromq.pull_msg_source(rx_address, 100, False)
        self.semcom_ofdm_tx_0 = semantic_ofdm_tx(phy)
        self.semcom_ofdm_rx_0 = semantic_ofdm_rx(phy, 32768)
        self.channels_selective_fading_model_0 = channels.selective_fading_model( 8, fading_fdts, False, 4.0, seed, pdp_delays, pdp_mags, len(pdp_delays) )
        self.channels_channel_model_0 = channels.channel_model(
            noise_voltage=noise_voltage,
            frequency_offset=freq_offset,
            epsilon=epsilon,
            taps=cm_taps,
            noise_seed=seed,
            block_tags=False)
        self.blocks_selector_out = blocks.selector(gr.sizeof_gr_complex*1,fading_on,0)
        self.blocks_selector_out.set_enabled(True)
        self.blocks_selector_in = blocks.selector(gr.sizeof_gr_complex*1,0,fading_on)
        self.blocks_selector_in.set_enabled(True)
        self.blocks_null_sink_0 = blocks.null_sink(gr.sizeof_gr_complex*1)


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.semcom_ofdm_rx_0, 'pdus'), (self.zeromq_push_msg_sink_0, 'in'))
        self.msg_connect((self.zeromq_pull_msg_source_0, 'out'), (self.semcom_ofdm_tx_0, 'pdus'))
        self.connect((self.blocks_selector_in, 0), (self.blocks_selector_out, 0))
        self.connect((self.blocks_selector_in, 1), (self.channels_selective_fading_model_0, 0))
        self.connect((self.blocks_selector_out, 0), (self.channels_channel_model_0, 0))
        self.connect((self.channels_channel_model_0, 0), (self.semcom_ofdm_rx_0, 0))
        self.connect((self.channels_selective_fading_model_0, 0), (self.blocks_selector_out, 1))
        self.connect((self.semcom_ofdm_rx_0, 0), (self.blocks_null_sink_0, 0))
        self.connect((self.semcom_ofdm_tx_0, 0), (self.blocks_selector_in, 0))


    def get_epsilon(self):
        return self.epsilon

    def set_epsilon(self, epsilon):
        self.epsilon = epsilon
        self.channels_channel_model_0.set_timing_offset(self.epsilon)

    def get_fading(self):
        return self.fading

    def set_fading(self, fading):
        self.fading = fading
        self.set_fading_on(1 if self.fading else 0)

    def get_fading_fdts(self):
        return self.fading_fdts

    def set_fading_fdts(self, fading_fdts):
        self.fading_fdts = fading_fdts
        self.channels_selective_fading_model_0.set_fDTs(self.fading_fdts)

    def get_freq_offset(self):
        return self.freq_offset

    def set_freq_offset(self, freq_offset):
        self.freq_offset = freq_offset
        self.channels_channel_model_0.set_frequency_offset(self.freq_offset)

    def get_noise_voltage(self):
        return self.noise_voltage

    def set_noise_voltage(self, noise_voltage):
        self.noise_voltage = noise_voltage
        self.channels_channel_model_0.set_noise_voltage(self.noise_voltage)

    def get_phy(self):
        return self.phy

    def set_phy(self, phy):
        self.phy = phy

    def get_rx_address(self):
        return self.rx_address

    def set_rx_address(self, rx_address):
        self.rx_address = rx_address

    def get_samp_rate(self):
        return self.samp_rate

    def set_samp_rate(self, samp_rate):
        self.samp_rate = samp_rate

    def get_seed(self):
        return self.seed

    def set_seed(self, seed):
        self.seed = seed

    def get_taps_profile(self):
        return self.taps_profile

    def set_taps_profile(self, taps_profile):
        self.taps_profile = taps_profile
        self.set_taps_raw(self.taps_profiles[self.taps_profile])

    def get_tx_address(self):
        return self.tx_address

    def set_tx_address(self, tx_address):
        self.tx_address = tx_address

    def get_taps_profiles(self):
        return self.taps_profiles

    def set_taps_profiles(self, taps_profiles):
        self.taps_profiles = taps_profiles
        self.set_taps_raw(self.taps_profiles[self.taps_profile])

    def get_taps_raw(self):
        return self.taps_raw

    def set_taps_raw(self, taps_raw):
        self.taps_raw = taps_raw
        self.set_taps([complex(t) / sum(abs(u) ** 2 for u in self.taps_raw) ** 0.5 for t in self.taps_raw])

    def get_taps(self):
        return self.taps

    def set_taps(self, taps):
        self.taps = taps
        self.set_cm_taps([1.0 + 0.0j] if self.fading_on else self.taps)
        self.set_pdp_delays([float(k) for k in range(len(self.taps))])
        self.set_pdp_mags([abs(t) for t in self.taps])

    def get_fading_on(self):
        return self.fading_on

    def set_fading_on(self, fading_on):
        self.fading_on = fading_on
        self.blocks_selector_in.set_output_index(self.fading_on)
        self.blocks_selector_out.set_input_index(self.fading_on)
        self.set_cm_taps([1.0 + 0.0j] if self.fading_on else self.taps)

    def get_pdp_mags(self):
        return self.pdp_mags

    def set_pdp_mags(self, pdp_mags):
        self.pdp_mags = pdp_mags

    def get_pdp_delays(self):
        return self.pdp_delays

    def set_pdp_delays(self, pdp_delays):
        self.pdp_delays = pdp_delays

    def get_cm_taps(self):
        return self.cm_taps

    def set_cm_taps(self, cm_taps):
        self.cm_taps = cm_taps
        self.channels_channel_model_0.set_taps(self.cm_taps)



def argument_parser():
    description = 'semcom_phy semantic emulator: PDUs of semantic symbols from ZMQ (PULL message source, connects to --rx-address) -> Semantic OFDM TX -> optional Rayleigh fading -> channel_model (taps, epsilon, CFO, AWGN) -> Semantic OFDM RX -> one PDU per received frame to ZMQ (PUSH message sink, binds --tx-address). The whole PHY runs in GNU Radio; no throttle.'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--epsilon", dest="epsilon", type=eng_float, default=eng_notation.num_to_str(float(1.0)),
        help="Set Sample-rate (timing) ratio, 1.0 = no clock offset [default=%(default)r]")
    parser.add_argument(
        "--fading", dest="fading", type=intx, default=0,
        help="Set Rayleigh fading: 0 off, 1 on [default=%(default)r]")
    parser.add_argument(
        "--fading-fdts", dest="fading_fdts", type=eng_float, default=eng_notation.num_to_str(float((1e-4))),
        help="Set Normalised maximum Doppler fD*Ts (Doppler Hz / samp_rate) [default=%(default)r]")
    parser.add_argument(
        "--freq-offset", dest="freq_offset", type=eng_float, default=eng_notation.num_to_str(float(0.0)),
        help="Set Carrier frequency offset in cycles/sample (Hz / samp_rate) [default=%(default)r]")
    parser.add_argument(
        "--noise-voltage", dest="noise_voltage", type=eng_float, default=eng_notation.num_to_str(float(0.0)),
        help="Set AWGN RMS amplitude (complex noise power = noise_voltage**2) [default=%(default)r]")
    parser.add_argument(
        "--phy", dest="phy", type=str, default='',
        help="Set The grid and modem as JSON (semcom_phy.phy.pdu.phy_text; empty: the defaults) [default=%(default)r]")
    parser.add_argument(
        "--rx-address", dest="rx_address", type=str, default='tcp://127.0.0.1:50001',
        help="Set ZMQ address the PULL message source connects to (our PUSH binds it): PDUs in [default=%(default)r]")
    parser.add_argument(
        "--samp-rate", dest="samp_rate", type=eng_float, default=eng_notation.num_to_str(float(2e6)),
        help="Set Sample rate in S/s (informational: every other setting is normalised to it) [default=%(default)r]")
    parser.add_argument(
        "--seed", dest="seed", type=intx, default=0,
        help="Set Seed of the AWGN and fading generators [default=%(default)r]")
    parser.add_argument(
        "--taps-profile", dest="taps_profile", type=str, default='flat',
        help="Set Multipath profile: flat or three_tap [default=%(default)r]")
    parser.add_argument(
        "--tx-address", dest="tx_address", type=str, default='tcp://127.0.0.1:50002',
        help="Set ZMQ address the PUSH message sink binds (our PULL connects): PDUs out [default=%(default)r]")
    return parser


def main(top_block_cls=semantic_emulator, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(epsilon=options.epsilon, fading=options.fading, fading_fdts=options.fading_fdts, freq_offset=options.freq_offset, noise_voltage=options.noise_voltage, phy=options.phy, rx_address=options.rx_address, samp_rate=options.samp_rate, seed=options.seed, taps_profile=options.taps_profile, tx_address=options.tx_address)

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
