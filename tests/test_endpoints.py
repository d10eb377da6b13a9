"""The two ends of the link (semcom_phy.endpoints), shared by the OFDM link and the symbol-level model."""

import numpy as np
import pytest
import torch

from semcom_phy.config import ChannelConfig, OfdmConfig
from semcom_phy.endpoints import Receiver, Sender
from semcom_phy.link import SemanticLink
from semcom_phy.purify import Defense, DefenseConfig, LatentDenoiser, LatentDenoiserConfig, NoiseSchedule, Scrambling
from semcom_phy.semantic import CodecConfig, SemanticCodec
from semcom_phy.symbol_link import SymbolLink
from semcom_phy.transport import SimTransport

K = 32
TABLE = {"t": [0, 400], "var": [1e-3, 0.5], "var_stochastic": [2e-3, 0.6]}


def _defense(defense="none", **kw):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        codec = SemanticCodec(CodecConfig(num_symbols=K, channels=16)).eval()
        if defense == "none":
            return Defense(DefenseConfig(**kw), codec)
        latent = LatentDenoiser(LatentDenoiserConfig(dim=2 * K, hidden=64, depth=2)).eval()
        torch.nn.init.normal_(latent.out[-1].weight, std=0.2)
    return Defense(DefenseConfig(defense, sender_step=60, nfe=2, **kw), codec, NoiseSchedule(1000, "linear"), latent,
                   residual_var=TABLE)


def _x(b=4, seed=1):
    return torch.rand(b, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_the_link_sends_what_the_symbol_link_sends_for_the_same_generator():
    """The sender's diffusion noise drawn from the same generator: the OFDM link's clean symbols
    are SymbolLink's sender output, and what it puts on the air is those symbols scrambled."""
    defense = _defense("latent", scramble=True, key=5)
    x = _x()
    with SimTransport(ChannelConfig(), OfdmConfig(), np.random.default_rng(0)) as t:          # noiseless
        out = SemanticLink(defense.codec, t, defense=defense, generator=torch.Generator().manual_seed(3)).run(x)
    with torch.no_grad():
        s = SymbolLink(defense, 10.0).transmit(x, torch.Generator().manual_seed(3))
    np.testing.assert_array_equal(out.z, s.numpy())
    np.testing.assert_allclose(out.z_hat, out.z, atol=1e-4)           # noiseless: unscrambled back
    tx = Sender.transmit(s, Scrambling.keyed(5, 3, 0, *s.shape))        # key 5, session = the seed, images 0..
    air = np.stack([f.symbols[:K] for f in sorted(out.frames, key=lambda f: f.seq)])   # frame j: image j
    np.testing.assert_allclose(air, tx.numpy(), atol=1e-4)
    assert float((tx - s).abs().mean()) > 0.5


@pytest.mark.parametrize("make", [lambda b, k: Scrambling.keyed(1, 2, 0, b, k),
                                  lambda b, k: Scrambling.draw(b, k, torch.Generator().manual_seed(4))])
def test_scrambling_round_trips_through_the_two_ends(make):
    defense = _defense()
    x = _x()
    s = Sender(defense).encode(x)
    sc = make(*s.shape)
    tx = Sender(defense)(x, sc)
    assert (tx - s).abs().mean() > 0.5
    no_eff = torch.full(s.shape, 1e-3)
    got = torch.rand(s.shape, generator=torch.Generator().manual_seed(0)) > 0.2
    r = Receiver(defense)(tx, no_eff, sc, got)
    torch.testing.assert_close(r.z_hat, s)
    assert torch.equal(torch.gather(r.got, 1, sc.perm), got)          # the mask moved with its symbols
    plain = Receiver(defense)(s, no_eff)
    torch.testing.assert_close(r.x_hat, plain.x_hat)
    torch.testing.assert_close(r.scores, plain.scores)
    assert plain.got is None


@torch.no_grad()
def test_images_none_of_whose_symbols_came_back_are_blank():
    defense = _defense()
    s = Sender(defense).encode(_x())
    got = torch.ones(s.shape, dtype=torch.bool)
    got[1] = False
    got[2, 1:] = False                                                # one symbol back: not lost
    r = Receiver(defense)(s, torch.full(s.shape, 1e-3), got=got)
    assert float(r.x_hat[1].abs().max()) == 0.0
    assert all(float(r.x_hat[i].abs().max()) > 0 for i in (0, 2, 3))
    full = Receiver(defense)(s, torch.full(s.shape, 1e-3))
    torch.testing.assert_close(r.scores, full.scores)                 # scores are the decoder's; the link scores loss


def test_the_ends_carry_gradients():
    defense = _defense("receiver", stochastic=True)
    x = _x().requires_grad_()
    delta = torch.zeros(K, dtype=torch.complex64, requires_grad=True)
    tx = Sender(defense)(x, Scrambling.draw(4, K, torch.Generator().manual_seed(0)), delta, torch.Generator())
    r = Receiver(defense)(tx, torch.full(tx.shape, 0.1), Scrambling.draw(4, K, torch.Generator().manual_seed(0)),
                          generator=torch.Generator().manual_seed(1))
    r.scores.sum().backward()
    assert x.grad.abs().sum() > 0 and delta.grad.abs().sum() > 0


def test_symbol_link_draws_sender_scrambling_channel_and_reverse_process_in_that_order():
    defense = _defense("latent", scramble=True, stochastic=True)
    model = SymbolLink(defense, 5.0)
    x = _x()
    x_hat, scores = model(x, generator=torch.Generator().manual_seed(9))
    g = torch.Generator().manual_seed(9)                              # the same pass, spelled out
    s = Sender(defense).encode(x, g)
    sc = Scrambling.draw(*s.shape, g)
    from semcom_phy.semantic import symbol_channel
    z_hat, no_eff = symbol_channel(Sender.transmit(s, sc), torch.full((4,), 5.0), torch.zeros(4, dtype=torch.bool), g)
    r = Receiver(defense)(z_hat, no_eff, sc, generator=g)
    torch.testing.assert_close(x_hat, r.x_hat, rtol=0, atol=0)
    torch.testing.assert_close(scores, r.scores, rtol=0, atol=0)


@pytest.mark.parametrize("delta, message", [
    (torch.zeros(4, K), "dtype"),
    (torch.zeros(3, K, dtype=torch.complex64), r"shape \(3, 32\), expected \[4, 32\] or \[32\]"),
    (torch.zeros(K + 1, dtype=torch.complex64), "shape"),
    (torch.zeros(1, 4, K, dtype=torch.complex64), "shape"),
])
def test_bad_air_perturbations_are_refused(delta, message):
    defense = _defense()
    with pytest.raises(ValueError, match="delta_air: " + message):
        Sender(defense)(_x(), delta_air=delta)
    with pytest.raises(ValueError, match="delta_air"):
        SymbolLink(defense, 10.0)(_x(), delta)


def test_air_perturbations_add_to_the_scrambled_symbols_per_example_or_universal():
    defense = _defense()
    s = Sender(defense).encode(_x())
    sc = Scrambling.keyed(0, 0, 0, *s.shape)
    d = torch.full((K,), 0.5 + 0.5j, dtype=torch.complex128)
    torch.testing.assert_close(Sender.transmit(s, sc, d), sc.apply(s) + d.to(torch.complex64))
    d2 = torch.complex(torch.randn(4, K), torch.randn(4, K)).numpy()     # numpy arrays are taken too
    torch.testing.assert_close(Sender.transmit(s, None, d2), s + torch.from_numpy(d2))


def test_bad_images_are_refused():
    with pytest.raises(ValueError, match=r"x: shape \(4, 28, 28\)"):
        Sender(_defense()).encode(torch.zeros(4, 28, 28))
