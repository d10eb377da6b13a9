"""The conventional digital link: exact or lost images, CRC protection, its attacks' budgets."""

import numpy as np
import pytest
import torch

from semcom_phy.data import load_split, to_tensor
from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.digital import (DigitalConfig, DigitalLinkModel, _interleaver, burst_air, image_to_png, jamming,
                                png_to_image)
from semcom_phy.semantic import load_codec

pytestmark = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


@pytest.fixture(scope="module")
def codec():
    return load_codec()


@pytest.fixture(scope="module")
def images():
    test = load_split("test")
    return to_tensor(test.images[:48]), torch.from_numpy(test.labels[:48].astype(np.int64))


def _arrived(x_hat, x):
    return (x_hat - x).abs().flatten(1).amax(1) < 1e-6


def _run(model, x, delta=None, seed=0):
    with torch.no_grad():
        return model(x, delta, torch.Generator().manual_seed(seed))


def test_png_round_trip_is_lossless_and_garbage_does_not_decode():
    img = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(png_to_image(image_to_png(img)), img)
    assert png_to_image(b"\x89PNG not really") is None


def test_interleaver_is_a_permutation_that_spreads_neighbours():
    for n in (1, 2, 97, 8332):
        order = _interleaver(n)
        assert sorted(order.tolist()) == list(range(n))
    pos = np.argsort(_interleaver(8332))
    assert np.abs(np.diff(pos[:100])).min() > 50


@pytest.mark.parametrize("cfg", [DigitalConfig("qpsk", True), DigitalConfig("16qam", True), DigitalConfig("bpsk", False)])
def test_a_clean_channel_delivers_every_image_exactly_to_the_same_classifier(codec, images, cfg):
    x, _ = images
    model = DigitalLinkModel(codec, 40.0, False, cfg)
    x_hat, logits = _run(model, x)
    assert _arrived(x_hat, x).all()
    torch.testing.assert_close(logits, codec.classify(x))


def test_the_code_buys_snr_and_below_threshold_every_packet_is_lost_not_garbled(codec, images):
    x, _ = images
    coded = _arrived(_run(DigitalLinkModel(codec, 6.0, False, DigitalConfig("qpsk", True)), x)[0], x).float().mean()
    uncoded = _arrived(_run(DigitalLinkModel(codec, 6.0, False, DigitalConfig("qpsk", False)), x)[0], x).float().mean()
    assert coded > 0.9 and uncoded < 0.1
    x_hat, _ = _run(DigitalLinkModel(codec, 0.0, False), x)
    assert (x_hat == 0).all()                            # CRC failures: blank images, never corrupted ones


def test_straight_through_gradient_is_the_classifiers(codec, images):
    x, y = images
    x = x[:8].clone().requires_grad_()
    model = DigitalLinkModel(codec, 30.0, False)
    _, logits = model(x, generator=torch.Generator().manual_seed(0))
    torch.nn.functional.cross_entropy(logits, y[:8]).backward()
    x2 = x.detach().clone().requires_grad_()
    torch.nn.functional.cross_entropy(codec.classify(x2), y[:8]).backward()
    torch.testing.assert_close(x.grad, x2.grad)


def test_burst_attack_stays_in_budget_and_breaks_packets_that_jamming_does_not(codec, images):
    x, _ = images
    model = DigitalLinkModel(codec, 10.0, False)
    n = torch.from_numpy(model.lengths(x)).float()
    for delta in (burst_air(model, x, -20.0), jamming(model, x, -20.0, torch.Generator().manual_seed(1))):
        psr = 10 * torch.log10(delta.abs().pow(2).sum(-1) / n)
        assert psr.max() <= -20.0 + 1e-3
        assert (delta.abs()[torch.arange(model.capacity)[None] >= n[:, None]] == 0).all()   # nothing past a packet
    assert not _arrived(_run(model, x, burst_air(model, x, -20.0))[0], x).any()
    assert _arrived(_run(model, x, jamming(model, x, -20.0, torch.Generator().manual_seed(1)))[0], x).all()
    uni = burst_air(model, x, -20.0, universal=True)
    assert (uni == uni[0]).all()


def test_bad_config_names_the_field():
    with pytest.raises(ValueError, match="modulation"):
        DigitalConfig("8psk")
    with pytest.raises(ValueError, match="coded"):
        DigitalConfig("qpsk", "yes")
