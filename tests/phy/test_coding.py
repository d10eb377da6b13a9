"""Tests for semcom_phy.phy.coding: bits/bytes, CRCs, K=7 convolutional code, Viterbi,
scrambler."""

import numpy as np
import pytest
from scipy.special import erfc

from semcom_phy.phy import coding, qam


def _bits(string):
    return np.array([int(c) for c in string.replace(" ", "")], dtype=np.uint8)


# ----------------------------------------------------------------------------- bits / bytes

def test_bytes_bits_round_trip_msb_first():
    bits = coding.bytes_to_bits(b"\x80\x01\xa5")
    assert bits.dtype == np.uint8
    np.testing.assert_array_equal(bits, _bits("10000000 00000001 10100101"))
    assert coding.bits_to_bytes(bits) == b"\x80\x01\xa5"
    data = np.random.default_rng(0).integers(0, 256, size=(3, 7), dtype=np.uint8)
    batched = coding.bytes_to_bits(data)
    assert batched.shape == (3, 56)
    for r in range(3):
        assert coding.bits_to_bytes(batched[r]) == data[r].tobytes()
    assert coding.bits_to_bytes(np.zeros(0, np.uint8)) == b""


def test_bytes_bits_errors():
    with pytest.raises(ValueError, match="multiple of 8"):
        coding.bits_to_bytes(np.zeros(9, np.uint8))
    with pytest.raises(ValueError, match="0 and 1"):
        coding.bits_to_bytes(np.full(8, 2, np.uint8))
    with pytest.raises(ValueError, match="one-dimensional"):
        coding.bits_to_bytes(np.zeros((2, 8), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        coding.bytes_to_bits(np.zeros(3, np.int32))


# ----------------------------------------------------------------------------- CRCs

def test_crc_check_values():
    assert coding.crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value
    assert coding.crc32(b"123456789") == 0xCBF43926  # CRC-32 check value
    arr = np.frombuffer(b"123456789", dtype=np.uint8)
    assert coding.crc16(arr) == 0x29B1
    assert coding.crc32(arr) == 0xCBF43926
    assert coding.crc16(b"") == 0xFFFF
    assert coding.crc32(b"") == 0


# ----------------------------------------------------------------------------- encoder

def test_conv_encode_80211_annex_signal_field():
    # IEEE 802.11a-1999 Annex G (802.11-2016 Annex I.1.4): SIGNAL field of the example
    # packet (36 Mbit/s, LENGTH 100). Table G.7 lists 24 bits whose last 6 are the tail;
    # our encoder appends the tail itself. Table G.8: the bits after encoding.
    signal = _bits("101100010011000000")  # RATE, reserved, LENGTH, parity
    encoded = _bits("11010001 10100001 00000010 00111110 01110000 00000000")
    np.testing.assert_array_equal(coding.conv_encode(signal), encoded)


def _reference_encoder(bits):
    """Direct shift-register encoder, bit by bit (IEEE 802.11 Figure 17-8)."""
    reg = [0] * 6  # reg[0] = previous input (delay 1) ... reg[5] = delay 6
    out = []
    for b in list(bits) + [0] * 6:
        b = int(b)
        a_out = b ^ reg[1] ^ reg[2] ^ reg[4] ^ reg[5]  # 133: delays 0, 2, 3, 5, 6
        b_out = b ^ reg[0] ^ reg[1] ^ reg[2] ^ reg[5]  # 171: delays 0, 1, 2, 3, 6
        out += [a_out, b_out]
        reg = [b] + reg[:5]
    return np.array(out, dtype=np.uint8)


def test_conv_encode_matches_shift_register_batched():
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2, size=(2, 3, 40), dtype=np.uint8)
    coded = coding.conv_encode(bits)
    assert coded.shape == (2, 3, 2 * (40 + 6)) and coded.dtype == np.uint8
    for idx in np.ndindex(2, 3):
        np.testing.assert_array_equal(coded[idx], _reference_encoder(bits[idx]))
    np.testing.assert_array_equal(coding.conv_encode(np.zeros(0, np.uint8)), np.zeros(12))


# ----------------------------------------------------------------------------- decoder

def _hard_llr(coded):
    return np.where(coded == 0, 1.0, -1.0).astype(np.float32)


def test_viterbi_round_trip_noiseless():
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 2, size=(17, 48), dtype=np.uint8)
    decoded = coding.viterbi_decode(_hard_llr(coding.conv_encode(bits)), 48)
    assert decoded.shape == (17, 48) and decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, bits)
    # 1-D and higher-rank inputs keep their leading axes
    np.testing.assert_array_equal(
        coding.viterbi_decode(_hard_llr(coding.conv_encode(bits[0])), 48), bits[0])
    b3 = bits[:16].reshape(4, 4, 48)
    np.testing.assert_array_equal(coding.viterbi_decode(_hard_llr(coding.conv_encode(b3)), 48), b3)


def test_viterbi_corrects_flipped_bits():
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, size=(8, 100), dtype=np.uint8)
    llr = _hard_llr(coding.conv_encode(bits))
    llr[:, [5, 60, 61, 130, 190]] *= -1  # 5 hard errors per frame, two of them adjacent
    np.testing.assert_array_equal(coding.viterbi_decode(llr, 100), bits)
    # soft information: a strongly wrong bit is outvoted by confident neighbours
    soft = 4.0 * _hard_llr(coding.conv_encode(bits))
    soft[:, 20] = -soft[:, 20] / 4
    np.testing.assert_array_equal(coding.viterbi_decode(soft, 100), bits)


def test_viterbi_batch_equals_per_row():
    rng = np.random.default_rng(4)
    bits = rng.integers(0, 2, size=(12, 30), dtype=np.uint8)
    coded = coding.conv_encode(bits)
    llr = (1.0 * (1 - 2.0 * coded) + 1.5 * rng.standard_normal(coded.shape)).astype(np.float32)
    batch = coding.viterbi_decode(llr, 30)
    rows = np.stack([coding.viterbi_decode(llr[r:r + 1], 30)[0] for r in range(12)])
    np.testing.assert_array_equal(batch, rows)
    assert np.any(batch != bits)  # the noise is strong enough to matter somewhere


def test_coded_bpsk_awgn_beats_uncoded():
    rng = np.random.default_rng(5)
    ebn0_db = 4.0
    num_frames, num_bits = 100, 1000
    n0_uncoded = 10 ** (-ebn0_db / 10)      # Es = Eb
    n0_coded = n0_uncoded * 2.0             # rate 1/2: Es = Eb / 2 at the same Eb/N0
    bits = rng.integers(0, 2, size=(num_frames, num_bits), dtype=np.uint8)

    def channel(tx_bits, n0):
        s = qam.map_bits(tx_bits, "bpsk")
        noise = np.sqrt(n0 / 2) * (rng.standard_normal(s.shape) + 1j * rng.standard_normal(s.shape))
        return (s + noise).astype(np.complex64)

    uncoded_ber = np.mean(qam.demap_hard(channel(bits, n0_uncoded), "bpsk") != bits)
    theory = 0.5 * erfc(np.sqrt(10 ** (ebn0_db / 10)))  # 1.25e-2
    assert abs(uncoded_ber - theory) < 0.15 * theory

    coded = coding.conv_encode(bits)
    llr = qam.demap_soft(channel(coded, n0_coded), n0_coded, "bpsk")
    coded_ber = np.mean(coding.viterbi_decode(llr, num_bits) != bits)
    assert coded_ber < 1e-3, coded_ber
    assert coded_ber < uncoded_ber / 20


def test_viterbi_erasures():
    # LLR 0 (erased / punctured) on every 4th coded bit still decodes without noise
    rng = np.random.default_rng(6)
    bits = rng.integers(0, 2, size=(5, 64), dtype=np.uint8)
    llr = _hard_llr(coding.conv_encode(bits))
    llr[:, 3::4] = 0.0
    np.testing.assert_array_equal(coding.viterbi_decode(llr, 64), bits)


def test_viterbi_bad_input_raises():
    with pytest.raises(ValueError, match="2 \\* \\(num_bits \\+ 6\\)"):
        coding.viterbi_decode(np.zeros((2, 100), np.float32), 48)
    with pytest.raises(ValueError, match="num_bits"):
        coding.viterbi_decode(np.zeros((2, 12), np.float32), -1)
    with pytest.raises(ValueError, match="num_bits"):
        coding.viterbi_decode(np.zeros((2, 108), np.float32), 48.0)
    with pytest.raises(ValueError, match="llr"):
        coding.viterbi_decode(np.zeros((2, 108), np.complex64), 48)


def test_conv_encode_bad_bits_raise():
    with pytest.raises(ValueError, match="bits"):
        coding.conv_encode(np.array([0, 1, 3]))
    with pytest.raises(ValueError, match="bits"):
        coding.conv_encode(np.array([0.0, 1.0]))


# ----------------------------------------------------------------------------- scrambler

def test_scrambler_all_ones_seed_golden():
    # IEEE 802.11 17.3.5.5: the 127-bit sequence generated from the all-ones state
    expected = _bits(
        "00001110 11110010 11001001 00000010 00100110 00101110 10110110 00001100"
        " 11010100 11100111 10110100 00101010 11111010 01010001 10111000 1111111")
    np.testing.assert_array_equal(coding.scrambling_sequence(127, seed=0x7F), expected)


def test_scrambler_annex_example():
    # IEEE 802.11a Annex G, Tables G.13 / G.16: first 144 DATA bits before and after
    # scrambling with the initial state 1011101 (packed MSB first in transmit order)
    plain = bytes([0x00, 0x00, 0x20, 0x40, 0x00, 0x74, 0x00, 0x06, 0x10,
                   0xB3, 0xEC, 0x65, 0x00, 0x04, 0x6B, 0x80, 0x3C, 0x8F])
    scrambled = bytes([0x6C, 0x19, 0x89, 0x8F, 0x68, 0x21, 0xF4, 0xA5, 0x61,
                       0x4F, 0xD7, 0xAE, 0x24, 0x0C, 0xF3, 0x3A, 0xE4, 0xBC])
    out = coding.scramble(coding.bytes_to_bits(plain), seed=0b1011101)
    assert coding.bits_to_bytes(out) == scrambled


def test_scrambler_period_and_self_inverse():
    for seed in (1, 0x5D, 0x7F):
        seq = coding.scrambling_sequence(400, seed=seed)
        assert seq.dtype == np.uint8 and seq.shape == (400,)
        np.testing.assert_array_equal(seq[127:254], seq[:127])
        np.testing.assert_array_equal(seq[254:381], seq[:127])
        assert seq[:127].sum() == 64  # m-sequence balance: 64 ones, 63 zeros
        # 127 is prime: the minimal period is 127 unless the sequence were constant
        assert all(np.any(np.roll(seq[:127], s) != seq[:127]) for s in range(1, 127))
    # every non-zero seed gives a distinct phase of the same m-sequence
    phases = {tuple(coding.scrambling_sequence(127, seed=s)) for s in range(1, 128)}
    assert len(phases) == 127
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2, size=(3, 300), dtype=np.uint8)
    once = coding.scramble(bits)
    assert once.shape == bits.shape and once.dtype == np.uint8
    assert np.any(once != bits)
    np.testing.assert_array_equal(coding.scramble(once), bits)
    np.testing.assert_array_equal(once[1], coding.scramble(bits[1]))


def test_scrambler_bad_seed_raises():
    for bad in (0, 128, -1, 1.5):
        with pytest.raises(ValueError, match="seed"):
            coding.scrambling_sequence(10, seed=bad)
    with pytest.raises(ValueError, match="num_bits"):
        coding.scrambling_sequence(-1)
