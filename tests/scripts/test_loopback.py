"""The main job, run as a user runs it (a subprocess of the project's Python)."""

import json

import pytest
import torch

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT

pytestmark = pytest.mark.skipif(not DEFAULT_ROOT.exists(),
                                reason="Debian package dataset-fashion-mnist not installed (make setup installs it)")


def test_short_loopback_writes_the_contracted_results(run_script, tmp_path):
    res = run_script("scripts/loopback.py", "--num-images", "16", "--snr", "5", "20", "--out", str(tmp_path / "runs"),
               "--json", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert set(doc) >= {"config", "results"}
    assert [r["snr_db"] for r in doc["results"]] == [5, 20]
    for row in doc["results"]:
        assert {"snr_db", "num_images", "frames_sent", "frames_received", "accuracy", "psnr_db", "ssim",
                "evm_db"} <= set(row)
        assert row["num_images"] == row["frames_sent"] == 16
        assert 0.0 <= row["accuracy"] <= 1.0
    # a good channel delivers every frame and a recognisable image
    assert doc["results"][1]["frames_received"] == 16 and doc["results"][1]["psnr_db"] > 18
    run = next((tmp_path / "runs").iterdir())
    assert {p.name for p in run.iterdir()} >= {"config.yaml", "results.json", "images.png", "curves.png"}
    assert "SNR dB" in res.stdout and "accuracy" in res.stdout


@pytest.mark.parametrize("args, message", [
    (["--num-images", "0"], "argument --num-images: LoopbackConfig.num_images = 0 is out of range: allowed [1, 1000000]"),
    (["--snr", "500"], "argument --snr: LoopbackConfig.snr_db = 500.0 is out of range: allowed [-30, 100]"),
    (["--config", "/nonexistent.yaml"], "--config /nonexistent.yaml: cannot read it"),
    (["--seed", "-1"], "argument --seed: LoopbackConfig.seed = -1 is out of range"),
    (["--weights", "nosuch"], "weights 'nosuch': not a shipped name"),
    (["--channel", "moon"], "invalid choice: 'moon'"),
    (["--data-dir", "/nonexistent"], "apt-get install dataset-fashion-mnist"),
    (["--defense", "latent", "--votes", "3"], "votes = 3: more than one vote needs stochastic=True"),
    (["--defense", "latent", "--nfe", "0"], "nfe = 0"),
    (["--attack", "air", "--psr-db", "40"], "AttackConfig.psr_db = 40.0 is out of range: allowed [-60, 20]"),
    (["--max-inferred", "-1"], "argument --max-inferred: ModemConfig.max_inferred_frames = -1 is out of range: "
                               "allowed [0, 1024]"),
    (["--scramble", "--key", "0xZZ"], "argument --key: '0xZZ' is not an integer (decimal, or hex with 0x)"),
    (["--scramble", "--key", "-5"], "DefenseConfig.key = -5: must be an integer in [0, 2^256)"),
])
def test_bad_arguments_exit_with_a_clear_message(run_script, args, message, tmp_path):
    res = run_script("scripts/loopback.py", *args, "--out", str(tmp_path))
    assert res.returncode == 2
    assert message in res.stderr


@pytest.mark.parametrize("defense", ["receiver", "latent", "image", "advtrain", "advtrain_t1"])
def test_loopback_with_each_defense(run_script, defense, tmp_path):
    res = run_script("scripts/loopback.py",
                     "--num-images", "8", "--snr", "15", "--defense", defense, "--out", str(tmp_path / "runs"),
                     "--json", str(tmp_path / "r.json"), "--no-plot")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["config"]["link"]["defense"]["defense"] == defense
    row = doc["results"][0]
    assert row["frames_received"] == 8 and row["psnr_db"] > 16
    # "classifier on the originals" is the defense's own codec's (image, advtrain* carry their own)
    from semcom_phy.data import load_split, to_tensor
    from semcom_phy.metrics import accuracy
    from semcom_phy.semantic import load_codec

    own = {"image": "codec_image", "advtrain": "codec_advtrain", "advtrain_t1": "codec_advtrain_t1"}.get(defense, "codec")
    test = load_split("test")
    ids = doc["run"]["images"]
    codec = load_codec(own)
    assert doc["run"]["weights"].get("defense_codec", doc["run"]["weights"]["codec"])["name"] == own
    assert doc["clean_accuracy"] == accuracy(codec.classify(to_tensor(test.images[ids])),
                                             torch.from_numpy(test.labels[ids].astype("int64")))


def test_an_attack_on_a_voting_defense_is_crafted_on_its_one_vote_pipeline(run_script, tmp_path):
    res = run_script("scripts/loopback.py", "--num-images", "8", "--snr", "10", "--defense", "receiver", "--stochastic",
                     "--votes", "2", "--attack", "pgd", "--attack-steps", "2", "--out", str(tmp_path / "runs"),
                     "--json", str(tmp_path / "r.json"), "--no-plot")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["config"]["link"]["defense"]["votes"] == 2 and doc["results"][0]["frames_received"] == 8


def test_scrambling_defeats_the_air_attack_on_the_ofdm_link(run_script, tmp_path):
    acc = {}
    for extra in ([], ["--scramble"]):
        res = run_script("scripts/loopback.py", "--num-images", "48", "--snr", "10", "--attack", "air",
                         "--out", str(tmp_path / "runs"), "--json", str(tmp_path / "r.json"), "--no-plot", *extra)
        assert res.returncode == 0, res.stderr
        doc = json.loads((tmp_path / "r.json").read_text())
        assert doc["config"]["link"]["defense"]["scramble"] == bool(extra)
        acc[bool(extra)] = doc["results"][0]["accuracy"]
    assert acc[False] < 0.5 and acc[True] > acc[False] + 0.3


@pytest.mark.gnuradio
def test_loopback_through_gnu_radio_reports_like_the_simulated_link(run_script, tmp_path):
    from semcom_phy.transport.zmq import gnuradio_available

    reason = gnuradio_available()
    if reason:
        pytest.skip(reason)
    res = run_script("scripts/loopback.py",
                     "--link", "gnuradio", "--channel", "multipath", "--snr", "15", "--num-images", "32",
                     "--interleave", "4", "--out", str(tmp_path / "runs"), "--json", str(tmp_path / "r.json"),
                     "--no-plot")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    params = doc["run"]["flowgraph"]["params"]["15"]
    assert params["taps_profile"] == "three_tap" and params["fading"] == 1 and params["epsilon"] != 1.0
    row = doc["results"][0]
    assert row["num_images"] == 32 and row["frames_received"] >= 28 and row["accuracy"] > 0.6
    assert "do not model timing_offset_samples, phase_noise_linewidth_hz" in res.stdout


def test_loopback_over_virtual_plutos_measures_snr_and_cfo(run_script, tmp_path):
    res = run_script("scripts/loopback.py",
                     "--link", "pluto", "--tx-uri", "virtual:a", "--rx-uri", "virtual:b", "--num-images", "32",
                     "--out", str(tmp_path / "runs"), "--json", str(tmp_path / "r.json"), "--no-plot")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    (row,) = doc["results"]
    assert row["frames_received"] == 32 and row["accuracy"] > 0.8
    assert row["snr_db"] == pytest.approx(row["snr_est_db"], abs=0.01)            # over the air: as measured
    assert abs(row["cfo_est_hz"] - 48e3) < 500                                     # 20 ppm at 2.4 GHz
    assert doc["config"]["transport"]["radio"]["tx_uri"] == "virtual:a" and doc["run"]["radio"]["tx_burst"]["clip_rate"] == 0
    assert "CFO 48" in res.stdout


def test_loopback_without_a_radio_names_the_uri_and_exits_2(run_script, tmp_path):
    res = run_script("scripts/loopback.py",
                     "--link", "pluto", "--uri", "usb:99.99.5", "--num-images", "4", "--out", str(tmp_path))
    assert res.returncode == 2
    assert "no PlutoSDR answers at 'usb:99.99.5'" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("script, args, message", [
    ("scripts/loopback.py", ["--out", "FILE"], "--out FILE: is a file, not a folder"),
    ("scripts/loopback.py", ["--json", "DIR"], "--json DIR: is a folder, not a file"),
    ("scripts/record.py", ["--out", "FILE"], "--out FILE: is a file, not a folder"),
    ("scripts/replay.py", ["DIR", "--export", "DIR"], "--export DIR: is a folder, not a file"),
    ("scripts/compare.py", ["FILE", "--out", "DIR"], "--out DIR: is a folder, not a file"),
])
def test_outputs_are_checked_before_any_work(run_script, tmp_path, script, args, message):
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "DIR").mkdir()
    where = {"FILE": str(tmp_path / "FILE"), "DIR": str(tmp_path / "DIR")}
    res = run_script(script, *[where.get(a, a) for a in args], timeout=60)
    shown = message.replace("FILE", where["FILE"]).replace("DIR", where["DIR"])
    assert res.returncode == 2 and shown in res.stderr and "Traceback" not in res.stderr
