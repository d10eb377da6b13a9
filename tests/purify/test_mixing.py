"""The mixing scrambling (scramble_mode "mix"): a keyed unitary, exactly inverted, differentiable,
whose transmitted magnitudes say nothing per symbol, and whose receiver reports the right noise."""

import argparse

import numpy as np
import pytest
import torch

from semcom_phy.attacks import match_magnitudes, matched_fraction
from semcom_phy.config import from_dict, to_dict
from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.purify import DefenseConfig, Scrambling

NEEDS_DATA = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")
K = 128


def _symbols(b=4, k=K, seed=0, dtype=torch.complex64):
    g = torch.Generator().manual_seed(seed)
    s = torch.complex(torch.randn(b, k, generator=g, dtype=torch.float64), torch.randn(b, k, generator=g,
                                                                                       dtype=torch.float64))
    return (s / s.abs().pow(2).mean(1, keepdim=True).sqrt()).to(dtype)          # unit mean power per image


def _mix(b=4, k=K, key=7, session=3, first=0):
    return Scrambling.keyed(key, session, first, b, k, mode="mix")


@pytest.mark.parametrize("make", [lambda: _mix(),
                                  lambda: Scrambling.draw(4, K, torch.Generator().manual_seed(1), mode="mix")])
def test_the_mixing_is_unitary_with_flat_magnitudes_and_its_inverse_is_exact(make):
    sc = make()
    assert sc.mode == "mix" and tuple(sc.perm.shape) == (4, 2, K)
    u = sc.matrix()
    eye = torch.eye(K, dtype=u.dtype).expand_as(u)
    assert float((u.conj().transpose(1, 2) @ u - eye).abs().max()) < 1e-5             # U^H U = I
    torch.testing.assert_close(u.abs(), torch.full(u.shape, K ** -0.5), atol=1e-6, rtol=0)   # mixes all
    s = _symbols()
    tx = sc.apply(s)
    torch.testing.assert_close(torch.einsum("bij,bj->bi", u, s), tx, atol=1e-5, rtol=0)
    torch.testing.assert_close(tx.abs().pow(2).sum(1), s.abs().pow(2).sum(1))       # power unchanged
    torch.testing.assert_close(sc.inverse(tx), s, atol=1e-5, rtol=0)
    torch.testing.assert_close(sc.undo(tx)[0], s, atol=1e-5, rtol=0)                 # no noise given: U^H
    z, no_eff = sc.undo(tx, torch.full(s.shape, 0.1))                                # equal noise: still U^H
    torch.testing.assert_close(z, s, atol=1e-5, rtol=0)
    torch.testing.assert_close(no_eff, torch.full(s.shape, 0.1))


def test_the_mixing_is_differentiable():
    s = _symbols(2, 8, dtype=torch.complex128).requires_grad_()
    sc = _mix(2, 8)
    assert torch.autograd.gradcheck(lambda t: torch.view_as_real(sc.apply(t)), (s,))
    no_eff = torch.rand(2, 8, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: torch.view_as_real(sc.undo(t, no_eff)[0]), (s,))
    sc.undo(sc.apply(s))[0].real.sum().backward()                                   # U^H U = I: gradient 1
    torch.testing.assert_close(s.grad, torch.ones_like(s.grad))


def test_the_mixing_is_keyed_per_image_and_apart_from_the_permuting_key_stream():
    a = _mix(3, 64, key=2 ** 255 + 1, session=9)
    again = _mix(3, 64, key=2 ** 255 + 1, session=9)
    assert torch.equal(a.perm, again.perm) and torch.equal(a.phase, again.phase)
    one = _mix(1, 64, key=2 ** 255 + 1, session=9, first=1)                          # image 1 on its own
    assert torch.equal(one.perm[0], a.perm[1]) and torch.equal(one.phase[0], a.phase[1])
    u = a.matrix()
    for other in (u[1], _mix(3, 64, key=2 ** 255, session=9).matrix()[0], _mix(3, 64, key=2 ** 255 + 1,
                                                                             session=10).matrix()[0]):
        assert float((other - u[0]).abs().mean()) > 0.5 * 64 ** -0.5               # another transform
    permuting = Scrambling.keyed(2 ** 255 + 1, 9, 0, 3, 64)                           # same key, other mode
    assert not torch.equal(permuting.perm, a.perm[:, 0])
    with pytest.raises(ValueError, match="mode = 'shuffle': allowed values are 'permute', 'mix'"):
        Scrambling.keyed(1, 0, 0, 1, 8, mode="shuffle")


def test_magnitude_matching_recovers_the_permutation_but_nothing_of_the_mixing():
    """The known-plaintext attacker sorts |s| and |heard|, pairs them and reads the phases off
    the pairs. On the permuting scrambling it gets every slot right, so it steers a perturbation
    e of its choosing to the decoder exactly (cosine 1 between e and what the receiver's inverse
    makes of guess.apply(e)); on the mixing one its pairing matches neither secret permutation
    beyond chance (1/k) and what lands is as unrelated to e as a random guess's (cosine ~
    1/sqrt(k)): the magnitudes on the air carry no per-symbol trace of the source."""
    g = torch.Generator().manual_seed(4)
    s = _symbols(64, seed=3)
    permuting, mixing = Scrambling.draw(64, K, g), Scrambling.draw(64, K, g, mode="mix")
    e = _symbols(64, seed=8)
    cosine = lambda a, b: (a * b.conj()).sum(1).abs() / (a.norm(dim=1) * b.norm(dim=1))    # noqa: E731

    guess = match_magnitudes(s, permuting.apply(s))
    assert matched_fraction(guess, permuting) == 1.0
    assert float(cosine(permuting.inverse(guess.apply(e)), e).min()) > 0.9999
    guess = match_magnitudes(s, mixing.apply(s))
    for m in (0, 1):
        assert matched_fraction(guess, Scrambling(mixing.perm[:, m], mixing.phase[:, m])) < 3 / K   # chance 1/k
    assert float(cosine(mixing.inverse(guess.apply(e)), e).mean()) < 2.5 * K ** -0.5   # chance ~0.08
    gap = (mixing.apply(s).abs().sort(1).values - s.abs().sort(1).values).abs().mean()
    assert float(gap) > 0.05                                                        # not the same magnitudes


def test_the_plain_inverse_has_the_weighted_mean_variance_per_symbol():
    """y = U s + n with independent noise variances v_j: U^H y has per-symbol variance
    sum_j |U_ji|^2 v_j, which is mean(v) for the mixing (every |U_ji|^2 = 1/k)."""
    sc = _mix(1, 32)
    v = torch.linspace(0.01, 2.0, 32)
    g = torch.Generator().manual_seed(5)
    n = torch.complex(torch.randn(20000, 32, generator=g), torch.randn(20000, 32, generator=g)) * (v / 2).sqrt()
    seen = Scrambling(sc.perm.expand(20000, -1, -1), sc.phase.expand(20000, -1, -1)).inverse(n)
    expected = (sc.matrix()[0].abs() ** 2 * v[:, None]).sum(0)                      # sum_j |U_ji|^2 v_j
    torch.testing.assert_close(expected, torch.full((32,), float(v.mean())), atol=1e-5, rtol=0)
    torch.testing.assert_close(seen.abs().pow(2).mean(0), expected, rtol=0.05, atol=0)


def test_the_receiver_reports_the_variance_of_its_estimate_with_uneven_noise_and_lost_symbols():
    """undo(z, no_eff, got): per-slot LMMSE weights a = 1 / (1 + v) (0 where lost), U^H, and the
    rescale that makes each symbol unbiased: error variance 1 / mean(a) - 1 per symbol, over
    unit-power symbols and the noise, at most mean(v); got is 'any of the image came back'."""
    b, k = 4000, 32
    sc = Scrambling.draw(b, k, torch.Generator().manual_seed(6), mode="mix")
    g = torch.Generator().manual_seed(7)
    s = torch.complex(torch.randn(b, k, generator=g), torch.randn(b, k, generator=g)) / 2 ** 0.5
    v = torch.rand(1, k, generator=g).expand(b, k) * 2.0                           # the same uneven slots
    got = torch.ones(b, k, dtype=torch.bool)
    got[:, :8] = False                                                              # a quarter of them lost
    got[-1] = False                                                                 # an image with nothing back
    n = torch.complex(torch.randn(b, k, generator=g), torch.randn(b, k, generator=g)) * (v / 2).sqrt()
    z = torch.where(got, sc.apply(s) + n, torch.zeros_like(s))                      # the link: zeros where lost
    no_eff = torch.where(got, v, torch.full_like(v, 10.0))                          # and LOST_NOISE_VAR
    est, reported, got_back = sc.undo(z, no_eff, got)
    a = torch.where(got[0], 1 / (1 + v[0]), torch.zeros(k))
    torch.testing.assert_close(reported[0], torch.full((k,), float(1 / a.mean() - 1)))
    assert float(reported[0, 0]) < float(v[0, 8:].mean() / 0.75 + 1 / 0.75 - 1) + 1e-6   # (1 + v) / p - 1 bound
    mse = (est[:-1] - s[:-1]).abs().pow(2).mean(0)
    torch.testing.assert_close(mse, reported[0], rtol=0.06, atol=0)                  # what it says it is
    assert bool(got_back[:-1].all()) and not bool(got_back[-1].any())
    assert float(est[-1].abs().max()) == 0.0 and float(reported[-1, 0]) == pytest.approx(10.0)
    everything = sc.undo(sc.apply(s) + n, v)                                        # nothing lost, uneven noise
    assert float(everything[1][0, 0]) <= float(v[0].mean())                          # <= the plain inverse's


def test_permute_stays_the_default_and_the_mode_is_a_public_checked_field():
    from semcom_phy.experiments import config as C
    from semcom_phy.experiments.cli import add_options, resolve
    from semcom_phy.experiments.commands import LOOPBACK_OPTIONS

    assert DefenseConfig().scramble_mode == "permute"
    with pytest.raises(ValueError, match="DefenseConfig.scramble_mode = 'hadamard': allowed values are 'permute', "
                                         "'mix'"):
        DefenseConfig(scramble=True, scramble_mode="hadamard")
    cfg = DefenseConfig(scramble=True, key=12345, scramble_mode="mix")
    stored = to_dict(cfg)
    assert stored["scramble_mode"] == "mix" and "key" not in stored                 # the mode in the clear
    assert stored["key_fingerprint"] == to_dict(DefenseConfig(scramble=True, key=12345))["key_fingerprint"]
    assert from_dict(DefenseConfig, {**stored, "key": 12345}) == cfg
    old = {k: v for k, v in to_dict(DefenseConfig(scramble=True, key=5)).items() if k != "scramble_mode"}
    assert from_dict(DefenseConfig, {**old, "key": 5}).scramble_mode == "permute"   # configs stored before it
    ap = argparse.ArgumentParser()
    add_options(ap, LOOPBACK_OPTIONS, C.LoopbackConfig)
    cfg = resolve(ap, ap.parse_args(["--scramble", "--scramble-mode", "mix"]), LOOPBACK_OPTIONS, C.LoopbackConfig)
    assert (cfg.link.defense.scramble, cfg.link.defense.scramble_mode) == (True, "mix")


@NEEDS_DATA
def test_the_ofdm_link_mixes_with_the_key_and_decodes_nothing_without_it():
    from semcom_phy import transports
    from semcom_phy.data import load_split, to_tensor
    from semcom_phy.link import Link
    from semcom_phy.purify import Defense
    from semcom_phy.semantic import load_codec

    test = load_split("test")
    x, y = to_tensor(test.images[:64]), torch.from_numpy(test.labels[:64].astype(np.int64))
    codec = load_codec()
    acc = {}
    for mode in ("none", "mix"):
        d = DefenseConfig(scramble=mode == "mix", key=77, scramble_mode="mix")
        with transports.sim("awgn", snr_db=15, seed=0) as t:
            link = Link(codec, t, defense=Defense(d, codec))
            out = link.run(x)
        acc[mode] = out.metrics(x, y)["accuracy"]
    assert acc["mix"] >= acc["none"] - 0.05                                         # measured: equal (0.891)
    thief = Link(codec, None, defense=Defense(DefenseConfig(scramble=True, key=78, scramble_mode="mix"), codec))
    stolen = thief.receive(out.z, out.frames, out.stats)
    assert stolen.metrics(x, y)["accuracy"] < 0.3                                   # measured 0.125
    assert np.abs(stolen.z_hat - out.z).mean() > 0.5 * np.abs(out.z).mean()


def _drop_every_third():
    """A noiseless wire that loses every third send (= every third frame)."""
    from semcom_phy.transport import Transport

    class Drop(Transport):
        def __init__(self):
            self.count, self.queue = 0, []

        def send(self, iq):
            self.count += 1
            self.queue.append(np.zeros_like(iq) if self.count % 3 == 0 else iq)

        def receive(self, timeout_s=0.0):
            out, self.queue = (np.concatenate(self.queue) if self.queue else np.zeros(0, np.complex64)), []
            return out

        def close(self):
            pass

    return Drop()


def test_a_lost_frame_degrades_every_symbol_of_a_mixed_image_and_blanks_none():
    """Interleaved over 3 frames, a lost frame takes a third of each image's transmitted symbols:
    unmixed, every symbol of those images counts as received, with no_eff (1 + v) / p - 1 ~ 0.5
    (noiseless: v ~ 0; p = 85/128 or 86/128 came back)."""
    from semcom_phy.link import SemanticLink
    from semcom_phy.purify import Defense
    from semcom_phy.semantic import CodecConfig, SemanticCodec

    with torch.random.fork_rng():
        torch.manual_seed(1)
        codec = SemanticCodec(CodecConfig()).eval()
    x = torch.rand(9, 1, 28, 28)
    d = Defense(DefenseConfig(scramble=True, scramble_mode="mix"), codec)
    out = SemanticLink(codec, _drop_every_third(), defense=d, interleave=3).run(x)
    assert out.received.all() and out.symbol_received.all() and out.frames_received == 6
    expected = [128 / kept - 1 for kept in (85, 86)]
    assert all(min(abs(float(v) - e) for e in expected) < 1e-3 for v in out.no_eff.max(1))
    assert np.ptp(out.no_eff, axis=1).max() < 1e-6                                  # one level per image
