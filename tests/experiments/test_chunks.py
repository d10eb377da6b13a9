"""Long runs in constant memory: a run goes through the link a chunk of images at a time, its
metrics summed, its recording one capture segment per chunk, and a replay takes the recording
chunk by chunk to the same rows; beyond 10,000 images the test set repeats."""

import dataclasses
import json

import numpy as np
import pytest

from semcom_phy.data import check_indices, pick_indices
from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.experiments import config as C

needs_data = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


def test_beyond_the_test_set_every_image_repeats_evenly_and_the_seed_names_them():
    pick = pick_indices(25, np.random.default_rng(3), 10)
    counts = np.bincount(pick, minlength=10)
    assert pick.size == 25 and counts.min() == 2 and counts.max() == 3 and (counts == 3).sum() == 5
    assert np.array_equal(pick, pick_indices(25, np.random.default_rng(3), 10))
    small = pick_indices(6, np.random.default_rng(3), 10)               # up to the set's size: distinct, sorted
    assert np.unique(small).size == 6 and np.all(np.diff(small) > 0)
    assert C.LoopbackConfig(num_images=1_000_000).num_images == 1_000_000
    with pytest.raises(ValueError, match=r"num_images = 1000001 is out of range: allowed \[1, 1000000\]"):
        C.LoopbackConfig(num_images=1_000_001)


def test_image_lists_are_checked_for_range_and_repeats():
    assert check_indices([0, 9, 3], 10).dtype == np.int64
    for bad, message in (([], "non-empty"), ([0, 10], r"\[0, 9\]"), ([-1], r"\[0, 9\]"),
                         ([1, 1], "more than 1 time"), ([1.5], "indices")):
        with pytest.raises(ValueError, match=message):
            check_indices(bad, 10)
    check_indices(list(range(10)) + [4], 10)                             # 11 images of 10: one repeat allowed


def test_the_chunk_is_whole_interleaving_groups():
    cfg = C.LoopbackConfig(chunk_images=100, link=C.LinkConfig(interleave=8))
    assert cfg.chunk == 96
    assert C.LoopbackConfig(chunk_images=3, link=C.LinkConfig(interleave=8)).chunk == 8
    with pytest.raises(ValueError, match=r"chunk_images = 0 is out of range: allowed \[1, 65535\]"):
        C.LoopbackConfig(chunk_images=0)


@needs_data
def test_a_chunked_run_records_one_segment_per_chunk_and_replays_to_the_same_row(tmp_path):
    """Scrambled, a stochastic sender, jamming: the key's image index, the sender's and the
    receiver's draws and the sequence numbers carry on from chunk to chunk, live and replayed."""
    from semcom_phy.experiments.loopback import run_loopback
    from semcom_phy.experiments.replay import replay
    from semcom_phy.purify import DefenseConfig

    defense = DefenseConfig("latent", sender_step=100, scramble=True, key=1234)
    cfg = C.LoopbackConfig(num_images=40, chunk_images=16, snr_db=(12.0,), device="cpu", record=str(tmp_path),
                           link=C.LinkConfig(interleave=4, defense=defense),
                           attack=C.AttackConfig("jamming", psr_db=-15.0))
    live = run_loopback(cfg, log=lambda *_: None)
    (row,) = live.rows
    assert row["num_images"] == row["frames_sent"] == 40 and row["frames_received"] == 40
    (path,) = tmp_path.glob("*-rx.sigmf-meta")
    meta = json.loads(path.read_text())
    segs = [(c["semcom:first_image"], c["semcom:first_seq"], c["semcom:images"]) for c in meta["captures"]]
    assert segs == [(0, 0, 16), (16, 16, 16), (32, 32, 8)]
    starts = [a["core:sample_start"] for a in meta["annotations"]]
    assert len(starts) == 40 and starts == sorted(starts)
    assert sorted(a["semcom:seq"] for a in meta["annotations"]) == list(range(40))

    (again,) = replay(tmp_path, key=1234, device="cpu").rows
    for key in ("frames_received", "images_lost", "accuracy", "psnr_db", "ssim", "evm_db", "evm_mmse_db",
                "snr_est_db", "cfo_est_hz"):
        assert again[key] == row[key], key
    assert row["accuracy"] > 0.5                                     # decoded, not blank: the key was right


@needs_data
def test_chunks_do_not_change_what_a_clean_link_delivers():
    from semcom_phy.experiments.loopback import run_loopback

    cfg = C.LoopbackConfig(num_images=48, snr_db=(40.0,), device="cpu", link=C.LinkConfig(interleave=4))
    whole = run_loopback(cfg, log=lambda *_: None)
    chunked = run_loopback(dataclasses.replace(cfg, chunk_images=16), log=lambda *_: None)
    a, b = whole.rows[0], chunked.rows[0]
    assert a["frames_received"] == b["frames_received"] == 48
    assert a["accuracy"] == b["accuracy"] and b["psnr_db"] == pytest.approx(a["psnr_db"], abs=0.05)
    assert whole.clean_accuracy == chunked.clean_accuracy
    assert whole.run["chunk_images"] == 512 and chunked.run["chunk_images"] == 16


def test_segments_that_do_not_continue_the_run_are_refused():
    from semcom_phy.experiments.replay import segments
    from semcom_phy.io.sigmf_io import RecordingError

    good = [{"core:sample_start": 0, "semcom:first_image": 0, "semcom:first_seq": 0, "semcom:images": 16},
            {"core:sample_start": 500, "semcom:first_image": 16, "semcom:first_seq": 16, "semcom:images": 8}]
    assert segments(good, 900, 24) == [(0, 500, 0, 0, 0, 16), (500, 900, 16, 16, 16, 8)]
    assert segments([{"core:sample_start": 0}], 900, 24) == [(0, 900, 0, 0, 0, 24)]       # one run in one go
    gap = [good[0], {**good[1], "semcom:first_image": 20}]
    with pytest.raises(RecordingError, match="do not continue"):
        segments(gap, 900, 24)
    with pytest.raises(RecordingError, match="carry 24 images, the run sent 30"):
        segments(good, 900, 30)
