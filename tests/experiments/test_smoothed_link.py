"""``--defense smoothed`` on the live link: PREDICT with abstention at the receiver of the loopback
(simulated channel, GNU Radio's flowgraph, the virtual Pluto), its recordings replayed, and its
options checked before any work."""

import json

import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.experiments import config as C

needs_data = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")
SMOOTHED = ["--defense", "smoothed", "--sigma-r", "0.25", "--votes", "16"]


def _quiet(*_):
    pass


@needs_data
def test_a_smoothed_loopback_reports_its_abstentions_and_replays_draw_for_draw(tmp_path):
    from semcom_phy.experiments.loopback import run_loopback
    from semcom_phy.experiments.replay import replay

    def cfg(defense, **kw):
        return C.LoopbackConfig(num_images=16, snr_db=(10.0,), device="cpu", link=C.LinkConfig(defense=defense), **kw)

    (plain,) = run_loopback(cfg(C.DefenseConfig()), log=_quiet).rows
    live = run_loopback(cfg(C.DefenseConfig("smoothed", sigma_r=0.1, votes=32), record=str(tmp_path)), log=_quiet)
    (row,) = live.rows
    assert plain["images_abstained"] == 0 and plain["abstain_rate"] == 0.0
    assert row["frames_received"] == 16 and 0 <= row["images_abstained"] <= 2
    assert row["abstain_rate"] == row["images_abstained"] / 16
    assert abs(row["accuracy"] - plain["accuracy"]) <= 2 / 16            # little smoothing noise: the plain link
    assert row["psnr_db"] == pytest.approx(plain["psnr_db"], abs=1e-6)    # x_hat: the decoder at z_hat itself
    doc = live.document()
    assert {k: doc["config"]["link"]["defense"][k] for k in ("defense", "sigma_r", "votes", "alpha")} == \
        {"defense": "smoothed", "sigma_r": 0.1, "votes": 32, "alpha": 0.001}
    table = live.table()
    assert "smoothed (sigma_r 0.1, 32 votes, alpha 0.001)" in table and "abstained" in table.splitlines()[1]
    # the recording names the smoothed defense and replays with it, the receiver's draws repeated
    (path,) = tmp_path.glob("*-rx.sigmf-meta")
    assert json.loads(path.read_text())["global"]["semcom:config"]["config"]["link"]["defense"]["sigma_r"] == 0.1
    result = replay(tmp_path, device="cpu")
    (again,) = result.rows
    for key in ("frames_received", "accuracy", "images_abstained", "abstain_rate", "psnr_db"):
        assert again[key] == row[key], key
    assert again["defense"] == "smoothed" and "abstained" in result.table().splitlines()[0]


@needs_data
def test_an_air_attack_on_the_smoothed_link_is_crafted_through_its_base_classifier():
    from semcom_phy.experiments.loopback import run_loopback

    cfg = C.LoopbackConfig(num_images=8, snr_db=(10.0,), device="cpu",
                           link=C.LinkConfig(defense=C.DefenseConfig("smoothed", sigma_r=0.25, votes=16)),
                           attack=C.AttackConfig("air", psr_db=-10.0, steps=2))
    (row,) = run_loopback(cfg, log=_quiet).rows
    assert row["attack"] == "air-10dB" and row["frames_received"] == 8 and 0 <= row["images_abstained"] <= 8


@pytest.mark.parametrize("args, message", [
    (["--defense", "smoothed", "--sigma-r", "0"], "argument --sigma-r: DefenseConfig.sigma_r = 0.0 is out of range: "
                                                  "allowed (0, 10]"),
    (["--defense", "smoothed", "--sigma-r", "11"], "DefenseConfig.sigma_r = 11.0 is out of range: allowed (0, 10]"),
    (["--defense", "smoothed", "--alpha", "0.7"], "argument --alpha: DefenseConfig.alpha = 0.7 is out of range: "
                                                  "allowed (0, 0.5]"),
    (["--defense", "smoothed", "--votes", "100001"], "argument --votes: DefenseConfig.votes = 100001 is out of range: "
                                                     "allowed [2, 100000] for defense 'smoothed'"),
    (["--defense", "none", "--votes", "1000"], "argument --votes: DefenseConfig.votes = 1000 is out of range: "
                                               "allowed [1, 64] for defense 'none'"),
])
def test_bad_smoothing_options_are_one_line_and_exit_2(run_script, tmp_path, args, message):
    res = run_script("scripts/loopback.py", *args, "--out", str(tmp_path), timeout=60)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr


def test_help_explains_both_meanings_of_votes(run_script):
    res = run_script("scripts/loopback.py", "--help", timeout=60)
    text = " ".join(res.stdout.split())
    assert res.returncode == 0 and "--sigma-r SIGMA" in text and "--alpha" in text
    assert "purifications, majority vote (1..64, needs --stochastic)" in text
    assert "with --defense smoothed PREDICT's draws of the smoothing noise (2..100000" in text


def _smoothed_run(run_script, tmp_path, script, *args):
    res = run_script(script, *args, *SMOOTHED, "--num-images", "16", "--out", str(tmp_path / "runs"),
                     "--json", str(tmp_path / "r.json"), "--no-plot")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["config"]["link"]["defense"]["defense"] == "smoothed" and doc["config"]["link"]["defense"]["votes"] == 16
    (row,) = doc["results"]
    assert "abstained" in res.stdout and row["abstain_rate"] == row["images_abstained"] / 16
    return row


@needs_data
@pytest.mark.gnuradio
def test_the_smoothed_receiver_runs_over_the_gnu_radio_flowgraph(run_script, tmp_path):
    from semcom_phy.transport.zmq import gnuradio_available

    reason = gnuradio_available()
    if reason:
        pytest.skip(reason)
    row = _smoothed_run(run_script, tmp_path, "scripts/loopback.py", "--link", "flowgraph", "--snr", "15")
    assert row["frames_received"] == 16 and row["accuracy"] > 0.6 and row["images_abstained"] <= 3


@needs_data
def test_the_smoothed_receiver_runs_over_the_virtual_pluto(run_script, tmp_path):
    row = _smoothed_run(run_script, tmp_path, "scripts/ota.py", "--preset", "virtual")
    assert row["frames_received"] == 16 and row["accuracy"] > 0.6 and row["images_abstained"] <= 3
