#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: semcom_phy live monitor
# Author: semcom_phy
# Description: semcom_phy live monitor: the receiver's PDUs from ZMQ (PULL message source, connects to --address; a semcom_phy.transport.monitor.MonitorFeed binds it) -> Semantic PDU Monitor -> Qt constellation of the equalised symbols, per-frame SNR (plot and number), frames lost; a summary line on stdout. Enter or EOF on stdin quits.
# GNU Radio version: 3.10.5.1

from packaging.version import Version as StrictVersion

if __name__ == '__main__':
    import ctypes
    import sys
    if sys.platform.startswith('linux'):
        try:
            x11 = ctypes.cdll.LoadLibrary('libX11.so')
            x11.XInitThreads()
        except:
            print("Warning: failed to XInitThreads()")

from PyQt5 import Qt
from gnuradio import qtgui
from gnuradio.filter import firdes
import sip
from gnuradio import gr
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import zeromq
from semcom_phy.gr import pdu_monitor


def snipfcn_quit_on_stdin(self):
    # As the flowgraphs run with a prompt: say ready, and quit on Enter or EOF on stdin
    # (semcom_phy.transport.zmq.Flowgraph waits for the prompt and stops a flowgraph by closing stdin).
    import os, signal, sys, threading, time

    def quit_on_stdin():
        sys.stdin.readline()
        for _ in range(250):   # GRC installs its SIGTERM handler (tb.stop, tb.wait, quit) right after this
            if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
                break
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=quit_on_stdin, daemon=True).start()
    print('Press Enter to quit: ', flush=True)


def snippets_main_after_start(tb):
    snipfcn_quit_on_stdin(tb)

from gnuradio import qtgui

class monitor(gr.top_block, Qt.QWidget):

    def __init__(self, address='tcp://127.0.0.1:50003', history=200, report_s=1.0):
        gr.top_block.__init__(self, "semcom_phy live monitor", catch_exceptions=True)
        Qt.QWidget.__init__(self)
        self.setWindowTitle("semcom_phy live monitor")
        qtgui.util.check_set_qss()
        try:
            self.setWindowIcon(Qt.QIcon.fromTheme('gnuradio-grc'))
        except:
            pass
        self.top_scroll_layout = Qt.QVBoxLayout()
        self.setLayout(self.top_scroll_layout)
        self.top_scroll = Qt.QScrollArea()
        self.top_scroll.setFrameStyle(Qt.QFrame.NoFrame)
        self.top_scroll_layout.addWidget(self.top_scroll)
        self.top_scroll.setWidgetResizable(True)
        self.top_widget = Qt.QWidget()
        self.top_scroll.setWidget(self.top_widget)
        self.top_layout = Qt.QVBoxLayout(self.top_widget)
        self.top_grid_layout = Qt.QGridLayout()
        self.top_layout.addLayout(self.top_grid_layout)

        self.settings = Qt.QSettings("GNU Radio", "monitor")

        try:
            if StrictVersion(Qt.qVersion()) < StrictVersion("5.0.0"):
                self.restoreGeometry(self.settings.value("geometry").toByteArray())
            else:
                self.restoreGeometry(self.settings.value("geometry"))
        except:
            pass

        ##################################################
        # Parameters
        ##################################################
        self.address = address
        self.history = history
        self.report_s = report_s

        ##################################################
        # Blocks
        ##################################################

        self.zeromq_pull_msg_source_0 = zeromq.pull_msg_source(address, 100, False)
        self.semcom_pdu_monitor_0 = pdu_monitor(report_s)
        self.qtgui_time_sink_snr = qtgui.time_sink_f(
            history, #size
            1, #samp_rate
            "SNR per frame", #name
            1, #number of inputs
            None # parent
        )
        self.qtgui_time_sink_snr.set_update_time(0.10)
        self.qtgui_time_sink_snr.set_y_axis(-10, 40)

        self.qtgui_time_sink_snr.set_y_label('SNR', "dB")

        self.qtgui_time_sink_snr.enable_tags(False)
        self.qtgui_time_sink_snr.set_trigger_mode(qtgui.TRIG_MODE_FREE, qtgui.TRIG_SLOPE_POS, 0.0, 0, 0, "")
        self.qtgui_time_sink_snr.enable_autoscale(True)
        self.qtgui_time_sink_snr.enable_grid(True)
        self.qtgui_time_sink_snr.enable_axis_labels(True)
        self.qtgui_time_sink_snr.enable_control_panel(False)
        self.qtgui_time_sink_snr.enable_stem_plot(False)

        self.qtgui_time_sink_snr.disable_legend()

        labels = ['SNR', 'Signal 2', 'Signal 3', 'Signal 4', 'Signal 5',
            'Signal 6', 'Signal 7', 'Signal 8', 'Signal 9', 'Signal 10']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ['blue', 'red', 'green', 'black', 'cyan',
            'magenta', 'yellow', 'dark red', 'dark green', 'dark blue']
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0]
        styles = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        markers = [-1, -1, -1, -1, -1,
            -1, -1, -1, -1, -1]


        for i in range(1):
            if len(labels[i]) == 0:
                self.qtgui_time_sink_snr.set_line_label(i, "Data {0}".format(i))
            else:
                self.qtgui_time_sink_snr.set_line_label(i, labels[i])
            self.qtgui_time_sink_snr.set_line_width(i, widths[i])
            self.qtgui_time_sink_snr.set_line_color(i, colors[i])
            self.qtgui_time_sink_snr.set_line_style(i, styles[i])
            self.qtgui_time_sink_snr.set_line_marker(i, markers[i])
            self.qtgui_time_sink_snr.set_line_alpha(i, alphas[i])

        self._qtgui_time_sink_snr_win = sip.wrapinstance(self.qtgui_time_sink_snr.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._qtgui_time_sink_snr_win, 0, 1, 1, 1)
        for r in range(0, 1):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(1, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.qtgui_number_sink_snr = qtgui.number_sink(
            gr.sizeof_float,
            0,
            qtgui.NUM_GRAPH_HORIZ,
            1,
            None # parent
        )
        self.qtgui_number_sink_snr.set_update_time(0.10)
        self.qtgui_number_sink_snr.set_title("")

        labels = ['SNR (last frame)', '', '', '', '',
            '', '', '', '', '']
        units = ['dB', '', '', '', '',
            '', '', '', '', '']
        colors = [("black", "black"), ("black", "black"), ("black", "black"), ("black", "black"), ("black", "black"),
            ("black", "black"), ("black", "black"), ("black", "black"), ("black", "black"), ("black", "black")]
        factor = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]

        for i in range(1):
            self.qtgui_number_sink_snr.set_min(i, -10)
            self.qtgui_number_sink_snr.set_max(i, 40)
            self.qtgui_number_sink_snr.set_color(i, colors[i][0], colors[i][1])
            if len(labels[i]) == 0:
                self.qtgui_number_sink_snr.set_label(i, "Data {0}".format(i))
            else:
                self.qtgui_number_sink_snr.set_label(i, labels[i])
            self.qtgui_number_sink_snr.set_unit(i, units[i])
            self.qtgui_number_sink_snr.set_factor(i, factor[i])

        self.qtgui_number_sink_snr.enable_autoscale(False)
        self._qtgui_number_sink_snr_win = sip.wrapinstance(self.qtgui_number_sink_snr.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._qtgui_number_sink_snr_win, 1, 0, 1, 1)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 1):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.qtgui_number_sink_lost = qtgui.number_sink(
            gr.sizeof_float,
            0,
            qtgui.NUM_GRAPH_NONE,
            1,
            None # parent
        )
        self.qtgui_number_sink_lost.set_update_time(0.10)
        self.qtgui_number_sink_lost.set_title("")

        labels = ['frames lost', '', '', '', '',
            '', '', '', '', '']
        units = ['', '', '', '', '',
            '', '', '', '', '']
        colors = [("black", "black"), ("black", "black"), ("black", "black"), ("black", "black"), ("black", "black"),
            ("black", "black"), ("black", "black"), ("black", "black"), ("black", "black"), ("black", "black")]
        factor = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]

        for i in range(1):
            self.qtgui_number_sink_lost.set_min(i, 0)
            self.qtgui_number_sink_lost.set_max(i, 1)
            self.qtgui_number_sink_lost.set_color(i, colors[i][0], colors[i][1])
            if len(labels[i]) == 0:
                self.qtgui_number_sink_lost.set_label(i, "Data {0}".format(i))
            else:
                self.qtgui_number_sink_lost.set_label(i, labels[i])
            self.qtgui_number_sink_lost.set_unit(i, units[i])
            self.qtgui_number_sink_lost.set_factor(i, factor[i])

        self.qtgui_number_sink_lost.enable_autoscale(False)
        self._qtgui_number_sink_lost_win = sip.wrapinstance(self.qtgui_number_sink_lost.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._qtgui_number_sink_lost_win, 1, 1, 1, 1)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(1, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.qtgui_const_sink_x_0 = qtgui.const_sink_c(
            1024, #size
            "Equalised symbols", #name
            1, #number of inputs
            None # parent
        )
        self.qtgui_const_sink_x_0.set_update_time(0.10)
        self.qtgui_const_sink_x_0.set_y_axis((-2), 2)
        self.qtgui_const_sink_x_0.set_x_axis((-2), 2)
        self.qtgui_const_sink_x_0.set_trigger_mode(qtgui.TRIG_MODE_FREE, qtgui.TRIG_SLOPE_POS, 0.0, 0, "")
        self.qtgui_const_sink_x_0.enable_autoscale(False)
        self.qtgui_const_sink_x_0.enable_grid(True)
        self.qtgui_const_sink_x_0.enable_axis_labels(True)

        self.qtgui_const_sink_x_0.disable_legend()

        labels = ['', '', '', '', '',
            '', '', '', '', '']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ["blue", "red", "red", "red", "red",
            "red", "red", "red", "red", "red"]
        styles = [0, 0, 0, 0, 0,
            0, 0, 0, 0, 0]
        markers = [0, 0, 0, 0, 0,
            0, 0, 0, 0, 0]
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
            if len(labels[i]) == 0:
                self.qtgui_const_sink_x_0.set_line_label(i, "Data {0}".format(i))
            else:
                self.qtgui_const_sink_x_0.set_line_label(i, labels[i])
            self.qtgui_const_sink_x_0.set_line_width(i, widths[i])
            self.qtgui_const_sink_x_0.set_line_color(i, colors[i])
            self.qtgui_const_sink_x_0.set_line_style(i, styles[i])
            self.qtgui_const_sink_x_0.set_line_marker(i, markers[i])
            self.qtgui_const_sink_x_0.set_line_alpha(i, alphas[i])

        self._qtgui_const_sink_x_0_win = sip.wrapinstance(self.qtgui_const_sink_x_0.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._qtgui_const_sink_x_0_win, 0, 0, 1, 1)
        for r in range(0, 1):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 1):
            self.top_grid_layout.setColumnStretch(c, 1)


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.zeromq_pull_msg_source_0, 'out'), (self.semcom_pdu_monitor_0, 'pdus'))
        self.connect((self.semcom_pdu_monitor_0, 0), (self.qtgui_const_sink_x_0, 0))
        self.connect((self.semcom_pdu_monitor_0, 2), (self.qtgui_number_sink_lost, 0))
        self.connect((self.semcom_pdu_monitor_0, 1), (self.qtgui_number_sink_snr, 0))
        self.connect((self.semcom_pdu_monitor_0, 1), (self.qtgui_time_sink_snr, 0))


    def closeEvent(self, event):
        self.settings = Qt.QSettings("GNU Radio", "monitor")
        self.settings.setValue("geometry", self.saveGeometry())
        self.stop()
        self.wait()

        event.accept()

    def get_address(self):
        return self.address

    def set_address(self, address):
        self.address = address

    def get_history(self):
        return self.history

    def set_history(self, history):
        self.history = history

    def get_report_s(self):
        return self.report_s

    def set_report_s(self, report_s):
        self.report_s = report_s



def argument_parser():
    description = "semcom_phy live monitor: the receiver's PDUs from ZMQ (PULL message source, connects to --address; a semcom_phy.transport.monitor.MonitorFeed binds it) -> Semantic PDU Monitor -> Qt constellation of the equalised symbols, per-frame SNR (plot and number), frames lost; a summary line on stdout. Enter or EOF on stdin quits."
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--address", dest="address", type=str, default='tcp://127.0.0.1:50003',
        help="Set ZMQ address the PULL message source connects to (a PUSH socket must bind it): the receiver's PDUs [default=%(default)r]")
    parser.add_argument(
        "--history", dest="history", type=intx, default=200,
        help="Set PDUs (frames) the SNR / frames-lost plot spans [default=%(default)r]")
    parser.add_argument(
        "--report-s", dest="report_s", type=eng_float, default=eng_notation.num_to_str(float(1.0)),
        help="Set Seconds between summary lines on stdout, at most (0 = after every PDU) [default=%(default)r]")
    return parser


def main(top_block_cls=monitor, options=None):
    if options is None:
        options = argument_parser().parse_args()

    if StrictVersion("4.5.0") <= StrictVersion(Qt.qVersion()) < StrictVersion("5.0.0"):
        style = gr.prefs().get_string('qtgui', 'style', 'raster')
        Qt.QApplication.setGraphicsSystem(style)
    qapp = Qt.QApplication(sys.argv)

    tb = top_block_cls(address=options.address, history=options.history, report_s=options.report_s)

    tb.start()
    snippets_main_after_start(tb)
    tb.show()

    def sig_handler(sig=None, frame=None):
        tb.stop()
        tb.wait()

        Qt.QApplication.quit()

    signal.signal(signal.SIGINT, sig_handler)
    signal.signal(signal.SIGTERM, sig_handler)

    timer = Qt.QTimer()
    timer.start(500)
    timer.timeout.connect(lambda: None)

    qapp.exec_()

if __name__ == '__main__':
    main()
