"""Tests for semcom_phy.phy.qam: constellations, mapping, hard and max-log soft demapping."""

import numpy as np
import pytest
from scipy.special import erfc

from semcom_phy.phy import qam

MODS = ["bpsk", "qpsk", "16qam", "64qam"]
K = {"bpsk": 1, "qpsk": 2, "16qam": 4, "64qam": 6}


def _bit_table(k):
    """uint8 [2**k, k]: bits of every integer, MSB first."""
    i = np.arange(1 << k)
    return ((i[:, None] >> np.arange(k - 1, -1, -1)) & 1).astype(np.uint8)


def _awgn(shape, noise_var, rng):
    return (np.sqrt(noise_var / 2) * (rng.standard_normal(shape)
                                      + 1j * rng.standard_normal(shape))).astype(np.complex64)


# ----------------------------------------------------------------------------- constellation

@pytest.mark.parametrize("mod", MODS)
def test_bits_per_symbol_and_unit_power(mod):
    k = qam.bits_per_symbol(mod)
    assert k == K[mod]
    points = qam.constellation(mod)
    assert points.dtype == np.complex64
    assert points.shape == (1 << k,)
    assert np.mean(np.abs(points) ** 2) == pytest.approx(1.0, abs=1e-6)
    assert len(np.unique(np.round(points, 5))) == 1 << k


def test_constellation_golden_80211():
    # IEEE 802.11 Tables 17-9 .. 17-12 (BPSK: 0 -> -1; 16-QAM I: 00 -3, 01 -1, 11 +1, 10 +3)
    np.testing.assert_allclose(qam.constellation("bpsk"), [-1, 1])
    s2 = np.sqrt(2)
    np.testing.assert_allclose(qam.constellation("qpsk"),
                               np.array([-1 - 1j, -1 + 1j, 1 - 1j, 1 + 1j]) / s2, atol=1e-7)
    c16 = qam.constellation("16qam") * np.sqrt(10)
    level16 = {0b00: -3, 0b01: -1, 0b11: 1, 0b10: 3}
    for i in range(16):
        assert c16[i] == pytest.approx(level16[i >> 2] + 1j * level16[i & 3], abs=1e-5)
    c64 = qam.constellation("64qam") * np.sqrt(42)
    level64 = {0b000: -7, 0b001: -5, 0b011: -3, 0b010: -1,
               0b110: 1, 0b111: 3, 0b101: 5, 0b100: 7}
    for i in range(64):
        assert c64[i] == pytest.approx(level64[i >> 3] + 1j * level64[i & 7], abs=1e-5)


@pytest.mark.parametrize("mod", MODS)
def test_gray_property(mod):
    points = qam.constellation(mod).astype(np.complex128)
    dist = np.abs(points[:, None] - points[None, :])
    np.fill_diagonal(dist, np.inf)
    dmin = dist.min()
    i, j = np.nonzero(np.isclose(dist, dmin, rtol=1e-4))
    assert len(i) > 0
    hamming = np.array([bin(a ^ b).count("1") for a, b in zip(i, j)])
    assert np.all(hamming == 1)
    # every point has at least one nearest neighbour (no isolated pair structure)
    assert set(i.tolist()) == set(range(len(points)))


def test_constellation_returns_copy():
    c = qam.constellation("qpsk")
    c[:] = 0
    assert np.all(np.abs(qam.constellation("qpsk")) > 0.5)


# ----------------------------------------------------------------------------- mapping

@pytest.mark.parametrize("mod", MODS)
def test_map_matches_constellation_table(mod):
    k = K[mod]
    bits = _bit_table(k).reshape(-1)  # every pattern in order
    np.testing.assert_array_equal(qam.map_bits(bits, mod), qam.constellation(mod))


@pytest.mark.parametrize("mod", MODS)
def test_map_demap_hard_round_trip_batched(mod):
    rng = np.random.default_rng(1)
    k = K[mod]
    bits = rng.integers(0, 2, size=(3, 4, 50 * k), dtype=np.uint8)
    symbols = qam.map_bits(bits, mod)
    assert symbols.shape == (3, 4, 50) and symbols.dtype == np.complex64
    decided = qam.demap_hard(symbols, mod)
    assert decided.shape == bits.shape and decided.dtype == np.uint8
    np.testing.assert_array_equal(decided, bits)
    # bool input and a plain 1-D row give the same symbols
    np.testing.assert_array_equal(qam.map_bits(bits.astype(bool), mod), symbols)
    np.testing.assert_array_equal(qam.map_bits(bits[1, 2], mod), symbols[1, 2])


@pytest.mark.parametrize("mod", MODS)
def test_demap_hard_is_nearest_point(mod):
    rng = np.random.default_rng(2)
    points = qam.constellation(mod)
    y = _awgn(4000, 0.5, rng) + points[rng.integers(0, len(points), 4000)]
    nearest = np.argmin(np.abs(y[:, None] - points[None, :]), axis=1)
    expected = _bit_table(K[mod])[nearest].reshape(-1)
    np.testing.assert_array_equal(qam.demap_hard(y, mod), expected)


# ----------------------------------------------------------------------------- soft demapping

def _maxlog_bruteforce(y, noise_var, mod):
    points = qam.constellation(mod).astype(np.complex128)
    table = _bit_table(K[mod])
    d2 = np.abs(y.astype(np.complex128)[..., None] - points) ** 2  # [..., n, M]
    llr = np.empty(y.shape + (K[mod],))
    for j in range(K[mod]):
        d1 = np.where(table[:, j] == 1, d2, np.inf).min(-1)
        d0 = np.where(table[:, j] == 0, d2, np.inf).min(-1)
        llr[..., j] = (d1 - d0) / noise_var
    return llr.reshape(y.shape[:-1] + (-1,))


@pytest.mark.parametrize("mod", MODS)
def test_demap_soft_equals_bruteforce_maxlog(mod):
    rng = np.random.default_rng(3)
    points = qam.constellation(mod)
    shape = (5, 400)
    noise_var = rng.uniform(0.01, 1.0, size=shape)  # per-symbol
    # includes points far outside the constellation
    y = points[rng.integers(0, len(points), shape)] + _awgn(shape, 1.0, rng)
    llr = qam.demap_soft(y, noise_var, mod)
    assert llr.shape == (5, 400 * K[mod]) and llr.dtype == np.float32
    ref = _maxlog_bruteforce(y, noise_var, mod)
    np.testing.assert_allclose(llr, ref, rtol=1e-4, atol=1e-3 * np.abs(ref).max())


@pytest.mark.parametrize("mod", MODS)
def test_llr_sign_agrees_with_hard_decisions(mod):
    rng = np.random.default_rng(4)
    k = K[mod]
    bits = rng.integers(0, 2, size=(2, 3000 * k), dtype=np.uint8)
    y = qam.map_bits(bits, mod) + _awgn((2, 3000), 0.3, rng)
    llr = qam.demap_soft(y, 0.3, mod)
    np.testing.assert_array_equal((llr < 0).astype(np.uint8), qam.demap_hard(y, mod))
    # exactly on the constellation: confident, correct, and consistent
    llr0 = qam.demap_soft(qam.map_bits(bits, mod), 0.1, mod)
    np.testing.assert_array_equal((llr0 < 0).astype(np.uint8), bits)
    assert np.all(np.abs(llr0) > 0)


def test_bpsk_qpsk_llr_closed_form():
    rng = np.random.default_rng(5)
    y = (rng.standard_normal(1000) + 1j * rng.standard_normal(1000)).astype(np.complex64)
    n0 = rng.uniform(0.05, 2.0, 1000)
    # BPSK (0 -> -1): LLR = log p(y|-1)/p(y|+1) = -4 Re(y) / N0, exact
    np.testing.assert_allclose(qam.demap_soft(y, n0, "bpsk"), -4 * y.real / n0,
                               rtol=1e-5, atol=1e-5)
    # QPSK (0 -> -1/sqrt2 per axis): LLR = -4 Re(y) / (sqrt2 N0) = -2 sqrt2 Re(y) / N0, exact
    llr = qam.demap_soft(y, n0, "qpsk").reshape(1000, 2)
    np.testing.assert_allclose(llr[:, 0], -4 * y.real / np.sqrt(2) / n0, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(llr[:, 1], -4 * y.imag / np.sqrt(2) / n0, rtol=1e-5, atol=1e-5)
    # ... and equal to the exact log-sum-exp LLR over all four points
    points = qam.constellation("qpsk").astype(np.complex128)
    loglik = -np.abs(y[:, None] - points) ** 2 / n0[:, None]
    table = _bit_table(2)
    for j in range(2):
        exact = (np.logaddexp.reduce(np.where(table[:, j] == 0, loglik, -np.inf), axis=1)
                 - np.logaddexp.reduce(np.where(table[:, j] == 1, loglik, -np.inf), axis=1))
        np.testing.assert_allclose(llr[:, j], exact, rtol=1e-4, atol=1e-4)


def test_noise_var_broadcasting():
    rng = np.random.default_rng(6)
    y = _awgn((4, 10), 1.0, rng)
    nv = rng.uniform(0.1, 1.0, size=(4, 10))
    full = qam.demap_soft(y, nv, "16qam")
    for r in range(4):
        for c in range(10):
            np.testing.assert_allclose(full[r, 4 * c:4 * c + 4],
                                       qam.demap_soft(y[r, c:c + 1], nv[r, c], "16qam"),
                                       rtol=1e-6)
    # per-row noise variance broadcasts along symbols
    np.testing.assert_allclose(qam.demap_soft(y, nv[:, :1], "16qam"),
                               qam.demap_soft(y, np.repeat(nv[:, :1], 10, axis=1), "16qam"))


# ----------------------------------------------------------------------------- BER vs theory

def _pam_ber_theory(k_axis, sigma):
    """Exact bit error rate of Gray PAM with nearest-level decisions (levels +-1, +-3, ...,
    spacing 2, per-axis noise std sigma), from Gaussian interval probabilities via erfc."""
    num = 1 << k_axis
    levels = 2 * np.arange(num) - (num - 1)
    gray = np.arange(num) ^ (np.arange(num) >> 1)
    edges = np.concatenate([[-np.inf], levels[:-1] + 1.0, [np.inf]])

    def upper_tail(x):  # P(N(0, sigma^2) > x)
        return 0.5 * erfc(x / (np.sqrt(2) * sigma))

    errors = 0.0
    for p in range(num):
        for q in range(num):
            prob = upper_tail(edges[q] - levels[p]) - upper_tail(edges[q + 1] - levels[p])
            errors += prob * bin(gray[p] ^ gray[q]).count("1")
    return errors / (num * k_axis)


@pytest.mark.parametrize("mod, esn0_db", [("bpsk", 4.0), ("qpsk", 7.0),
                                          ("16qam", 13.0), ("64qam", 19.0)])
def test_hard_ber_matches_theory(mod, esn0_db):
    rng = np.random.default_rng(7)
    k = K[mod]
    num_symbols = 200_000 // k
    n0 = 10 ** (-esn0_db / 10)  # Es = 1
    bits = rng.integers(0, 2, size=num_symbols * k, dtype=np.uint8)
    y = qam.map_bits(bits, mod) + _awgn(num_symbols, n0, rng)
    ber = np.mean(qam.demap_hard(y, mod) != bits)
    if mod in ("bpsk", "qpsk"):
        ebn0 = 10 ** (esn0_db / 10) / k
        theory = 0.5 * erfc(np.sqrt(ebn0))  # Q(sqrt(2 Eb/N0))
    else:
        energy = {"16qam": 10.0, "64qam": 42.0}[mod]
        # grid units: levels spaced by 2, per-axis noise variance N0/2 scaled by E
        theory = _pam_ber_theory(k // 2, np.sqrt(n0 / 2 * energy))
    assert 3e-3 < theory < 5e-2  # the operating points are meaningful
    sd = np.sqrt(theory * (1 - theory) / bits.size)
    # Gray-symbol errors make bit errors mildly correlated: allow 6 binomial sigmas
    assert abs(ber - theory) < 6 * sd, (ber, theory)


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("bad", ["8psk", "QPSK", "", None, 4])
def test_bad_modulation_raises(bad):
    with pytest.raises(ValueError, match="modulation"):
        qam.bits_per_symbol(bad)
    with pytest.raises(ValueError, match="modulation"):
        qam.constellation(bad)
    with pytest.raises(ValueError, match="modulation"):
        qam.map_bits(np.zeros(12, np.uint8), bad)
    with pytest.raises(ValueError, match="modulation"):
        qam.demap_hard(np.zeros(3, np.complex64), bad)
    with pytest.raises(ValueError, match="modulation"):
        qam.demap_soft(np.zeros(3, np.complex64), 1.0, bad)


@pytest.mark.parametrize("mod", ["qpsk", "16qam", "64qam"])
def test_wrong_bit_length_raises(mod):
    with pytest.raises(ValueError, match="multiple of bits_per_symbol"):
        qam.map_bits(np.zeros((2, K[mod] * 5 + 1), np.uint8), mod)


def test_bad_bits_and_noise_var_raise():
    with pytest.raises(ValueError, match="bits"):
        qam.map_bits(np.array([0, 2]), "qpsk")
    with pytest.raises(ValueError, match="bits"):
        qam.map_bits(np.array([0.0, 1.0]), "qpsk")
    y = np.zeros(4, np.complex64)
    for bad in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="noise_var"):
            qam.demap_soft(y, bad, "qpsk")
    with pytest.raises(ValueError, match="noise_var"):
        qam.demap_soft(y, np.ones(3), "qpsk")
