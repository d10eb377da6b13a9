"""Semantic codec: JSCC encoder/decoder, classifier, power normalisation, shipped weights."""

from .codec import (Classifier, CodecConfig, Decoder, Encoder, SemanticCodec, channel_metrics, normalize_power,
                    symbol_channel)
from .weights import WEIGHTS_DIR, WeightsError, load_codec, pick_device, save_weights, sha256_file

__all__ = ["Classifier", "CodecConfig", "Decoder", "Encoder", "SemanticCodec", "channel_metrics", "normalize_power",
           "symbol_channel", "WEIGHTS_DIR", "WeightsError", "load_codec", "pick_device", "save_weights", "sha256_file"]
