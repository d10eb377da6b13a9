"""The PlutoSDR transport: its settings, TX scaling and the no-radio path (no radio needed)."""

import warnings

import numpy as np
import pytest

from semcom_phy.config import OfdmConfig
from semcom_phy.transport.pluto import DAC_FULL_SCALE, PlutoConfig, PlutoError, PlutoTransport


@pytest.mark.parametrize("field, value, message", [
    ("lo_hz", 5.8e9, "lo_hz = 5.8e+09 is out of range: allowed [3.25e+08, 3.8e+09] Hz for the AD9363"),
    ("rf_bandwidth_hz", 30e6, "rf_bandwidth_hz = 3e+07 is out of range"),
    ("rx_gain_db", 80.0, "rx_gain_db"),
    ("tx_attenuation_db", -1.0, "tx_attenuation_db"),
    ("sample_rate_hz", 100e3, "sample_rate_hz"),
    ("uri", "", "give a URI"),
])
def test_settings_out_of_range_name_the_field_and_the_range(field, value, message):
    with pytest.raises(ValueError, match=message.replace("+", r"\+").replace("[", r"\[").replace("]", r"\]")):
        PlutoConfig(**{field: value})


def test_ad9364_ranges_only_when_asked_and_usb_rate_warning():
    assert PlutoConfig(lo_hz=5.8e9, ad9364=True).lo_hz == 5.8e9
    with pytest.warns(UserWarning, match="USB 2.0"):
        PlutoConfig(sample_rate_hz=10e6, rf_bandwidth_hz=10e6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PlutoConfig()
    two = PlutoConfig(tx_uri="usb:1.2.5", rx_uri="usb:1.3.5")
    assert (two.tx, two.rx) == ("usb:1.2.5", "usb:1.3.5")


def test_no_radio_names_the_uri_and_what_to_check():
    def absent(uri):
        raise Exception("No device found")                # what adi.Pluto raises

    with pytest.raises(PlutoError, match=r"no PlutoSDR answers at 'ip:192.168.2.1'.*iio_info -s"):
        PlutoTransport(PlutoConfig(), OfdmConfig(), radio_factory=absent)


def test_the_real_driver_without_a_radio_fails_at_once_with_the_same_message():
    pytest.importorskip("adi")
    with pytest.raises(PlutoError, match="usb:99.99.5"):
        PlutoTransport(PlutoConfig(uri="usb:99.99.5"), OfdmConfig())


def test_sample_rate_must_match_the_grid():
    with pytest.raises(ValueError, match="differs from the OFDM grid"):
        PlutoTransport(PlutoConfig(sample_rate_hz=4e6, rf_bandwidth_hz=4e6), OfdmConfig(), radio_factory=lambda u: None)


def test_tx_scaling_puts_the_peak_at_the_configured_level_without_clipping():
    t = PlutoTransport.__new__(PlutoTransport)              # scale() needs only the config
    t.cfg = PlutoConfig(tx_peak_dbfs=-6.0)
    g = np.random.default_rng(0)
    burst = (g.standard_normal(10_000) + 1j * g.standard_normal(10_000)).astype(np.complex64)
    out, report = t.scale(burst)
    peak = max(np.abs(out.real).max(), np.abs(out.imag).max())
    assert peak == pytest.approx(DAC_FULL_SCALE * 10 ** (-6 / 20), rel=1e-6)
    assert report["clip_rate"] == 0.0 and 8 < report["papr_db"] < 14
    assert report["rms_dbfs"] == pytest.approx(20 * np.log10(np.sqrt(np.mean(np.abs(out) ** 2)) / DAC_FULL_SCALE))


def test_link_over_two_virtual_plutos_20_ppm_apart_measures_the_cfo_and_decodes():
    import torch

    from semcom_phy.config import ModemConfig
    from semcom_phy.link import SemanticLink
    from semcom_phy.semantic import CodecConfig, SemanticCodec
    from semcom_phy.transport.pluto import virtual_radios

    with torch.random.fork_rng():
        torch.manual_seed(0)
        codec = SemanticCodec(CodecConfig()).eval()
    cfg = PlutoConfig(tx_uri="virtual:a", rx_uri="virtual:b")
    ofdm = OfdmConfig()
    x = torch.rand(24, 1, 28, 28)
    with PlutoTransport(cfg, ofdm, virtual_radios(cfg)) as t:
        out = SemanticLink(codec, t, ofdm, ModemConfig(mode="analog", gap_samples=256), interleave=8).run(x)
        burst = t.last_burst
    m = out.metrics(x, torch.zeros(24, dtype=torch.long))
    assert m["frames_received"] == 24 and m["images_lost"] == 0
    assert m["cfo_est_hz"] == pytest.approx(20e-6 * cfg.lo_hz, rel=0.01)
    assert m["snr_est_db"] > 15 and m["evm_db"] < -15
    assert burst["clip_rate"] == 0.0 and burst["rx_clip_rate"] == 0.0
    assert t.samples_received >= 2 * t.samples_sent                 # a whole copy of the burst, at least
    with pytest.raises(RuntimeError, match="closed"):
        t.send(np.zeros(8, np.complex64))


def test_samples_a_virtual_pluto_loses_are_counted_as_damaged_frames_not_decoded():
    import torch

    from semcom_phy.config import ModemConfig
    from semcom_phy.link import SemanticLink
    from semcom_phy.semantic import CodecConfig, SemanticCodec
    from semcom_phy.transport.pluto import virtual_radios

    with torch.random.fork_rng():
        torch.manual_seed(0)
        codec = SemanticCodec(CodecConfig()).eval()
    cfg = PlutoConfig(tx_uri="virtual:a", rx_uri="virtual:b", rx_buffer_size=4096)
    ofdm = OfdmConfig()
    x = torch.rand(48, 1, 28, 28)
    factory = virtual_radios(cfg, overflow_probability=0.1)
    with PlutoTransport(cfg, ofdm, factory) as t:
        out = SemanticLink(codec, t, ofdm, ModemConfig(mode="analog", gap_samples=256), interleave=8).run(x)
    dropped = factory("virtual:b").dropped_samples
    assert dropped > 0
    m = out.metrics(x, torch.zeros(48, dtype=torch.long))
    # a frame a lost block cut into is refused and counted (the transport captures the cyclic burst
    # more than once, so its next copy may still arrive whole), none is decoded as if it were whole
    assert m["frames_damaged"] >= 1 and out.stats.damaged == m["frames_damaged"]
    assert all(np.isfinite(f.symbols).all() for f in out.frames)


def test_a_radio_that_fails_mid_burst_is_a_clear_error():
    from semcom_phy.transport.pluto import virtual_radios

    cfg = PlutoConfig(uri="virtual")
    t = PlutoTransport(cfg, OfdmConfig(), virtual_radios(cfg))

    def busy():
        raise OSError(16, "Device or resource busy")

    t.rx_radio.rx = busy
    t.send(np.ones(1000, np.complex64))
    with pytest.raises(PlutoError, match="Device or resource busy.*another program"):
        t.drain()
    t.close()


def test_xo_calibration_from_the_measured_cfo_removes_it_and_kernel_buffers_are_set():
    from semcom_phy.config import ModemConfig
    from semcom_phy.phy import StreamReceiver, transmit
    from semcom_phy.transport.pluto import open_pluto

    cfg, ofdm = PlutoConfig(tx_uri="virtual:a", rx_uri="virtual:b", kernel_buffers=8), OfdmConfig()
    modem = ModemConfig(mode="analog", gap_samples=256)
    g = np.random.default_rng(0)
    burst = transmit(list((g.choice([-1, 1], (6, 128)) + 0j).astype(np.complex64)), ofdm, modem).iq

    def cfo(t):
        t.send(burst)
        t.send(np.zeros(320, np.complex64))
        rx = StreamReceiver(ofdm, modem)
        frames = rx.push(t.drain()) + rx.flush()
        assert len({f.seq for f in frames}) == 6
        return float(np.median([f.cfo_hz for f in frames]))

    with open_pluto(cfg, ofdm) as t:
        assert t.rx_radio._rxadc.kernel_buffers == 8
        before = cfo(t)
        old, new = t.calibrate_xo(before)
        after = cfo(t)
    assert before == pytest.approx(20e-6 * cfg.lo_hz, rel=0.01)
    assert old == 40_000_000 and new == pytest.approx(old * (1 - 20e-6), abs=2)
    assert abs(after) < 0.01 * abs(before)
