"""The virtual PlutoSDR behaves like pyadi-iio's adi.Pluto on a real radio: the driver's checks and
error types, the kernel's refusals (OSError EINVAL), int16 casting without scaling, 12-bit
converters, cyclic-buffer rules, stale kernel buffers after a retune, carrier offset between
radios, and the gain chain of a cable with an attenuator."""

import errno

import numpy as np
import pytest

from semcom_phy.transport.virtual_pluto import VirtualAir, VirtualPluto, pluto_factory

FS = 1_000_000
LO = 2_400_000_000


def _radio(air=None, uri="ip:pluto.virtual", rx_gain=30.0, tx_gain=0.0, size=4096, **kw):
    r = VirtualPluto(uri, air=air, **kw)
    r.sample_rate = FS
    r.rx_lo = r.tx_lo = LO
    r.rx_rf_bandwidth = r.tx_rf_bandwidth = 1_000_000
    r.gain_control_mode_chan0 = "manual"
    r.rx_hardwaregain_chan0 = rx_gain
    r.tx_hardwaregain_chan0 = tx_gain
    r.rx_buffer_size = size
    return r


def _qpsk(n, seed=0):
    g = np.random.default_rng(seed)
    return ((2 * g.integers(0, 2, n) - 1) + 1j * (2 * g.integers(0, 2, n) - 1)) / np.sqrt(2)


def _power(x):
    return float(np.mean(np.abs(x) ** 2))


SIGNAL_POWER = 1024.0 ** 2        # a 2**14-scaled unit-power signal at net 0 dB (codes^2)
NOISE_POWER = (2048 * 10 ** (-31 / 20)) ** 2   # noise floor at 30 dB RX gain, default air


# ---- attributes -------------------------------------------------------------------------------

def test_read_back_types_and_quantisation_as_the_driver():
    r = VirtualPluto()
    assert (r.rx_lo, r.tx_lo, r.sample_rate) == (2_400_000_000, 2_450_000_000, 30_720_000)
    assert r.gain_control_mode_chan0 == "slow_attack" and r.tx_enabled_channels == [0]
    r.sample_rate = 2e6                              # a float rate is accepted (kernel parses it)
    r.rx_lo = 915_000_000
    for v in (r.sample_rate, r.rx_lo, r.tx_lo, r.rx_rf_bandwidth, r.tx_rf_bandwidth):
        assert type(v) is int
    assert r.sample_rate == 2_000_000 and r.rx_lo == 915_000_000
    r.gain_control_mode_chan0 = "manual"
    r.rx_hardwaregain_chan0 = 30.7                   # 1 dB steps (truncated)
    assert r.rx_hardwaregain_chan0 == 30.0
    r.tx_hardwaregain_chan0 = -10.3                  # 0.25 dB steps toward 0 dB
    assert r.tx_hardwaregain_chan0 == -10.25 and type(r.tx_hardwaregain_chan0) is float
    # get_numbers() in adi/attribute.py turns "30.000000 dB" into the int 30: copied
    r.tx_hardwaregain_chan0 = -10
    assert r.tx_hardwaregain_chan0 == -10.0


@pytest.mark.parametrize("attr, value, ad9364", [
    ("rx_lo", 300_000_000, False), ("tx_lo", 3_900_000_000, False), ("rx_lo", 6_100_000_000, True),
    ("rx_lo", 60_000_000, True), ("rx_rf_bandwidth", 25_000_000, False), ("tx_rf_bandwidth", 60_000_000, True),
    ("rx_rf_bandwidth", 100_000, False), ("sample_rate", 70e6, False), ("rx_hardwaregain_chan0", 72.0, False),
    ("rx_hardwaregain_chan0", -4.0, False), ("tx_hardwaregain_chan0", 0.5, False),
    ("tx_hardwaregain_chan0", -90.0, False), ("gain_control_mode_chan0", "auto", False),
])
def test_out_of_range_writes_are_refused_with_einval(attr, value, ad9364):
    r = VirtualPluto(ad9364=ad9364)
    r.gain_control_mode_chan0 = "manual"
    before = getattr(r, attr)
    with pytest.raises(OSError) as e:
        setattr(r, attr, value)
    assert e.value.errno == errno.EINVAL and str(e.value) == "[Errno 22] Invalid argument"
    assert getattr(r, attr) == before


def test_ad9364_mode_reaches_the_wider_ranges():
    r = VirtualPluto(ad9364=True)
    r.rx_lo, r.tx_lo, r.rx_rf_bandwidth = 70_000_000, 5_800_000_000, 56_000_000
    assert (r.rx_lo, r.tx_lo, r.rx_rf_bandwidth) == (70_000_000, 5_800_000_000, 56_000_000)
    r.sample_rate = 61_440_000


def test_driver_side_type_checks_and_low_sample_rate():
    r = VirtualPluto()
    for attr, value, msg in [("rx_lo", 2.4e9, "Value must be an int"),
                             ("tx_rf_bandwidth", np.int64(1_000_000), "Value must be an int"),
                             ("tx_hardwaregain_chan0", "-10", "Value must be a float")]:
        with pytest.raises(Exception) as e:
            setattr(r, attr, value)
        assert type(e.value) is Exception and str(e.value) == msg
    with pytest.raises(ValueError, match="^Error: Does not currently support sample rates below 521e3$"):
        r.sample_rate = 520e3
    with pytest.raises(Exception, match="RX mapping exceeds available channels"):
        r.rx_enabled_channels = [1]


def test_rx_gain_is_ignored_in_agc_modes_and_kept_when_switching_to_manual():
    air = VirtualAir(seed=1)
    r = _radio(air, size=2048)
    r.gain_control_mode_chan0 = "slow_attack"
    r.rx_hardwaregain_chan0 = 10.0                   # silently ignored, as the driver does
    r.tx_cyclic_buffer = True
    r.tx(_qpsk(1000) * 2 ** 14)
    x = r.rx()
    peak = max(np.abs(x.real).max(), np.abs(x.imag).max())
    assert 900 <= peak <= 1025                       # ~6 dB below full scale, no clipping
    gain = r.rx_hardwaregain_chan0
    assert -3 <= gain <= 71 and gain != 10           # the AGC's choice, read back
    r.gain_control_mode_chan0 = "manual"
    assert r.rx_hardwaregain_chan0 == gain


# ---- converters -------------------------------------------------------------------------------

def test_tx_casts_to_int16_without_scaling_and_wraps_like_numpy():
    # numpy's float->int16 cast wraps modulo 2**16 for values in int32 range (x86-64 and aarch64;
    # NaN or beyond int32 gives an undefined value): the real driver has the same behaviour
    assert np.array([40000.0, -40000.0, 32768.0]).astype(np.int16).tolist() == [-25536, 25536, -32768]
    r = _radio(size=4096)
    means = []
    for level in (40000.0, 16384.0, 0.7):            # 0.7: a user forgetting to scale sends zeros
        r.tx_destroy_buffer()
        r.tx_cyclic_buffer = True
        r.tx(np.full(100, level + 0j))
        r.rx_destroy_buffer()
        means.append(np.mean(r.rx()))
    ratio = means[0] / means[1]                      # the carrier phase cancels
    assert abs(ratio - (-25536 >> 4) / (16384 >> 4)) < 0.02   # wrapped, not saturated (+2.0)
    assert abs(means[1]) == pytest.approx(1024, rel=0.02)
    assert abs(means[2]) < 5                         # nothing but noise


def test_rx_returns_12_bit_codes_and_too_much_manual_gain_saturates():
    r = _radio(rx_gain=60.0, size=3000)
    r.tx_cyclic_buffer = True
    r.tx(_qpsk(1000) * 2 ** 14)
    r.rx_destroy_buffer()
    x = r.rx()
    assert x.dtype == np.complex128 and x.shape == (3000,)
    iq = np.concatenate([x.real, x.imag])
    assert np.all(iq == np.round(iq)) and iq.min() == -2048 and iq.max() == 2047
    assert np.mean((iq == -2048) | (iq == 2047)) > 0.9
    r.rx_hardwaregain_chan0 = 30.0
    r.rx_destroy_buffer()
    y = r.rx()
    assert np.abs(np.concatenate([y.real, y.imag])).max() < 1500


def test_rx_buffer_size_takes_effect_when_the_buffer_is_created():
    r = _radio(size=1000)
    assert r.rx().shape == (1000,)
    r.rx_buffer_size = 2000
    assert r.rx().shape == (1000,)                   # libiio: the buffer keeps its size
    r.rx_destroy_buffer()
    assert r.rx().shape == (2000,)


# ---- buffers and time -------------------------------------------------------------------------

def test_cyclic_rules():
    r = _radio()
    tone = np.full(64, 2 ** 14 + 0j)
    r.tx_cyclic_buffer = True
    r.tx(tone)
    with pytest.raises(Exception) as e:
        r.tx(tone)
    assert type(e.value) is Exception and str(e.value) == (
        "TX buffer has been submitted in cyclic mode. To push more data the tx buffer must be destroyed first.")
    with pytest.raises(Exception) as e:
        r.tx_cyclic_buffer = False
    assert type(e.value) is Exception and str(e.value) == (
        "TX buffer already created, buffer must be destroyed then recreated to modify tx_cyclic_buffer")
    r.tx_destroy_buffer()
    r.tx_cyclic_buffer = False
    assert r.tx_cyclic_buffer is False
    r.tx(tone)
    r.tx(tone)                                       # non-cyclic: more data of the same length
    with pytest.raises(Exception, match="Cannot change buffer length on the fly"):
        r.tx(np.zeros(65, complex))


def test_cable_loopback_of_a_cyclic_burst_holds_a_full_copy_at_the_expected_amplitude():
    r = _radio(size=4096)                            # one radio, its own air: a TX->RX cable
    burst = _qpsk(1000, seed=3) * 2 ** 14
    r.tx_cyclic_buffer = True
    r.tx(burst)
    x = r.rx()
    ref = burst / 16                                 # DAC codes; net gain 0 - 30 + 30 = 0 dB
    c = np.fft.ifft(np.fft.fft(x[:1000]) * np.conj(np.fft.fft(ref)))
    s = int(np.argmax(np.abs(c)))
    seg = x[s:s + 1000]
    h = np.vdot(ref, seg) / np.vdot(ref, ref)
    assert abs(h) == pytest.approx(1.0, abs=0.02)
    snr = 10 * np.log10(_power(h * ref) / _power(seg - h * ref))
    assert 23 < snr < 27                             # noise floor -31 dBFS at 30 dB gain
    np.testing.assert_allclose(x[s + 1000:s + 2000], seg, atol=400)   # it repeats
    r.tx_destroy_buffer()
    r.tx_hardwaregain_chan0 = -10.0
    r.tx_cyclic_buffer = True
    r.tx(burst)
    r.rx_destroy_buffer()
    y = r.rx()[s:s + 1000]
    assert abs(np.vdot(ref, y) / np.vdot(ref, ref)) == pytest.approx(10 ** -0.5, rel=0.03)


def _find(x, frame, threshold=0.5):
    ref = frame / 16
    c = np.abs(np.correlate(x, ref, "valid")) / np.vdot(ref, ref).real
    return np.flatnonzero(c > threshold).tolist()


def test_non_cyclic_buffers_play_once_back_to_back_after_the_stale_buffers():
    r = _radio(size=1000)
    frame = _qpsk(500, seed=4) * 2 ** 14
    r.tx(frame)                                      # before the RX buffer exists: captured at 0
    x = np.concatenate([r.rx() for _ in range(3)])
    assert _find(x, frame) == [0]
    r.tx(frame)
    r.tx(frame)                                      # queued right behind the first
    x = np.concatenate([r.rx() for _ in range(8)])   # 4 buffers were captured before tx()
    assert _find(x, frame) == [4000, 4500]


def test_destroying_the_tx_buffer_cuts_what_has_not_played():
    r = _radio(size=1000)
    r.rx()
    frame = _qpsk(500, seed=5) * 2 ** 14
    r.tx(frame)
    r.tx_destroy_buffer()                            # the kernel aborts the DMA: lost
    x = np.concatenate([r.rx() for _ in range(8)])
    assert _find(x, frame) == []


def test_retune_leaves_four_stale_buffers_unless_flushed():
    r = _radio(size=1000)
    r.tx_cyclic_buffer = True
    r.tx(np.full(100, 2 ** 14 + 0j))
    assert _power(r.rx()) > 0.5 * SIGNAL_POWER
    r.rx_lo = 3_000_000_000                          # away from the transmitter
    powers = [_power(r.rx()) for _ in range(6)]
    assert all(p > 0.5 * SIGNAL_POWER for p in powers[:4])
    assert all(p < 2 * NOISE_POWER for p in powers[4:])
    r.rx_lo = LO
    r.rx_destroy_buffer()                            # flush: the first buffer is fresh
    assert _power(r.rx()) > 0.5 * SIGNAL_POWER
    r.rx_lo = 3_000_000_000
    r.rx_destroy_buffer()
    assert _power(r.rx()) < 2 * NOISE_POWER


def test_sample_rate_change_also_leaves_stale_buffers():
    air = VirtualAir(seed=2)
    a, b = _radio(air, "ip:a"), _radio(air, "ip:b", size=1000)
    a.tx_cyclic_buffer = True
    a.tx(np.full(100, 2 ** 14 + 0j))
    b.rx()
    b.sample_rate = 2_000_000                        # b no longer matches a's clock
    powers = [_power(b.rx()) for _ in range(5)]
    assert all(p > 0.5 * SIGNAL_POWER for p in powers[:4]) and powers[4] < 2 * NOISE_POWER


def test_carrier_offset_between_two_radios_follows_their_oscillators():
    air = VirtualAir(seed=3)
    a = _radio(air, "ip:a", xo_ppm=10.0, seed=1)
    b = _radio(air, "ip:b", xo_ppm=-5.0, seed=2, size=8192)
    expected = (10.0 - -5.0) * 1e-6 * LO             # 36 kHz
    a.tx_cyclic_buffer = True
    a.tx(np.full(1000, 2 ** 14 + 0j))
    y = np.concatenate([b.rx() for _ in range(3)])
    f = np.angle(np.vdot(y[:-1], y[1:])) * FS / (2 * np.pi)
    assert f == pytest.approx(expected, rel=0.01)
    z = y * np.exp(-2j * np.pi * expected / FS * np.arange(y.size))   # phase-continuous across rx()
    h = np.mean(z)
    assert abs(h) == pytest.approx(1024, rel=0.02)
    assert 10 * np.log10(abs(h) ** 2 / _power(z - h)) > 22
    y = a.rx()                                       # every port hears every transmitter:
    assert abs(np.angle(np.vdot(y[:-1], y[1:]))) < 0.01   # a hears itself, at no offset


def test_a_carrier_outside_the_rx_passband_is_not_received():
    air = VirtualAir(seed=4)
    a, b = _radio(air, "ip:a"), _radio(air, "ip:b")
    a.tx_cyclic_buffer = True
    a.tx(np.full(100, 2 ** 14 + 0j))
    b.rx_lo = LO + 2_000_000                         # bandwidth 1 MHz: out of band
    assert _power(b.rx()) < 2 * NOISE_POWER
    b.rx_lo = LO + 100_000                           # in band: a tone at -100 kHz
    b.rx_destroy_buffer()
    y = b.rx()
    assert _power(y) > 0.5 * SIGNAL_POWER
    assert np.angle(np.vdot(y[:-1], y[1:])) * FS / (2 * np.pi) == pytest.approx(-100_000, rel=0.01)


def test_air_delay_and_default_noise_level():
    air = VirtualAir(delay_samples=123, seed=5)
    r = _radio(air, size=1000)
    frame = _qpsk(500, seed=6) * 2 ** 14
    r.tx(frame)
    x = np.concatenate([r.rx() for _ in range(2)])
    assert _find(x, frame) == [123]
    assert _power(x[700:]) == pytest.approx(NOISE_POWER, rel=0.1)


# ---- factory ----------------------------------------------------------------------------------

def test_factory_one_radio_per_uri_on_one_air_and_no_device_found():
    air = VirtualAir()
    make = pluto_factory(air, xo_ppm=2.0)
    a, a2, b = make("ip:192.168.2.1"), make(uri="ip:192.168.2.1"), make("usb:1.5.5")
    assert a is a2 and a is not b and a.air is b.air is air and b.xo_ppm == 2.0
    assert a.uri == "ip:192.168.2.1"
    for uri in ("ip:nothing", "usb:nothing.1.2", "ip:nothing-here"):
        with pytest.raises(Exception) as e:
            make(uri)
        assert type(e.value) is Exception and str(e.value) == "No device found"
