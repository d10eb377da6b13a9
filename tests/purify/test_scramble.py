"""Keyed symbol scrambling: exact inverse, keyed, power-preserving, and useless to a keyless attacker."""

import numpy as np
import pytest
import torch

from semcom_phy.attacks import LinkModel, evaluate, pgd_air
from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.purify import Defense, DefenseConfig, Scrambling
from semcom_phy.semantic import load_codec


def _symbols(b=4, k=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.complex(torch.randn(b, k, generator=g), torch.randn(b, k, generator=g)) / 2 ** 0.5


@pytest.mark.parametrize("make", [lambda b, k: Scrambling.keyed(7, 3, 100, b, k),
                                  lambda b, k: Scrambling.draw(b, k, torch.Generator().manual_seed(1))])
def test_undo_inverts_apply_and_carries_per_symbol_tensors_along(make):
    s = _symbols()
    sc = make(*s.shape)
    assert all(sorted(p.tolist()) == list(range(s.shape[1])) for p in sc.perm)      # permutations
    torch.testing.assert_close(sc.phase.abs(), torch.ones(s.shape))
    tx = sc.apply(s)
    torch.testing.assert_close(tx.abs().pow(2).sum(1), s.abs().pow(2).sum(1))      # power unchanged
    assert (tx - s).abs().mean() > 0.5                                             # but not the symbols
    no_eff = torch.rand(s.shape)                          # per transmitted slot, as the receiver sees it
    got = no_eff > 0.5
    z, no_eff_back, got_back = sc.undo(tx, no_eff, got)
    torch.testing.assert_close(z, s)
    for before, after in ((no_eff, no_eff_back), (got, got_back)):   # moved with their symbols
        assert torch.equal(torch.gather(after, 1, sc.perm), before)


def test_keyed_scrambling_depends_on_key_session_and_image_only():
    a = Scrambling.keyed(2 ** 255 + 1, 9, 0, 3, 64)
    again = Scrambling.keyed(2 ** 255 + 1, 9, 0, 3, 64)
    torch.testing.assert_close(a.phase, again.phase)
    assert torch.equal(a.perm, again.perm)
    # image 1 of a batch starting at 0 is image 0 of a batch starting at 1
    assert torch.equal(Scrambling.keyed(2 ** 255 + 1, 9, 1, 1, 64).perm[0], a.perm[1])
    assert not torch.equal(a.perm[0], a.perm[1])                                   # fresh per image
    for other in (Scrambling.keyed(2 ** 255, 9, 0, 3, 64), Scrambling.keyed(2 ** 255 + 1, 10, 0, 3, 64)):
        assert not torch.equal(other.perm, a.perm)
        assert (other.phase - a.phase).abs().mean() > 0.5


def test_a_perturbation_without_the_key_averages_out():
    """Unscrambled with keys the attacker does not know, a fixed perturbation lands on every
    symbol with a uniform phase: its mean over keys vanishes (its energy does not)."""
    delta = _symbols(1, 128, seed=5).expand(4000, -1)
    seen = Scrambling.draw(4000, 128, torch.Generator().manual_seed(2)).undo(delta)[0]
    assert float(seen.mean(0).abs().max()) < 0.1 * float(delta.abs().max())
    torch.testing.assert_close(seen.abs().pow(2).sum(1), delta.abs().pow(2).sum(1))


def test_gradients_flow_through_the_scrambling():
    s = _symbols().requires_grad_()
    sc = Scrambling.keyed(1, 0, 0, *s.shape)
    sc.undo(sc.apply(s))[0].real.sum().backward()
    torch.testing.assert_close(s.grad, torch.ones_like(s.grad, dtype=s.dtype))


@pytest.mark.parametrize("kw, message", [
    ({"key": -1}, "DefenseConfig.key = -1: must be an integer in [0, 2^256)"),
    ({"key": 2 ** 256}, "must be an integer in [0, 2^256)"),
    ({"key": 1.5}, "DefenseConfig.key = 1.5"),
    ({"scramble": 1}, "DefenseConfig.scramble = 1: must be true or false"),
])
def test_bad_scrambling_settings_name_the_field(kw, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("^", r"\^")):
        DefenseConfig(**kw)


@pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")
def test_scrambling_turns_a_white_box_air_attack_into_noise_unless_the_key_leaks():
    from semcom_phy.data import load_split, to_tensor
    test = load_split("test")
    x, y = to_tensor(test.images[:64]), torch.from_numpy(test.labels[:64].astype(np.int64))
    codec = load_codec()
    plain = LinkModel(Defense(DefenseConfig(), codec), 10.0)
    scrambled = LinkModel(Defense(DefenseConfig(scramble=True), codec), 10.0)
    gen = lambda s: torch.Generator().manual_seed(s)                               # noqa: E731
    delta = pgd_air(plain, x, y, -10.0, steps=10, generator=gen(0))
    acc = lambda m, d, g=gen(1): evaluate(m, x, y, delta_air=d, generator=g)["accuracy"]  # noqa: E731
    clean = acc(scrambled, None)
    assert acc(plain, delta) < clean - 0.4                                         # the attack works
    assert acc(scrambled, delta) > clean - 0.1                                     # without the key: noise
    # the attacker who knows the key (one fixed draw of scrambling and noise) is back to the plain link
    known = pgd_air(scrambled, x, y, -10.0, steps=10, generator=gen(0), fixed_noise_seed=3)
    assert acc(scrambled, known, gen(3)) < clean - 0.4
