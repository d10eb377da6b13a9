"""Semantic codec: JSCC encoder/decoder, classifier, power normalisation, shipped weights.

The names below are imported on first use (PEP 562): ``WEIGHTS_DIR`` (:mod:`.paths`) imports no
torch; the codec and the weight loaders do."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "Classifier": ".codec", "CodecConfig": ".codec", "Decoder": ".codec", "Encoder": ".codec",
    "SemanticCodec": ".codec", "channel_metrics": ".codec", "normalize_power": ".codec", "symbol_channel": ".codec",
    "WEIGHTS_DIR": ".paths",
    "WeightsError": ".weights", "load_codec": ".weights", "pick_device": ".weights", "save_weights": ".weights",
    "sha256_file": ".weights",
})
