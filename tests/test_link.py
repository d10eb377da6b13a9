import numpy as np
import pytest
import torch

from semcom_phy.config import ChannelConfig, ModemConfig, OfdmConfig
from semcom_phy.link import SemanticLink
from semcom_phy.purify import Defense, DefenseConfig
from semcom_phy.semantic import CodecConfig, SemanticCodec
from semcom_phy.transport import SimTransport, Transport


def _codec():
    with torch.random.fork_rng():
        torch.manual_seed(1)
        return SemanticCodec(CodecConfig()).eval()


def test_noiseless_link_reproduces_the_encoder_symbols():
    codec, ofdm = _codec(), OfdmConfig()
    x = torch.rand(6, 1, 28, 28)
    with SimTransport(ChannelConfig(), ofdm, np.random.default_rng(0)) as t:
        out = SemanticLink(codec, t, ofdm).run(x)
    assert out.received.all()
    np.testing.assert_allclose(out.z_hat, out.z, atol=1e-4)
    assert float(out.no_eff.max()) < 1e-6


class Wire(Transport):
    """A noiseless wire that keeps what went over it."""

    def __init__(self):
        self.sent, self.queue = [], []

    def send(self, iq):
        self.sent.append(iq)
        self.queue.append(iq)

    def receive(self, timeout_s=0.0):
        out = np.concatenate(self.queue) if self.queue else np.zeros(0, np.complex64)
        self.queue = []
        return out

    def close(self):
        pass


def test_scrambling_changes_what_goes_on_the_air_and_only_the_key_undoes_it():
    codec, x = _codec(), torch.rand(6, 1, 28, 28)
    plain, scrambled = Wire(), Wire()
    SemanticLink(codec, plain).run(x)
    link = SemanticLink(codec, scrambled, defense=Defense(DefenseConfig(scramble=True, key=0xC0FFEE), codec))
    out = link.run(x)
    air = [np.concatenate(w.sent) for w in (plain, scrambled)]
    assert air[0].shape == air[1].shape
    assert np.abs(air[0] - air[1]).mean() > 0.1 * np.abs(air[0]).mean()
    np.testing.assert_allclose(out.z_hat, out.z, atol=1e-4)                  # the key holder gets it back
    thief = SemanticLink(codec, None, defense=Defense(DefenseConfig(scramble=True, key=0xC0FFEF), codec))
    stolen = thief.receive(out.z, out.frames, out.stats)
    assert np.abs(stolen.z_hat - out.z).mean() > 0.5 * np.abs(out.z).mean()
    # the next run of the session scrambles its images afresh: the same images go out differently
    link.run(x)
    assert np.abs(np.concatenate(scrambled.sent[len(scrambled.sent) // 2:]) - air[1]).mean() > 0.1 * np.abs(air[1]).mean()


class DropEveryThird(Wire):
    """Loses every third send (= every third frame) on a noiseless channel."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def send(self, iq):
        self.count += 1
        super().send(np.zeros_like(iq) if self.count % 3 == 0 else iq)


def test_lost_frames_are_scored_not_dropped():
    codec = _codec()
    x = torch.rand(9, 1, 28, 28)
    labels = codec.classify(x).argmax(1)              # labels the untrained classifier agrees with
    out = SemanticLink(codec, DropEveryThird()).run(x)
    assert out.received.tolist() == [True, True, False] * 3
    assert float(out.x_hat[~torch.from_numpy(out.received)].abs().max()) == 0.0   # blank
    m = out.metrics(x, labels)
    assert (m["frames_sent"], m["frames_received"], m["num_images"]) == (9, 6, 9)
    assert m["accuracy"] <= 6 / 9 + 1e-6 and m["images_lost"] == 3


class NoSyncEveryThird(DropEveryThird):
    """Every third frame arrives without its sync symbol, so the detector never finds it."""

    def send(self, iq):
        self.count += 1
        iq = iq.copy()
        if self.count % 3 == 0:
            gap = 256                   # each send: the default modem's gap_samples, then the frame
            iq[gap:gap + OfdmConfig().symbol_length_samples] = 0
        self.queue.append(iq)


def test_frames_missed_by_the_detector_are_inferred_and_counted():
    codec = _codec()
    x = torch.rand(9, 1, 28, 28)
    out = SemanticLink(codec, NoSyncEveryThird()).run(x)
    assert [f.inferred for f in out.frames] == [False, False, True] * 2 + [False, False]   # the last has no successor
    assert out.metrics(x, codec.classify(x).argmax(1))["frames_inferred"] == 2 == out.frames_received - 6
    got = out.received
    np.testing.assert_allclose(out.z_hat[got], out.z[got], atol=1e-3)   # noiseless: the inferred frames are exact


@pytest.mark.parametrize("scramble", [False, True])
def test_interleaving_turns_a_lost_frame_into_erasures_spread_over_its_group(scramble):
    codec = _codec()
    x = torch.rand(9, 1, 28, 28)
    out = SemanticLink(codec, DropEveryThird(), defense=Defense(DefenseConfig(scramble=scramble), codec),
                       interleave=3).run(x)
    assert out.received.all() and out.frames_received == 6
    k = codec.cfg.num_symbols
    lost = ~out.symbol_received
    assert lost.sum() == 3 * k                                             # three frames' worth of symbols
    assert set(lost.sum(1).tolist()) <= {k // 3, -(-k // 3)}              # a third of every image
    assert (out.no_eff[lost] == 10.0).all() and (out.z_hat[lost] == 0).all()
    np.testing.assert_allclose(out.z_hat[~lost], out.z[~lost], atol=1e-4)   # what came back is exact


def test_interleaver_is_a_permutation_of_whole_groups():
    from semcom_phy.link import interleaver
    order = interleaver(7, 10, 3)
    assert sorted(order.ravel().tolist()) == list(range(70))
    assert set((order[:3] // 10).ravel().tolist()) == {0, 1, 2}           # a group's frames hold its images
    assert (order[6] == np.arange(60, 70)).all()                          # a group of one: unchanged
    np.testing.assert_array_equal(interleaver(5, 8, 1), np.arange(40).reshape(5, 8))
    with pytest.raises(ValueError, match="interleave"):
        SemanticLink(_codec(), DropEveryThird(), interleave=0)


def test_link_rejects_settings_the_decoder_cannot_use():
    t = SimTransport(ChannelConfig(), OfdmConfig(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="needs 'analog'"):
        SemanticLink(_codec(), t, modem=ModemConfig(mode="digital"))
    with pytest.raises(ValueError, match="use 'zf'"):
        SemanticLink(_codec(), t, modem=ModemConfig(mode="analog", equalizer="mmse"))


def _evms(channel, snr_db, n=32):
    from semcom_phy.channel import channel_profile
    codec, ofdm = _codec(), OfdmConfig()
    x = torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with SimTransport(channel_profile(channel, snr_db), ofdm, np.random.default_rng(0)) as t:
        m = SemanticLink(codec, t, ofdm).run(x).metrics(x, torch.zeros(n, dtype=torch.long))
    return m["evm_db"], m["evm_mmse_db"]


def test_the_mmse_evm_equals_the_raw_evm_on_awgn_at_high_snr_and_falls_with_snr_under_fading():
    raw, mmse = _evms("awgn", 20.0)
    assert abs(raw - mmse) < 0.5 and -21.0 < mmse < -19.0
    multipath = [_evms("multipath", snr) for snr in (0.0, 10.0, 20.0)]
    mmse = [m for _, m in multipath]
    assert mmse[0] > mmse[1] > mmse[2]
    assert all(m < r for r, m in multipath)            # the ZF EVM's faded carriers count at most ~1 each
    assert mmse[0] < 0.0                               # bounded: an MMSE symbol's error is at most its power


def test_the_mmse_evm_is_the_evm_of_the_shrunk_symbols():
    from semcom_phy.metrics import evm_db, evm_mmse_db
    z = np.exp(2j * np.pi * np.random.default_rng(0).random(1000)).astype(np.complex64)
    no_eff = np.full(1000, 1.0, np.float32)
    assert evm_mmse_db(z, z, no_eff) == pytest.approx(evm_db(z / 2, z))   # noiseless, halved: -6.02 dB
    assert evm_mmse_db(z * 3, z, np.zeros(1000)) == pytest.approx(evm_db(z * 3, z))
