"""The smoothed receiver as a defense of the link (``DefenseConfig("smoothed")``): its config, its
PREDICT decode against :func:`semcom_phy.certify.smoothing.predict`, and the abstentions the
link's metrics count."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from semcom_phy.certify.receivers import SmoothedReceiver
from semcom_phy.certify.smoothing import ABSTAIN, predict
from semcom_phy.config import from_dict, to_dict
from semcom_phy.experiments import config as C
from semcom_phy.link import LinkOutput, RunMetrics
from semcom_phy.phy import ReceiverStats
from semcom_phy.purify import Defense, DefenseConfig
from semcom_phy.purify.defense import SMOOTHED_BATCH
from semcom_phy.semantic import load_codec


def test_smoothed_config_defaults_and_the_votes_range_of_each_defense():
    d = DefenseConfig("smoothed")
    assert (d.sigma_r, d.alpha, d.votes) == (1.0, 0.001, 1000)          # votes left at 1: 1000 PREDICT draws
    assert DefenseConfig("smoothed", votes=7).votes == 7 and DefenseConfig("smoothed", votes=100_000).votes == 100_000
    assert DefenseConfig().votes == 1 and dataclasses.replace(DefenseConfig(), defense="smoothed").votes == 1000
    assert d.evaluations_per_image == 0                                 # no denoiser
    assert DefenseConfig("smoothed", votes=5).votes == 5               # no stochastic needed: its own noise
    for kw, message in [
        (dict(defense="smoothed", votes=0), "DefenseConfig.votes = 0 is out of range: allowed [2, 100000] for defense "
                                            "'smoothed'"),
        (dict(defense="smoothed", votes=100_001), "DefenseConfig.votes = 100001 is out of range: allowed [2, 100000]"),
        (dict(defense="none", votes=65), "DefenseConfig.votes = 65 is out of range: allowed [1, 64] for defense 'none'"),
        (dict(defense="receiver", stochastic=True, votes=1000), "allowed [1, 64] for defense 'receiver'"),
        (dict(defense="latent", votes=3), "votes = 3: more than one vote needs stochastic=True"),
        (dict(defense="smoothed", votes=True), "DefenseConfig.votes = True: must be an integer"),
        (dict(defense="smoothed", votes=2.5), "DefenseConfig.votes = 2.5: must be an integer"),
        (dict(sigma_r=0.0), "DefenseConfig.sigma_r = 0.0 is out of range: allowed (0, 10]"),
        (dict(sigma_r=10.5), "DefenseConfig.sigma_r = 10.5 is out of range: allowed (0, 10]"),
        (dict(sigma_r=math.nan), "DefenseConfig.sigma_r = nan: must be a finite number in (0, 10]"),
        (dict(alpha=0.0), "DefenseConfig.alpha = 0.0 is out of range: allowed (0, 0.5]"),
        (dict(alpha=0.6), "DefenseConfig.alpha = 0.6 is out of range: allowed (0, 0.5]"),
    ]:
        with pytest.raises(ValueError) as err:
            DefenseConfig(**kw)
        assert message in str(err.value), kw


def test_smoothed_configs_round_trip_and_old_configs_without_the_new_fields_load():
    d = DefenseConfig("smoothed", sigma_r=0.25, alpha=0.01, votes=300, scramble=True, key=77)
    data = to_dict(d)
    assert (data["sigma_r"], data["alpha"], data["votes"]) == (0.25, 0.01, 300) and "key" not in data
    assert from_dict(DefenseConfig, {**data, "key": 77}) == d
    assert from_dict(DefenseConfig, to_dict(DefenseConfig("smoothed"))).votes == 1000
    assert from_dict(DefenseConfig, {"defense": "smoothed"}) == DefenseConfig("smoothed")
    # a config or recording written before the smoothed defense: no sigma_r, no alpha
    for old in (DefenseConfig(), DefenseConfig("receiver", stochastic=True, votes=3), DefenseConfig("median")):
        data = {k: v for k, v in to_dict(old).items() if k not in ("sigma_r", "alpha")}
        assert from_dict(DefenseConfig, data) == old
    lb = C.LoopbackConfig(link=C.LinkConfig(defense=DefenseConfig("smoothed", sigma_r=0.5, votes=64)))
    assert C.load(C.LoopbackConfig, C.dump(lb)) == lb
    assert C.load(C.LoopbackConfig, {"link": {"defense": {"defense": "smoothed"}}}).link.defense.votes == 1000


@pytest.fixture(scope="module")
def received():
    """The shipped codec and 6 images' symbols through AWGN at 10 dB: (codec, z_hat, no_eff)."""
    codec = load_codec("codec", "cpu")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 28, 28, generator=g)
    with torch.no_grad():
        z = codec.encode(x)
    no_eff = torch.full(z.shape, 0.1)
    noise = torch.complex(torch.randn(z.shape, generator=g), torch.randn(z.shape, generator=g)) * math.sqrt(0.05)
    return codec, z + noise, no_eff


def test_the_smoothed_decode_is_predict_on_the_noise_aware_decoder(received):
    codec, z_hat, no_eff = received
    d = Defense(DefenseConfig("smoothed", sigma_r=0.5, votes=200, alpha=0.01), codec).for_inference()
    x_hat, scores = d.decode(z_hat, no_eff, torch.Generator().manual_seed(5))
    ref = predict(SmoothedReceiver(Defense(DefenseConfig(), codec), 0.5), z_hat, 0.5, 200, 0.01, SMOOTHED_BATCH,
                  torch.Generator().manual_seed(5), side=no_eff)
    assert torch.equal(d.predictions(scores), ref.prediction)
    ok = ref.prediction != ABSTAIN
    assert torch.equal(scores[ok], ref.counts[ok].float())                  # the votes, as counted
    assert torch.equal(scores[~ok] + 201, ref.counts[~ok].float())          # shifted below 0 where abstained
    # the reconstruction is the plain receiver's: the decoder at z_hat with the channel's no_eff
    with torch.no_grad():
        assert torch.allclose(x_hat, codec.decode(z_hat, no_eff), atol=1e-5)
    assert d.draws_at_receiver


def test_the_smoothed_decode_abstains_when_the_votes_split(received):
    codec, z_hat, no_eff = received
    # sigma_r 2 (noise 6 dB above the symbols' unit power): the 20 draws split between classes and no top two counts pass the test at alpha 0.001
    split = Defense(DefenseConfig("smoothed", sigma_r=2.0, votes=20), codec).for_inference()
    _, scores = split.decode(z_hat, no_eff, torch.Generator().manual_seed(1))
    assert (split.predictions(scores) == ABSTAIN).all() and (scores < 0).all()
    counts = scores + 21
    assert torch.equal(counts.sum(1), torch.full((6,), 20.0)) and (counts.amax(1) <= 15).all()   # split votes
    # little noise: every draw agrees with the plain receiver, and PREDICT returns its class
    tight = Defense(DefenseConfig("smoothed", sigma_r=0.01, votes=20), codec).for_inference()
    _, scores = tight.decode(z_hat, no_eff, torch.Generator().manual_seed(1))
    with torch.no_grad():
        plain = codec.classify(codec.decode(z_hat, no_eff)).argmax(-1)
    assert torch.equal(tight.predictions(scores), plain) and torch.equal(scores.amax(1), torch.full((6,), 20.0))


def test_the_vote_has_no_gradient_and_attacks_go_through_one_base_classifier_draw(received):
    codec, z_hat, no_eff = received
    d = Defense(DefenseConfig("smoothed", sigma_r=0.5, votes=10), codec)
    z = z_hat.clone().requires_grad_()
    with pytest.raises(ValueError, match="single_vote"):
        d.decode(z, no_eff)
    with pytest.raises(ValueError, match="single_vote"), torch.no_grad():
        d.decode(z_hat, no_eff, bpda=True)
    one = d.single_vote()
    assert one.votes == 1 and d.votes == 10 and one.cfg == d.cfg
    x_hat, logits = one.decode(z, no_eff, torch.Generator().manual_seed(2))
    logits.sum().backward()
    assert logits.shape == (6, 10) and z.grad is not None and torch.isfinite(z.grad).all()
    # one draw: the noise-aware decoder on z_hat + CN(0, sigma_r^2), told no_eff + sigma_r^2
    from semcom_phy.certify.smoothing import smoothing_noise

    eps = smoothing_noise(tuple(z_hat.shape), 0.5, torch.Generator().manual_seed(2), "cpu")
    with torch.no_grad():
        assert torch.allclose(logits, codec.classify(codec.decode(z_hat + eps, no_eff + 0.25)), atol=1e-5)
    assert torch.equal(one.predictions(logits), logits.argmax(-1))


def test_run_metrics_count_abstentions_as_wrong_and_lost_images_as_lost():
    b, k = 4, 8
    got = np.ones((b, k), bool)
    got[3] = False                                                       # image 3 is lost
    out = LinkOutput(z=np.ones((b, k), np.complex64), z_hat=np.ones((b, k), np.complex64),
                     no_eff=np.full((b, k), 0.1, np.float32), symbol_received=got, frames_received=3,
                     x_hat=torch.zeros(b, 1, 28, 28), logits=torch.zeros(b, 10), frames=[], stats=ReceiverStats(),
                     prediction=torch.tensor([2, ABSTAIN, 5, ABSTAIN]))
    m = RunMetrics().add(out, torch.zeros(b, 1, 28, 28), torch.tensor([2, 1, 4, 3])).result()
    assert (m["images_abstained"], m["abstain_rate"], m["accuracy"], m["images_lost"]) == (1, 0.25, 0.25, 1)
    plain = dataclasses.replace(out, prediction=None, logits=torch.eye(10)[[2, 1, 4, 3]])
    m = RunMetrics().add(plain, torch.zeros(b, 1, 28, 28), torch.tensor([2, 1, 4, 3])).result()
    assert (m["images_abstained"], m["abstain_rate"], m["accuracy"]) == (0, 0.0, 0.75)


def test_the_robustness_evaluation_refuses_the_smoothed_receiver_by_name():
    from semcom_phy.evaluation.config import defense_config

    with pytest.raises(ValueError, match="defense 'smoothed'.*scripts/certify.py"):
        defense_config({"label": "s", "defense": "smoothed"})
