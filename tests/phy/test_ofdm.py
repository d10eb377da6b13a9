"""OFDM grid, modulation and preamble properties (Sionna-style)."""

from pathlib import Path

import numpy as np
import pytest

from semcom_phy.config import OfdmConfig
from semcom_phy.phy import frame as fr
from semcom_phy.phy.ofdm import map_resource_grid, ofdm_demodulate, ofdm_modulate, pilot_values, split_symbols
from semcom_phy.phy.preamble import ltf_offset, preamble, preamble_length, sync_values

GOLDEN = Path(__file__).parent.parent / "golden"


def _qpsk(rng, shape):
    return ((rng.choice([-1, 1], shape) + 1j * rng.choice([-1, 1], shape)) / np.sqrt(2)).astype(np.complex64)


@pytest.mark.parametrize("cfg", [OfdmConfig(), OfdmConfig(fft_size=128, cp_length_samples=32,
                                                           num_guard_carriers=(12, 11), pilot_carriers=(-40, -13, 13, 40))])
def test_cyclic_prefix_equals_symbol_tail(cfg):
    rng = np.random.default_rng(0)
    data = _qpsk(rng, (5, cfg.num_data_carriers))
    x = ofdm_modulate(map_resource_grid(data, cfg, pilot_values(cfg, 5)), cfg)
    sym = x.reshape(5, cfg.symbol_length_samples)
    np.testing.assert_array_equal(sym[:, :cfg.cp_length_samples], sym[:, -cfg.cp_length_samples:])


def test_modulate_demodulate_round_trip_and_unit_power(ofdm):
    rng = np.random.default_rng(1)
    data = _qpsk(rng, (3, 20, ofdm.num_data_carriers))
    pilots = pilot_values(ofdm, 20)
    grid = map_resource_grid(data, ofdm, pilots)
    x = ofdm_modulate(grid, ofdm)
    assert x.dtype == np.complex64 and x.shape == (3, 20 * ofdm.symbol_length_samples)
    bodies = split_symbols(x, ofdm, 20)
    assert np.mean(np.abs(bodies) ** 2) == pytest.approx(1.0, rel=1e-5)  # Parseval: unit-power REs
    assert np.mean(np.abs(x) ** 2) == pytest.approx(1.0, rel=0.02)       # CP samples are copies
    y = ofdm_demodulate(bodies, ofdm)
    np.testing.assert_allclose(y, grid, atol=1e-5)
    np.testing.assert_allclose(y[..., ofdm.fft_bins(ofdm.data_carriers)], data, atol=1e-5)
    # nothing outside the used band
    unused = np.setdiff1d(np.arange(ofdm.fft_size), ofdm.fft_bins(ofdm.used_carriers))
    assert np.max(np.abs(y[..., unused])) < 1e-5


def test_preamble_matches_golden_and_has_its_structure(ofdm):
    p = preamble(ofdm)
    np.testing.assert_allclose(p, np.load(GOLDEN / "preamble_fft64_cp16.npy"), atol=1e-6)
    assert p.size == preamble_length(ofdm) == 240
    assert np.mean(np.abs(p) ** 2) == pytest.approx(1.0, rel=0.02)
    n, cp = ofdm.fft_size, ofdm.cp_length_samples
    a = p[cp:cp + n]
    np.testing.assert_allclose(a[:n // 2], a[n // 2:], atol=1e-6)         # S&C halves
    t = ltf_offset(ofdm)
    np.testing.assert_allclose(p[t:t + n], p[t + n:t + 2 * n], atol=1e-6)   # repeated LTF
    np.testing.assert_allclose(p[t - 2 * cp:t], p[t + n - 2 * cp:t + n], atol=1e-6)  # GI = tail
    assert np.all(sync_values(ofdm)[1::2] == 0)                             # odd bins empty


def test_pilot_polarity_is_the_127_periodic_sequence(ofdm):
    p = pilot_values(ofdm, 254)
    np.testing.assert_array_equal(p[:127], p[127:])
    assert set(np.unique(p.real)) == {-1.0, 1.0}


def test_header_encode_decode_round_trip_and_crc(ofdm):
    seqs = np.array([0, 1, 4097, 65535])
    bits = fr.encode_headers(seqs, 3, 1234, ofdm)
    llr = (1.0 - 2.0 * bits.astype(np.float32)).reshape(4, fr.num_header_symbols(ofdm), -1) * 4
    seq, kind, length, ok = fr.decode_headers(llr, ofdm)
    assert ok.all() and list(seq) == list(seqs) and set(kind) == {3} and set(length) == {1234}
    # heavy corruption: CRC must reject, never report a wrong header as valid
    rng = np.random.default_rng(2)
    noisy = llr + rng.normal(0, 12, llr.shape)
    _, _, _, ok = fr.decode_headers(noisy, ofdm)
    assert not ok.any()


def test_header_rejects_too_long_payload(ofdm):
    with pytest.raises(ValueError, match="out of range"):
        fr.encode_headers(np.array([0]), 0, fr.MAX_LENGTH + 1, ofdm)
