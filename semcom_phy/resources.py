"""The files shipped inside the package, found through :mod:`importlib.resources`.

They live in the package itself, so a checkout, an editable install and an installed wheel find
them alike: ``flowgraphs/`` (GNU Radio ``.grc`` files and the generated Python that Debian's
``/usr/bin/python3`` runs), ``presets/`` (PlutoSDR radio settings, ``<name>.yaml``), ``configs/``
(the configs of the evaluation, the certification and the detection, ``<name>.yaml``) and
``weights/`` (trained models with their manifests). Paths are real directories on disk: the flowgraph scripts are handed to another
interpreter, so a package imported from a zip archive is refused with the reason.

Torch-free and quick to import (the command-line tools list presets before they import torch).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["package_dir", "flowgraph_dir", "flowgraph", "preset_names", "preset_path", "config_names",
           "config_path", "weights_dir"]


def package_dir() -> Path:
    """The installed ``semcom_phy`` package directory.

    Input: nothing.
    Output: an absolute :class:`~pathlib.Path` (the checkout's ``semcom_phy/`` in an editable
    install, ``site-packages/semcom_phy/`` from a wheel).
    Raises RuntimeError when the package is not a directory on disk (imported from a zip)."""
    root = files("semcom_phy")
    if not isinstance(root, Path):
        raise RuntimeError(f"semcom_phy is imported from {root!r}, not a directory: its flowgraphs run under "
                           "another Python and need real files; install the package unzipped (pip install)")
    return root.resolve()


def flowgraph_dir() -> Path:
    """The folder of the GNU Radio flowgraphs (``<name>.grc`` and grcc's ``<name>.py``).

    Input: nothing.
    Output: the :class:`~pathlib.Path` of ``semcom_phy/flowgraphs``."""
    return package_dir() / "flowgraphs"


def flowgraph(name: str) -> Path:
    """A generated flowgraph script by name.

    Input: ``name``, e.g. ``"channel_emulator"`` (``"channel_emulator.py"`` is accepted too).
    Output: the :class:`~pathlib.Path` of ``flowgraphs/<name>.py``.
    Raises ValueError naming the shipped flowgraphs when there is no such script."""
    stem = name[:-3] if name.endswith(".py") else name
    path = flowgraph_dir() / f"{stem}.py"
    if not path.is_file():
        names = sorted(p.stem for p in flowgraph_dir().glob("*.py"))
        raise ValueError(f"flowgraph {name!r}: no file {path}; flowgraphs: {', '.join(names)}")
    return path


def _names(folder: str) -> list[str]:
    return sorted(p.stem for p in (package_dir() / folder).glob("*.yaml"))


def _resolve(folder: str, kind: str, name: str | Path) -> Path:
    # A shipped name wins over a file of that name in the working directory (``--preset cable`` means
    # the same everywhere); anything else must be an existing file (``./cable`` names a local one).
    text = str(name)
    names = _names(folder)
    if text in names:
        return package_dir() / folder / f"{text}.yaml"
    path = Path(text).expanduser()
    if path.is_file():
        return path
    raise ValueError(f"{kind} {text!r}: neither a shipped {kind} nor a YAML file; "
                     f"{kind}s: {', '.join(names)} (in {package_dir() / folder})")


def preset_names() -> list[str]:
    """The shipped PlutoSDR presets.

    Input: nothing.
    Output: their names, sorted (``["cable", "hackrf", "ism-2.4", "usrp-b200", "virtual"]``)."""
    return _names("presets")


def preset_path(name: str | Path) -> Path:
    """A PlutoSDR preset's YAML file.

    Input: ``name``, a shipped preset's name (see :func:`preset_names`) or a path to a YAML file.
    Output: the :class:`~pathlib.Path` of ``presets/<name>.yaml``, or the given path.
    Raises ValueError naming the shipped presets when ``name`` is neither."""
    return _resolve("presets", "preset", name)


_PREFIXED = ("certify", "detect")      # config name prefixes of scripts/certify.py, scripts/detect.py


def config_names(command: str | None = None) -> list[str]:
    """The shipped experiment configs.

    Input: ``command``, None (all), ``"evaluate"``, ``"certify"`` or ``"detect"``: the configs of
    that script (``certify_*`` and ``detect_*`` are the certification's and the detection's, the
    rest the robustness evaluation's).
    Output: their names, sorted (``["paper", "quick", ...]``).
    Raises ValueError for another ``command``."""
    names = _names("configs")
    if command is None:
        return names
    if command not in _PREFIXED + ("evaluate",):
        raise ValueError(f"command {command!r}: allowed values are None, 'evaluate', 'certify', 'detect'")
    if command == "evaluate":
        return [n for n in names if not n.startswith(tuple(p + "_" for p in _PREFIXED))]
    return [n for n in names if n.startswith(command + "_")]


def config_path(name: str | Path) -> Path:
    """An experiment config's YAML file.

    Input: ``name``, a shipped config's name (see :func:`config_names`) or a path to a YAML file.
    Output: the :class:`~pathlib.Path` of ``configs/<name>.yaml``, or the given path.
    Raises ValueError naming the shipped configs when ``name`` is neither."""
    return _resolve("configs", "config", name)


def weights_dir() -> Path:
    """The folder of the shipped weights (``<name>.pt`` with its manifest ``<name>.json``).

    Input: nothing.
    Output: the :class:`~pathlib.Path` of ``semcom_phy/weights``."""
    return package_dir() / "weights"
