"""Run directories: ``results/<name>/<run>/{config.yaml, results.json, *.png}``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import yaml


def new_run_dir(base: Path | str, name: str | None = None) -> Path:
    """Create and return ``base/<name>`` (default: a UTC timestamp, suffixed if taken)."""
    base = Path(base)
    stem = name or time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path, k = base / stem, 1
    while name is None and path.exists():
        k += 1
        path = base / f"{stem}-{k}"
    path.mkdir(parents=True, exist_ok=name is not None)
    return path


def atomic_write(path: Path, text: str) -> None:
    """Write text to path through a temporary file and a rename: never half-written."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_run(run_dir: Path, config: dict, results: dict) -> None:
    """Write ``config.yaml`` (what produced the run) and ``results.json`` atomically; the results
    name the code that made them (``code``: :func:`~semcom_phy.version.code_version`) unless they
    already do."""
    from ..version import code_version

    atomic_write(run_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    has_code = "code" in results or "code" in results.get("run", {})
    atomic_write(run_dir / "results.json", json.dumps(results if has_code else {**results, "code": code_version()},
                                                      indent=1))
