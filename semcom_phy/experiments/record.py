"""Record an IQ dataset: the loopback once per channel profile and attack, every run's TX and RX
streams as SigMF.

Each SNR point of each loopback (or the one over-the-air run) gives
``<link>_<channel>_<snr>dB[_<attack>]-tx`` and ``-rx`` recordings (``cf32_le``, one annotation per
frame with its sequence number, test-image indices, labels, configured SNR, measured SNR, CFO and
SFO on the RX side, the defense and the attack with its budget). The folder also gets
``index.csv`` (file, stream, link, channel, SNR, attack, frames, samples, SHA-512) and
``<folder>.sigmf-collection``, a SigMF Collection naming every recording with the SHA-512 of its
metadata, so SigMF tools see one dataset, and ``config.yaml``, the resolved sweep (``--config``
takes it back); the loopbacks' own results go to ``<folder>/runs/``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from . import config as C
from .loopback import run_tags

INDEX_FIELDS = ("file", "stream", "link", "channel", "snr_db", "attack", "frames", "samples", "sha512")


@dataclass
class RecordResult:
    """runs : the loopbacks' results (:class:`~semcom_phy.experiments.loopback.LoopbackResult`);
    index : the rows of ``index.csv``; collection : the SigMF Collection file."""

    runs: list
    index: list[dict]
    collection: Path

    def document(self) -> dict:
        """``{"runs": [loopback documents], "results": [their rows]}``."""
        docs = [r.document() for r in self.runs]
        return {"runs": docs, "results": [row for d in docs for row in d["results"]]}


def record(cfg: C.RecordConfig, *, plot: bool = True, log=print) -> RecordResult:
    """Run and record the sweep ``cfg``; the loopbacks' run folders go to ``<out>/runs``."""
    import yaml

    from ..io import atomic_write
    from ..io.signals import deferred_signals

    with deferred_signals():          # what the recordings and the index need, imported whole
        import sigmf  # noqa: F401

        from ..io.sigmf_io import _validator
        from .loopback import run_loopback, save_loopback

        _validator()

    out = Path(cfg.out)
    earlier = sorted(out.glob("*.sigmf-meta")) if out.is_dir() else []
    if out.exists() and not out.is_dir():
        raise ValueError(f"RecordConfig.out = {cfg.out!r}: is a file, not a folder")
    if earlier and cfg.existing == "refuse":
        raise ValueError(f"{out} already holds {len(earlier)} recordings: --append adds new ones beside them, "
                         "--overwrite deletes them first (nothing is overwritten unasked)")
    runs = []
    try:
        if earlier and cfg.existing == "overwrite":
            with deferred_signals():                 # the earlier dataset goes whole, index and all
                for meta in earlier:
                    meta.with_suffix(".sigmf-data").unlink(missing_ok=True)
                    meta.unlink()
                _write_index(out)
        for channel in cfg.channels:
            for attack in cfg.attacks:
                lb = cfg.loopback
                lb = dataclasses.replace(lb, record=str(out),
                                         transport=dataclasses.replace(lb.transport, channel=channel),
                                         attack=dataclasses.replace(lb.attack, attack=attack))
                result = run_loopback(lb, log=log)
                save_loopback(result, out / "runs", plot=plot)
                runs.append(result)
    finally:                                         # also when interrupted: the index lists what is there
        if out.is_dir() and (runs or sorted(out.glob("*.sigmf-meta")) != earlier or not (out / "index.csv").exists()):
            with deferred_signals():
                rows, collection = _write_index(out)
    atomic_write(out / "config.yaml", yaml.safe_dump(C.dump(cfg), sort_keys=False))   # the resolved sweep
    return RecordResult(runs, rows, collection)


def _write_index(out: Path) -> tuple[list[dict], Path]:
    """``index.csv`` and the SigMF Collection of the recordings now in ``out``."""
    return index(out), write_collection(out)


def index(folder: str | Path) -> list[dict]:
    """Write ``folder/index.csv`` from the recordings' metadata; returns its rows."""
    folder = Path(folder)
    rows = []
    for meta in sorted(folder.glob("*.sigmf-meta")):
        doc = json.loads(meta.read_text())
        g = doc["global"]
        stored = g["semcom:config"]
        channel, attack = run_tags(cfg := C.load(C.LoopbackConfig, C.without_secrets(stored["config"])))
        rows.append({"file": meta.name, "stream": "rx" if meta.stem.endswith("-rx") else "tx",
                     "link": cfg.transport.kind, "channel": channel, "snr_db": stored["run_snr_db"], "attack": attack,
                     "frames": len(doc.get("annotations", [])),
                     "samples": meta.with_suffix(".sigmf-data").stat().st_size // 8, "sha512": g["core:sha512"]})
    import io

    from ..io import atomic_write

    text = io.StringIO(newline="")
    w = csv.DictWriter(text, INDEX_FIELDS)
    w.writeheader()
    w.writerows(rows)
    atomic_write(folder / "index.csv", text.getvalue())          # never half-written
    return rows


def write_collection(folder: str | Path, description: str = "") -> Path:
    """``folder/<folder name>.sigmf-collection``: every recording of ``folder`` as a stream (its
    base name and the SHA-512 of its metadata file), written with the ``sigmf`` package."""
    from sigmf import SigMFCollection

    folder = Path(folder).resolve()
    metas = sorted(p.name for p in folder.glob("*.sigmf-meta"))
    collection = SigMFCollection(metafiles=metas, base_path=folder, metadata={"collection": {
        "core:version": "1.2.0", "core:description": description or
        f"semcom_phy link recordings: {len(metas) // 2} runs, TX and RX streams (index.csv lists them)"}})
    path = folder / f"{folder.name}.sigmf-collection"
    collection.tofile(path, overwrite=True)
    return path
