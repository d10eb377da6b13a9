"""Live attacks: the config names its field and range, craft() keeps every budget, and the link
sends what craft() made (the perturbation arrives, the clean symbols stay the reference)."""

import numpy as np
import pytest
import torch

from semcom_phy.attacks import LinkModel, psr_db
from semcom_phy.attacks.live import LIVE_ATTACKS, AttackConfig, craft
from semcom_phy.config import ChannelConfig, OfdmConfig
from semcom_phy.link import SemanticLink
from semcom_phy.purify import Defense, DefenseConfig
from semcom_phy.semantic import CodecConfig, SemanticCodec
from semcom_phy.transport import SimTransport

B, K = 6, 32


@pytest.fixture(scope="module")
def model():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        codec = SemanticCodec(CodecConfig(num_symbols=K, channels=16)).eval()
    return LinkModel(Defense(DefenseConfig(), codec), 10.0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(attack="fgsm"), "AttackConfig.attack = 'fgsm': allowed values are 'none', 'jamming'"),
    (dict(psr_db=30.0), r"AttackConfig.psr_db = 30.0 is out of range: allowed \[-60, 20\]"),
    (dict(eps=-0.1), r"AttackConfig.eps = -0.1 is out of range: allowed \[0, 1\]"),
    (dict(steps=0), r"AttackConfig.steps = 0 is out of range: allowed \[1, 10000\]"),
    (dict(steps=2.5), "AttackConfig.steps = 2.5: must be an integer"),
])
def test_bad_attack_settings_name_the_field_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AttackConfig(**kwargs)


def test_names_and_annotation_fields_say_only_what_applies():
    assert [AttackConfig(a).name for a in LIVE_ATTACKS] == ["none", "jamming-10dB", "air-10dB", "universal-10dB",
                                                            "pgd0.1"]
    assert AttackConfig().fields() == {"attack": "none"}
    assert AttackConfig("jamming", psr_db=-20).fields() == {"attack": "jamming", "psr_db": -20}
    assert AttackConfig("pgd", eps=0.05, steps=3).fields() == {"attack": "pgd", "eps": 0.05, "norm": "linf", "steps": 3}


@pytest.mark.parametrize("attack", LIVE_ATTACKS)
def test_craft_keeps_every_budget(model, attack):
    x, y = torch.rand(B, 1, 28, 28), torch.arange(B) % 10
    cfg = AttackConfig(attack, psr_db=-15.0, eps=0.05, steps=3, universal_images=12)
    train = (torch.rand(12, 1, 28, 28), torch.arange(12) % 10)
    x_sent, delta = craft(cfg, model, x, y, torch.Generator().manual_seed(1), train)
    if attack in ("none", "pgd"):
        assert delta is None
        assert float((x_sent - x).abs().max()) <= (0.05 + 1e-6 if attack == "pgd" else 0.0)
        assert x_sent.min() >= 0 and x_sent.max() <= 1
        assert attack == "none" or float((x_sent - x).abs().max()) > 0.01
    else:
        assert x_sent is x and delta.shape == (B, K) and delta.is_complex()
        p = psr_db(delta)
        assert float(p.max()) <= -15.0 + 1e-4
        if attack == "universal":      # grows from zero by a quarter of the budget per step: 2 steps here
            assert torch.equal(delta, delta[:1].expand(B, -1)) and float(p.min()) > -25.0
        else:
            assert float(p.min()) > -16.0                                       # on the budget, not far below


def test_the_link_sends_the_perturbation_and_keeps_the_clean_symbols_as_reference(model):
    codec, ofdm = model.defense.codec, OfdmConfig()
    x, y = torch.rand(B, 1, 28, 28), torch.arange(B) % 10
    _, delta = craft(AttackConfig("air", psr_db=-10.0, steps=2), model, x, y, torch.Generator().manual_seed(2))
    with SimTransport(ChannelConfig(), ofdm, np.random.default_rng(0)) as t:          # noiseless
        out = SemanticLink(codec, t, ofdm, interleave=2).run(x, delta_air=delta)
    with torch.no_grad():
        z = codec.encode(x).numpy()
    np.testing.assert_allclose(out.z, z, atol=1e-6)
    np.testing.assert_allclose(out.z_hat, z + delta.numpy(), atol=1e-4)
