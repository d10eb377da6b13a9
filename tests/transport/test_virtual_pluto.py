"""The virtual PlutoSDR behaves like pyadi-iio's adi.Pluto on a real radio: the driver's checks and
error types, the kernel's refusals (OSError EINVAL), int16 casting without scaling, 12-bit
converters, cyclic-buffer rules, stale kernel buffers after a retune, carrier and sample-clock
offset between radios (one crystal each), the receiver's DC offset and the TX LO leakage, lost
kernel blocks (overflows), and the gain chain of a cable with an attenuator."""

import errno

import numpy as np
import pytest

from semcom_phy.transport.pluto import VIRTUAL_RX_DC_DBFS, VIRTUAL_TX_LO_LEAKAGE_DBFS, PlutoConfig, virtual_radios
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


def test_factory_passes_the_impairments_and_virtual_radios_sets_real_boards_defaults():
    make = pluto_factory(VirtualAir(), rx_dc_dbfs=-40.0, overflow_probability=0.01)
    a, b = make("ip:a"), make("ip:b")
    assert abs(a.rx_dc) == abs(b.rx_dc) == pytest.approx(2048 * 10 ** (-40 / 20))
    assert a.rx_dc != b.rx_dc and a.overflow_probability == 0.01       # the n-th radio's seed: seed + n
    cfg = PlutoConfig(tx_uri="virtual:a", rx_uri="virtual:b")
    make = virtual_radios(cfg, ppm=5.0, overflow_probability=0.1)
    tx, rx = make("virtual:a"), make("virtual:b")
    assert (tx.xo_ppm, rx.xo_ppm, rx.overflow_probability) == (5.0, -5.0, 0.1)
    assert abs(rx.rx_dc) == pytest.approx(2048 * 10 ** (VIRTUAL_RX_DC_DBFS / 20))
    assert abs(tx.tx_lo_leakage) == pytest.approx(10 ** (VIRTUAL_TX_LO_LEAKAGE_DBFS / 20))
    assert tx.air is rx.air and tx.air.sample_clock_offset


# ---- sample clock: one crystal drives the LO and the converters --------------------------------

def _tone_frequency(y, f0, lag=1 << 17):
    """The frequency (cycles/sample) of a tone near f0, from the phase advance over ``lag`` samples."""
    d = (np.angle(np.vdot(y[:-lag], y[lag:])) / (2 * np.pi) - f0 * lag) % 1.0
    return f0 + (d - 1 if d > 0.5 else d) / lag


@pytest.mark.parametrize("cyclic", [True, False])
@pytest.mark.parametrize("sample_clock_offset, ratio", [(True, 1 + 20e-6), (False, 1.0)])
def test_a_board_20_ppm_fast_samples_a_tone_20_ppm_faster_continuously(cyclic, sample_clock_offset, ratio):
    # b's crystal is 20 ppm fast: its LO is 48 kHz high at 2.4 GHz, which a's LO matches (no CFO
    # left, so the tone shows the sample clock alone), and it takes 1 + 20e-6 samples per TX sample
    air = VirtualAir(noise_floor_dbfs=-120.0, sample_clock_offset=sample_clock_offset, seed=7)
    a = _radio(air, "ip:a", seed=1)
    b = _radio(air, "ip:b", xo_ppm=20.0, seed=2, size=4096)
    a.tx_lo = LO + 48_000
    f0 = 0.1
    tone = 2 ** 14 * np.exp(2j * np.pi * f0 * np.arange(1000))     # 100 cycles: seamless repeats
    a.tx_cyclic_buffer = cyclic
    for _ in range(1 if cyclic else 270):                          # or back-to-back buffers
        a.tx(tone)
    y = np.concatenate([b.rx() for _ in range(64)])               # 64 rx() buffers, 262 TX buffers
    f = _tone_frequency(y, f0)
    assert f0 / f == pytest.approx(ratio, abs=1e-9)
    ref = np.exp(2j * np.pi * f * np.arange(y.size))
    h = np.mean(y * np.conj(ref))
    assert abs(h) == pytest.approx(1024, rel=0.01)
    # no jump at rx() buffers or TX repeats: within the converters' rounding everywhere (a slip of
    # a tenth of a sample would be 64 codes)
    assert np.abs(y - h * ref).max() < 3


@pytest.mark.parametrize("ppm", [20.0, -20.0])
def test_a_known_waveform_drifts_by_the_ppm_over_a_long_capture(ppm):
    air = VirtualAir(seed=8)
    a = _radio(air, "ip:a", seed=1)
    b = _radio(air, "ip:b", xo_ppm=ppm, seed=2, size=8192)
    a.tx_lo = LO + round(LO * ppm * 1e-6)                        # no CFO
    pn = _qpsk(2000, seed=9) * 2 ** 14
    a.tx_cyclic_buffer = True
    a.tx(pn)
    y = np.concatenate([b.rx() for _ in range(40)])
    c = np.abs(np.fft.ifft(np.fft.fft(y) * np.conj(np.fft.fft(pn / 16, y.size))))
    repeats = np.arange(1, y.size // 2000 - 1)                     # each repeat's correlation peak:
    peaks = [r * 2000 - 20 + int(np.argmax(c[r * 2000 - 20:r * 2000 + 20])) for r in repeats]   # up to 6.4 off
    drift_ppm = (np.polyfit(repeats, peaks, 1)[0] / 2000 - 1) * 1e6
    assert drift_ppm == pytest.approx(ppm, abs=0.2)               # a fast RX takes more samples


def test_one_board_has_no_sample_clock_offset_whatever_its_ppm():
    r = _radio(xo_ppm=20.0, size=4096)
    r.rx()
    frame = _qpsk(500, seed=4) * 2 ** 14
    r.tx(frame)                                      # starts between two of the RX's samples' air times
    x = np.concatenate([r.rx() for _ in range(8)])   # after the 4 buffers captured before tx()
    ref = frame / 16
    (s,) = _find(x, frame)
    seg = x[s:s + 500]
    h = np.vdot(ref, seg) / np.vdot(ref, ref)
    assert abs(h) == pytest.approx(1.0, abs=0.02)
    assert 10 * np.log10(_power(h * ref) / _power(seg - h * ref)) > 23   # sample-exact, as at 0 ppm


# ---- DC offset and LO leakage ------------------------------------------------------------------

def test_rx_dc_offset_level_and_phase_read_back_at_any_gain():
    air = VirtualAir(noise_floor_dbfs=-90.0, seed=9)
    r = _radio(air, rx_dc_dbfs=-40.0, size=16384, seed=3)
    assert abs(r.rx_dc) == pytest.approx(20.48, rel=1e-9)        # -40 dBFS of 2048 codes
    for gain in (0.0, 40.0):                                      # referred to the ADC
        r.rx_hardwaregain_chan0 = gain
        r.rx_destroy_buffer()
        m = np.mean(r.rx())                                       # nothing transmitted
        assert 20 * np.log10(abs(m) / 2048) == pytest.approx(-40.0, abs=0.3)
        assert abs(np.angle(m / r.rx_dc, deg=True)) < 3
    other = VirtualPluto(rx_dc_dbfs=-40.0, seed=4)
    assert abs(np.angle(other.rx_dc / r.rx_dc)) > 0.01           # a phase of its own per radio
    plain, leaky = VirtualPluto(seed=3), VirtualPluto(rx_dc_dbfs=-40.0, tx_lo_leakage_dbfs=-50.0, seed=3)
    assert (plain.rx_dc, plain.tx_lo_leakage) == (0j, 0j)       # off by default
    assert (plain._rx_phase, plain._tx_phase) == (leaky._rx_phase, leaky._tx_phase)   # carrier phases kept
    r = _radio(air, seed=3, size=16384)
    assert abs(np.mean(r.rx())) < 0.5


def test_tx_lo_leakage_is_a_carrier_at_the_tx_lo_scaled_by_the_tx_attenuation():
    air = VirtualAir(noise_floor_dbfs=-90.0, seed=10)
    r = _radio(air, tx_lo_leakage_dbfs=-30.0, size=8192)
    r.tx_cyclic_buffer = True
    r.tx(np.zeros(1000, complex))                                 # a buffer of zeros plays the LO alone
    r.rx_destroy_buffer()
    assert abs(np.mean(r.rx())) == pytest.approx(2048 * 10 ** (-30 / 20), rel=0.02)   # net 0 dB
    r.tx_destroy_buffer()
    r.tx_hardwaregain_chan0 = -10.0
    r.tx_cyclic_buffer = True
    r.tx(np.zeros(1000, complex))
    r.rx_destroy_buffer()
    assert abs(np.mean(r.rx())) == pytest.approx(2048 * 10 ** (-40 / 20), rel=0.02)
    r.tx_destroy_buffer()
    r.rx_destroy_buffer()
    assert abs(np.mean(r.rx())) < 0.5                             # no buffer, no leakage
    b = _radio(air, "ip:b", xo_ppm=-10.0, size=8192)              # another board: at the CFO
    r.tx_hardwaregain_chan0 = 0.0
    r.tx_cyclic_buffer = True
    r.tx(np.zeros(1000, complex))
    y = b.rx()
    assert np.angle(np.vdot(y[:-1], y[1:])) * FS / (2 * np.pi) == pytest.approx(10e-6 * LO, rel=0.01)


# ---- overflows ---------------------------------------------------------------------------------

def _stream_positions(r, pn, buffers):
    """Where each rx() buffer starts in the cyclic ``pn`` the radio hears (samples, mod its length)."""
    p = np.fft.fft(pn)
    return [int(np.argmax(np.abs(np.fft.ifft(p * np.conj(np.fft.fft(r.rx(), pn.size))))))
            for _ in range(buffers)]


@pytest.mark.parametrize("probability", [0.0, 0.2])
def test_lost_kernel_blocks_skip_whole_buffers_of_the_stream_silently(probability):
    n, length = 1000, 7919                                        # a prime: positions are unambiguous
    r = _radio(size=n, overflow_probability=probability, seed=11)
    pn = _qpsk(length, seed=12)
    r.tx_cyclic_buffer = True
    r.tx(pn * 2 ** 14)                                            # from air time 0, as the RX buffer
    pos = _stream_positions(r, pn, 100)
    gaps = [pos[0]] + [(b - a - n) % length for a, b in zip(pos, pos[1:])]
    assert all(g % n == 0 for g in gaps)                          # whole kernel blocks
    assert sum(gaps) == r.dropped_samples                         # exactly what went missing
    if probability == 0:
        assert r.dropped_samples == 0                             # the default: a continuous stream
    else:
        assert 10 <= r.dropped_samples // n <= 45                 # 25 blocks expected (p / (1 - p) each)
        again = _radio(size=n, overflow_probability=probability, seed=11)
        again.tx_cyclic_buffer = True
        again.tx(pn * 2 ** 14)
        assert _stream_positions(again, pn, 100) == pos           # seeded: the same losses


# ---- validation --------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, kw, message", [
    (VirtualPluto, {"xo_ppm": 2000.0}, "VirtualPluto.xo_ppm = 2000.0 is out of range: allowed [-1000, 1000]"),
    (VirtualPluto, {"rx_dc_dbfs": 3.0}, "VirtualPluto.rx_dc_dbfs = 3.0 is out of range: allowed [-120, 0]"),
    (VirtualPluto, {"tx_lo_leakage_dbfs": float("nan")}, "VirtualPluto.tx_lo_leakage_dbfs = nan: must be a finite"),
    (VirtualPluto, {"overflow_probability": 1.0}, "VirtualPluto.overflow_probability = 1.0 is out of range: "
                                                  "allowed [0, 0.9]"),
    (VirtualPluto, {"overflow_probability": -0.1}, "VirtualPluto.overflow_probability = -0.1 is out of range"),
    (VirtualAir, {"path_loss_db": -1.0}, "VirtualAir.path_loss_db = -1.0 is out of range: allowed [0, 200]"),
    (VirtualAir, {"noise_floor_dbfs": 10.0}, "VirtualAir.noise_floor_dbfs = 10.0 is out of range: allowed [-200, 0]"),
    (VirtualAir, {"delay_samples": 1.5}, "VirtualAir.delay_samples = 1.5: allowed a whole number of samples >= 0"),
    (VirtualAir, {"delay_samples": -2}, "VirtualAir.delay_samples = -2: allowed a whole number"),
    (VirtualAir, {"sample_clock_offset": "yes"}, "VirtualAir.sample_clock_offset = 'yes': allowed True or False"),
])
def test_parameters_out_of_range_name_the_field_the_value_and_the_range(cls, kw, message):
    with pytest.raises(ValueError) as e:
        cls(**kw)
    assert str(e.value).startswith(message)
