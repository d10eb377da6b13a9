"""The receiver pipeline: the same outputs as the batch receiver, a bounded queue, errors that
reach the caller, nothing lost (behaviour only; its speed is scripts/bench_link.py's)."""

import threading
import time

import numpy as np
import pytest
import torch

from semcom_phy.config import ChannelConfig, OfdmConfig
from semcom_phy.link import LOST_NOISE_VAR, ImageAssembler, SemanticLink
from semcom_phy.phy import ReceivedFrame
from semcom_phy.pipeline import ReceiveConfig, ReceivePipeline
from semcom_phy.purify import Defense, DefenseConfig, load_defense
from semcom_phy.semantic import CodecConfig, SemanticCodec, load_codec
from semcom_phy.semantic.inference import InferenceCodec
from semcom_phy.transport import SimTransport

from test_link import DropEveryThird


def _codec():
    with torch.random.fork_rng():
        torch.manual_seed(1)
        return SemanticCodec(CodecConfig()).eval()


def _frame(seq: int, k: int = 4) -> ReceivedFrame:
    return ReceivedFrame(seq, "analog", 0, np.full(k, seq + 1j, np.complex64), np.full(k, 0.1, np.float32),
                         10.0, 0.0, 0.0, 0.1, np.zeros(52, np.complex64))


def _same(a, b):
    assert torch.equal(a.x_hat, b.x_hat) and torch.equal(a.logits, b.logits)
    for name in ("z_hat", "no_eff", "symbol_received"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.frames_received == b.frames_received


@pytest.mark.parametrize("scramble", [False, True])
def test_pipelined_link_equals_the_batch_receiver_on_its_frames_however_the_stream_is_batched(scramble):
    codec, x = _codec(), torch.rand(40, 1, 28, 28)
    defense = Defense(DefenseConfig(scramble=scramble, key=3), codec)
    outs = []
    for batch in (1, 1 << 11, 1 << 19):
        link = SemanticLink(codec, DropEveryThird(), defense=defense, interleave=3,
                            receive=ReceiveConfig(batch_samples=batch, decode_block=8, queue_size=2))
        outs.append(link.run(x))
        _same(outs[-1], link.receive(outs[-1].z, outs[-1].frames, outs[-1].stats))
    for out in outs[1:]:                      # the stream receiver's no_eff may differ in its last bit
        assert out.frames_received == outs[0].frames_received
        torch.testing.assert_close(out.x_hat, outs[0].x_hat, atol=1e-6, rtol=0)
        torch.testing.assert_close(out.logits, outs[0].logits, atol=1e-5, rtol=0)
    out = outs[0]
    assert out.frames_received == 27 and out.received.all()                 # every third frame lost, no image
    assert out.pipeline.images_decoded == 40 and out.pipeline.max_queue <= 2
    # and what today's decoder (the codec itself, all images at once) makes of the same symbols
    with torch.no_grad():
        x_ref = codec.decode(torch.from_numpy(out.z_hat), torch.from_numpy(out.no_eff))
        logits = codec.classify(x_ref)
    torch.testing.assert_close(out.x_hat, x_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.logits, logits, atol=1e-4, rtol=0)
    assert torch.equal(out.logits.argmax(1), logits.argmax(1))


def test_lost_images_are_blank_and_scored_through_the_pipeline():
    codec, x = _codec(), torch.rand(9, 1, 28, 28)
    out = SemanticLink(codec, DropEveryThird(), receive=ReceiveConfig(decode_block=4)).run(x)
    assert out.received.tolist() == [True, True, False] * 3
    assert float(out.x_hat[~torch.from_numpy(out.received)].abs().max()) == 0.0
    assert (out.no_eff[~out.received] == LOST_NOISE_VAR).all()


def test_a_defense_that_draws_decodes_once_at_the_end_and_a_replay_repeats_its_draws():
    codec = load_codec()
    defense = load_defense(DefenseConfig("latent", stochastic=True, votes=2), codec)
    assert defense.draws_at_receiver and not Defense(DefenseConfig(), codec).draws_at_receiver
    x = torch.rand(12, 1, 28, 28)
    ofdm = OfdmConfig()

    def link(transport=None):
        return SemanticLink(codec, transport, ofdm, defense=defense, generator=torch.Generator().manual_seed(4),
                            interleave=4, receive=ReceiveConfig(batch_samples=1 << 10, decode_block=3))

    with SimTransport(ChannelConfig(snr_db=10.0), ofdm, np.random.default_rng(0)) as t:
        out = link(t).run(x)
    assert out.pipeline.decoder_calls == 1 and out.pipeline.images_decoded == 12 and out.pipeline.images_padded == 0
    _same(out, link().receive(out.z, out.frames, out.stats))               # the replay's draws are the run's


def test_inference_codec_matches_the_codec():
    codec = load_codec()
    z = torch.randn(10, 128, dtype=torch.complex64)
    no = torch.rand(10, 128) * 0.3
    with torch.no_grad():
        x_ref = codec.decode(z, no)
        logits = codec.classify(x_ref)
    fast = InferenceCodec(codec)
    torch.testing.assert_close(fast.decode(z, no), x_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast.classify(x_ref), logits, atol=1e-4, rtol=0)
    half = InferenceCodec(codec, "bfloat16")
    x_half = half.decode(z, no)
    assert x_half.dtype == torch.float32 and float((x_half - x_ref).abs().mean()) < 2e-2
    with pytest.raises(ValueError, match="precision"):
        InferenceCodec(codec, "int4")


def test_assembler_releases_whole_groups_then_the_ones_a_gap_has_passed_and_again_for_late_frames():
    a = ImageAssembler(7, 4, first=100, interleave=3, horizon=2)          # groups 0-2, 3-5, 6
    assert a.add([_frame(100), _frame(101)]).tolist() == []
    assert a.add([_frame(102), _frame(104)]).tolist() == [0, 1, 2]          # group 0 complete
    assert a.add([_frame(106)]).tolist() == [6]                             # 6 alone; group 1 waits for 103/105
    assert a.add([_frame(100 + 0xFFFF), _frame(200)]).tolist() == []        # not this run's frames
    a.horizon = 1
    assert a.add([]).tolist() == [3, 4, 5]                                  # frame 106 is one past group 1
    assert a.add([_frame(103), _frame(103)]).tolist() == [3, 4, 5]          # a late frame: decode it again
    assert a.rest().tolist() == [] and a.frame_ok.sum() == 6
    assert a.got.sum(1).tolist() == [4, 4, 4, 3, 2, 3, 4]                   # group 1 lacks its third frame


def test_the_queue_is_bounded_and_every_image_is_decoded_once_per_release():
    a = ImageAssembler(64, 4, first=0, interleave=1, horizon=1)
    seen, inflight = [], threading.Lock()

    def slow(rows):
        with inflight:
            time.sleep(0.005)
            seen.append(rows.copy())

    with ReceivePipeline(slow, a, ReceiveConfig(decode_block=4, queue_size=2)) as p:
        for s in range(64):
            p.add([_frame(s)])
        p.finish()
    assert p.stats.max_queue <= 2
    rows = np.concatenate(seen)
    assert all(r.size == 4 for r in seen) and sorted(set(rows.tolist())) == list(range(64))
    assert rows.size - p.stats.images_padded == 64 == p.stats.images_decoded


def test_images_short_of_a_block_wait_for_more_then_go_padded():
    seen = []
    cfg = ReceiveConfig(decode_block=4, block_wait_s=0.2)
    with ReceivePipeline(lambda rows: seen.append(rows.copy()), ImageAssembler(9, 4, 0, 1, 1), cfg) as p:
        for s in range(3):
            p.add([_frame(s)])
        time.sleep(0.05)
        assert seen == []                                  # three rows wait for a fourth
        p.add([_frame(3), _frame(4)])
        time.sleep(0.05)
        assert [r.tolist() for r in seen] == [[0, 1, 2, 3]]
        time.sleep(0.5)                                    # row 4 waits no longer than block_wait_s
        assert [r.tolist() for r in seen[1:]] == [[4, 4, 4, 4]]
        p.add([_frame(s) for s in range(5, 9)])
        p.finish()
    assert [r.tolist() for r in seen[2:]] == [[5, 6, 7, 8]]
    assert (p.stats.images_decoded, p.stats.images_padded, p.stats.decoder_calls) == (9, 3, 3)


def test_a_decoder_error_reaches_the_caller_and_stops_the_worker():
    def broken(rows):
        raise RuntimeError("decoder on fire")

    p = ReceivePipeline(broken, ImageAssembler(8, 4, 0, 1, 1), ReceiveConfig(queue_size=1))
    with pytest.raises(RuntimeError, match="decoder on fire"):
        with p:
            for s in range(8):
                p.add([_frame(s)])
                time.sleep(0.01)
            p.finish()
    assert not p._worker.is_alive()


def test_leaving_early_stops_the_worker_and_thread_settings_stay_in_it():
    threads = torch.get_num_threads()
    release = threading.Event()
    p = ReceivePipeline(lambda rows: release.wait(5), ImageAssembler(8, 4, 0, 1, 1),
                        ReceiveConfig(queue_size=1, decoder_threads=1))
    with pytest.raises(KeyboardInterrupt):
        with p:
            p.add([_frame(0)])
            release.set()
            raise KeyboardInterrupt
    assert not p._worker.is_alive() and torch.get_num_threads() == threads


def test_receive_config_is_validated():
    with pytest.raises(ValueError, match="batch_samples"):
        ReceiveConfig(batch_samples=0)
    with pytest.raises(ValueError, match="precision"):
        ReceiveConfig(precision="float16")
    with pytest.raises(ValueError, match="block_wait_s"):
        ReceiveConfig(block_wait_s=-1.0)
