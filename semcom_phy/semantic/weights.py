"""Shipped weights: ``semcom_phy/weights/<name>.pt`` with a manifest ``<name>.json``.

The manifest records the SHA-256 of the weights file, the model config, how it was trained
(command, seed, data checksums) and its final metrics. Loading checks the SHA-256 first and then
reads the tensors with ``torch.load(..., weights_only=True)``: a modified or truncated file is
rejected, never unpickled.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from .codec import CodecConfig, SemanticCodec
from .paths import (WEIGHTS_DIR, WeightsError, add_training_options, read_manifest,  # noqa: F401 (re-exported)
                    resolve_manifest)


def pick_device(name: str = "auto", threads: int = 0) -> torch.device:
    """``auto`` (CUDA when available), ``cpu`` or ``cuda``; ValueError when CUDA is asked for but absent.
    ``threads`` > 0 also sets torch's CPU threads (the scripts' ``--threads``; 0 keeps torch's default,
    a negative count is a ValueError)."""
    if threads < 0:
        raise ValueError(f"threads {threads}: must be >= 0 (0: torch's default)")
    if threads:
        torch.set_num_threads(threads)
    if name not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device {name!r}: allowed values are 'auto', 'cpu', 'cuda'")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda': no CUDA device is available (install a CUDA build of torch)")
    return torch.device("cuda" if name == "auto" and torch.cuda.is_available() else
                        ("cpu" if name == "auto" else name))


def training_device(ap, args) -> torch.device:
    """:func:`pick_device` for the options of :func:`add_training_options`, or the parser's error."""
    try:
        return pick_device(args.device, args.threads)
    except ValueError as err:
        ap.error(str(err))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_state(manifest_path: Path, map_location="cpu") -> tuple[dict, dict]:
    """(manifest, state_dict) after checking the weights' SHA-256 against the manifest."""
    manifest = read_manifest(manifest_path)
    weights = Path(manifest_path).parent / manifest["file"]
    if not weights.is_file():
        raise WeightsError(f"weights file {weights} (named in {manifest_path}) not found")
    digest = sha256_file(weights)
    if digest != manifest["sha256"]:
        raise WeightsError(f"{weights}: SHA-256 {digest[:16]}... does not match the manifest's "
                           f"{manifest['sha256'][:16]}...: the file is modified or corrupted")
    try:
        return manifest, torch.load(weights, map_location=map_location, weights_only=True)
    except Exception as err:                     # a file whose hash matches a broken manifest: unreadable
        raise WeightsError(f"{weights}: not readable as weights ({str(err).splitlines()[0]}); its manifest's "
                           "SHA-256 names this very file, so the manifest was made for a broken file") from None


def load_model(manifest_path: str | Path, build, trainer: str, map_location="cpu") -> tuple[dict, torch.nn.Module]:
    """(manifest, model in eval mode on ``map_location``): ``build(manifest)`` makes the module, the
    checked state dict (:func:`load_state`) fills it; weights of another shape name ``trainer``."""
    manifest, state = load_state(Path(manifest_path), map_location=map_location)
    try:
        model = build(manifest)
    except (KeyError, TypeError, ValueError) as err:
        raise WeightsError(f"{manifest_path}: its config does not build the model ({err!r}; retrain with {trainer})") \
            from None
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise WeightsError(f"{manifest_path}: the weights do not fit the current model (retrain with "
                           f"{trainer}): {str(err).splitlines()[0]}") from err
    return manifest, model.to(map_location).eval()


def load_codec(manifest_path: str | Path | None = None, device: str | torch.device = "cpu") -> SemanticCodec:
    """The trained codec (eval mode) from a manifest path or a shipped name (``"codec"``), by
    default the shipped ``codec.json``; ``codec.sha256`` and ``codec.name`` (the manifest's stem)
    name it in results and recordings."""
    path = resolve_manifest(manifest_path or "codec")
    manifest, codec = load_model(path, lambda m: SemanticCodec(CodecConfig(**m["config"])), "scripts/train_codec.py",
                                 device)
    codec.sha256 = manifest["sha256"]          # names the codec whose symbols a latent denoiser knows
    codec.name = path.stem
    return codec


def find_manifest(sha256: str, name: str | None = None, folder: str | Path | None = None) -> Path:
    """The manifest in ``folder`` (default: the installed weights) whose weights have this SHA-256:
    how a recording names its models, without a path. WeightsError naming the hash (and the name it
    was recorded under) when none has it."""
    folder = Path(folder or WEIGHTS_DIR)
    candidates = sorted(folder.glob("*.json"), key=lambda p: p.stem != name)    # the recorded name first
    for path in candidates:
        try:
            if json.loads(path.read_text()).get("sha256") == sha256:
                return path
        except (OSError, json.JSONDecodeError, AttributeError):
            continue
    raise WeightsError(f"no installed weights have SHA-256 {sha256} (recorded as {name!r}) in {folder}: install "
                       "the semcom_phy version that made the recording, or copy its manifest and weights there")


def run_record(script: str, args, argv, device, t0: float) -> dict:
    """The manifest fields every training script records: the exact command, its arguments (but
    ``out``), torch version, device and elapsed seconds since ``t0`` (``time.time()``)."""
    import sys
    import time

    def plain(v):
        return v.to_dict() if hasattr(v, "to_dict") else str(v) if isinstance(v, Path) else v

    return {"command": f"python {script} " + " ".join(sys.argv[1:] if argv is None else argv),
            "training": {k: plain(v) for k, v in vars(args).items() if k != "out"},
            "torch": torch.__version__, "device": str(device), "elapsed_s": round(time.time() - t0, 1)}


def codec_summary(metrics: dict) -> str:
    """One line of a codec's :func:`~semcom_phy.semantic.codec.channel_metrics`."""
    a = metrics["awgn"]
    return f"clean accuracy {a['clean_accuracy']:.4f}; AWGN " + ", ".join(
        f"{s}: acc {a[f'snr_{s}']['accuracy']:.3f} PSNR {a[f'snr_{s}']['psnr_db']:.2f}" for s in (0, 5, 10, 20))


def save_weights(model: torch.nn.Module, out_dir: Path, name: str, manifest: dict) -> Path:
    """Write ``<name>.pt`` and ``<name>.json`` (manifest + file name + SHA-256); returns the manifest path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{name}.pt"
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, weights)
    manifest = {"file": weights.name, "sha256": sha256_file(weights), **manifest}
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path
