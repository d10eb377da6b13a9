"""Run directories: ``results/<name>/<run>/{config.yaml, results.json, *.png}``."""

from __future__ import annotations

import contextlib
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


class WriteError(OSError):
    """A file that could not be written: ``str(err)`` is ``could not write PATH: REASON`` (one
    line), ``err.errno`` and ``err.filename`` those of the failure."""

    def __str__(self) -> str:
        return self.strerror


def atomic_write(path: Path | str, text: str) -> None:
    """Write a text file through a temporary file and a rename: never half-written.

    Input: ``path``, the file; ``text``, its content.
    Output: None. A failed write (disk full, no permission) removes the temporary file
    ``.<name>.tmp`` and raises :class:`WriteError` naming ``path``, with the failure's errno."""
    with replacing(path) as f:
        f.write(text.encode())


@contextlib.contextmanager
def replacing(path: Path | str):
    """A file written in full or not at all: yields the binary file ``.<name>.tmp`` beside
    ``path``, renamed to ``path`` when the block ends; a failure removes it and raises
    :class:`WriteError` naming ``path`` (an ``OSError``), or the failure itself otherwise."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            yield f
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            raise WriteError(err.errno, f"could not write {path}: {err.strerror or err}", str(path)) from err
        raise


def write_json(path: Path | str, document) -> None:
    """A JSON document (``--json``) written atomically, its folder made first.

    Input: ``path``; ``document``, JSON-able data (indented 1).
    Output: None; a failed write raises ``OSError`` naming ``path`` (:func:`atomic_write`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(document, indent=1))


def save_run(run_dir: Path, config: dict, results: dict) -> None:
    """Write ``config.yaml`` (what produced the run) and ``results.json`` atomically; the results
    name the code that made them (``code``: :func:`~semcom_phy.version.code_version`) unless they
    already do."""
    from ..version import code_version

    atomic_write(run_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    has_code = "code" in results or "code" in results.get("run", {})
    atomic_write(run_dir / "results.json", json.dumps(results if has_code else {**results, "code": code_version()},
                                                      indent=1))
