"""The magnitude-matching attacker (``magnitude_match``): it recovers the permuting scrambling
from the source it knows and the transmission it hears and attacks as if it held the key; against
the mixing scrambling the same steps get nothing."""

import pytest
import torch

from semcom_phy.attacks import KnownScramblingLink, match_magnitudes, matched_fraction, observe
from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.evaluation.config import Config
from semcom_phy.purify import Scrambling

NEEDS_DATA = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


def _config(attacks, **kw) -> Config:
    cfg = Config(name="mm", num_images=32, worst_of_n=3, attacks=attacks, defenses=[
        {"label": "permute", "defense": "none", "scramble": True},
        {"label": "mix", "defense": "none", "scramble": True, "scramble_mode": "mix"}], **kw)
    cfg.check()
    return cfg


def test_configs_name_it_with_a_checked_observation_snr():
    for obs in (None, 30, 40.5):
        _config([{"attack": "magnitude_match", "budgets": [-10], "obs_snr_db": obs}])
    for entry, message in [
        ({"attack": "magnitude_match", "budgets": [-10], "obs_snr_db": 200}, "obs_snr_db = 200 is out of range"),
        ({"attack": "magnitude_match", "budgets": [-10], "obs_snr_db": "clean"}, "obs_snr_db = 'clean'"),
        ({"attack": "magnitude_match", "budgets": [-10], "obs_snr_db": True}, "obs_snr_db = True"),
        ({"attack": "air_fixed", "budgets": [-10], "obs_snr_db": 30}, "obs_snr_db is magnitude_match's"),
        ({"attack": "magnitude_match"}, "magnitude_match needs a list of budgets"),
    ]:
        with pytest.raises(ValueError, match=message):
            _config([entry])


def test_matching_recovers_the_permutation_from_a_clean_observation_and_less_through_noise():
    g = torch.Generator().manual_seed(0)
    s = torch.complex(torch.randn(16, 128, generator=g), torch.randn(16, 128, generator=g)) / 2 ** 0.5
    sc = Scrambling.draw(16, 128, g)
    heard = sc.apply(s)
    assert matched_fraction(match_magnitudes(s, observe(heard, None)), sc) == 1.0
    rates = [matched_fraction(match_magnitudes(s, observe(heard, snr, torch.Generator().manual_seed(1))), sc)
             for snr in (50, 40, 30)]
    assert 1.0 > rates[0] > rates[1] > rates[2] > 1 / 128
    with pytest.raises(ValueError, match="expected the same"):
        match_magnitudes(s, heard[:, :64])


def test_the_attackers_link_uses_its_scrambling_for_every_eot_copy():
    from semcom_phy.purify import Defense, DefenseConfig
    from semcom_phy.semantic import CodecConfig, SemanticCodec

    with torch.random.fork_rng():
        torch.manual_seed(1)
        codec = SemanticCodec(CodecConfig()).eval()
    defense = Defense(DefenseConfig(scramble=True), codec)
    x = torch.rand(3, 1, 28, 28)
    sc = Scrambling.draw(3, 128, torch.Generator().manual_seed(2))
    link = KnownScramblingLink(defense, 100.0, scrambling=sc)
    with torch.no_grad():
        _, one = link(x, generator=torch.Generator().manual_seed(3))
        _, two = link(x.repeat(2, 1, 1, 1), generator=torch.Generator().manual_seed(3))
        _, plain = KnownScramblingLink(Defense(DefenseConfig(), codec), 100.0)(x, generator=torch.Generator())
    torch.testing.assert_close(two[:3], one, atol=1e-3, rtol=0)                     # 100 dB: the key undoes it
    torch.testing.assert_close(two[3:], one, atol=1e-3, rtol=0)
    torch.testing.assert_close(one, plain, atol=1e-3, rtol=0)
    with pytest.raises(ValueError, match="a batch of 4 images for the scrambling of 3"):
        link(torch.rand(4, 1, 28, 28))


@NEEDS_DATA
def test_the_attacker_breaks_the_permuting_scrambling_and_not_the_mixing():
    """32 images, AWGN 10 dB, PSR -10 dB, 10 PGD steps. Measured: permute 0.31 under the clean
    matching attacker against 0.88 under jamming; mix 0.91 against jamming's 0.89 (512 images,
    20 steps: 0.23 vs 0.90 and 0.91 vs 0.91). One image is 3 points here: mix may fall 2 images
    below jamming (the issue's target is 3 points)."""
    from semcom_phy.evaluation.runner import Runner

    cfg = _config([{"attack": "clean"}])
    r = Runner(cfg, torch.device("cpu"))
    acc = lambda lab, attack, **kw: r.cell("awgn", 10, lab, {"attack": attack, "steps": 10, **kw}, -10, 0)  # noqa: E731
    permute, mix = acc("permute", "magnitude_match", obs_snr_db=None), acc("mix", "magnitude_match", obs_snr_db=None)
    jam = {lab: acc(lab, "jamming")["accuracy"] for lab in ("permute", "mix")}
    assert permute["matched"] == 1.0 and mix["matched"] == -1.0
    assert permute["accuracy"] < jam["permute"] - 0.4                               # as if it held the key
    assert mix["accuracy"] >= jam["mix"] - 2 / 32                                   # nothing usable: jamming
