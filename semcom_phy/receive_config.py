"""How the semantic receiver runs (:class:`ReceiveConfig`): torch-free, so scripts build their
options and configs before they import the models. :mod:`semcom_phy.pipeline` runs the receiver
and re-exports it."""

from __future__ import annotations

from dataclasses import dataclass

from .validation import check_field

__all__ = ["PRECISIONS", "ReceiveConfig"]

PRECISIONS = ("float32", "bfloat16")        # the decoder's arithmetic (semcom_phy.semantic.inference.InferenceCodec)


@dataclass(frozen=True)
class ReceiveConfig:
    """How the semantic receiver runs.

    ``batch_samples``: the stream receiver works every this many samples (its batching latency:
    2^16 samples = 32.8 ms at 2 MSPS); ``decode_block``: images per decoder call;
    ``block_wait_s``: how long images short of a whole block wait for more before they are
    decoded in a padded block (the padding is work for nothing when the decoder keeps up);
    ``queue_size``:
    releases of ready images that may wait for the decoder; ``decoder_threads``: torch CPU threads
    of the decoder stage (its thread only; 0: torch's setting; 2, the default, is the fastest on
    2 cores, where the decoder takes what the receiver leaves of its core); ``precision``: the decoder's and
    classifier's arithmetic (:class:`~semcom_phy.semantic.inference.InferenceCodec`; ``bfloat16``
    changes outputs by about 1e-2)."""

    batch_samples: int = 1 << 16
    decode_block: int = 32
    block_wait_s: float = 0.04
    queue_size: int = 16
    decoder_threads: int = 2
    precision: str = "float32"

    def __post_init__(self):
        check_field(self, "batch_samples", 1, 1 << 26, integer=True)
        check_field(self, "decode_block", 1, 4096, integer=True)
        check_field(self, "block_wait_s", 0.0, 10.0)
        check_field(self, "queue_size", 1, 4096, integer=True)
        check_field(self, "decoder_threads", 0, 256, integer=True)
        check_field(self, "precision", choices=PRECISIONS)
