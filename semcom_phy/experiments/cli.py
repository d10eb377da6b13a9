"""Command-line options generated from the experiment configs.

An :class:`Option` binds a flag to a dotted path of a config tree (``--nfe`` ->
``link.defense.nfe``); its type, default and ``(default ...)`` help come from the config's own
field, so the options cannot drift from the config. :func:`resolve` builds the config in three
layers: the config's defaults, then ``--config FILE.yaml`` (any subset of the fields, or a
``config.yaml`` a run wrote beside its results), then the options given on the command line.
Invalid values are reported by the parser (exit 2) before any work starts. The batch experiments
(``evaluate``, ``certify``, ``detect``) share :func:`add_batch_options`, :func:`load_batch` and
:func:`run_failures`; every command checks its outputs with :func:`check_outputs`.

Imports neither torch nor GNU Radio (``--help`` answers at once).
"""

from __future__ import annotations

import argparse
import os
import shutil
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import config as C


@dataclass(frozen=True)
class Option:
    """One flag bound to ``path`` in a config tree. ``type`` parses one value (default: from the
    field's type); tuple fields take one or more values; booleans get ``--flag/--no-flag``."""

    flag: str
    path: str
    help: str
    metavar: str | None = None
    type: Callable[[str], Any] | None = None
    choices: tuple | None = None
    group: str | None = None


def key_int(text: str) -> int:
    """``--key``: a decimal or 0x-hex integer."""
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer (decimal, or hex with 0x)") from None


def _leaf_hint(cls, path: str):
    """The type hint of the field at ``path`` of dataclass ``cls``."""
    *parents, leaf = path.split(".")
    for part in parents:
        cls = C.dataclass_of(typing.get_type_hints(cls)[part])
    return typing.get_type_hints(cls)[leaf]


def _scalar(hint) -> type:
    """The scalar type of a hint: ``int``, ``float``, ``str``, ``bool`` (``X | None`` and
    ``tuple[X, ...]`` unwrapped)."""
    args = [a for a in typing.get_args(hint) if a is not type(None) and a is not Ellipsis]
    if typing.get_origin(hint) is None:
        return hint
    return _scalar(args[0])


def _show(value) -> str:
    if isinstance(value, tuple):
        return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None or value == "" else str(value)


def add_options(ap: argparse.ArgumentParser, options: tuple[Option, ...], cls, defaults=None) -> None:
    """Add ``options`` (paths into dataclass ``cls``) to ``ap``; ``defaults``: the instance whose
    values the help shows (default ``cls()``). Values not given stay unset (``argparse.SUPPRESS``)
    so that a ``--config`` file is not overridden by defaults."""
    defaults = defaults if defaults is not None else cls()
    groups: dict[str | None, Any] = {None: ap}
    for opt in options:
        target = groups.get(opt.group) or groups.setdefault(opt.group, ap.add_argument_group(opt.group))
        hint = _leaf_hint(cls, opt.path)
        default = C.get_path(defaults, opt.path)
        kind = _scalar(hint)
        kw: dict[str, Any] = {"dest": opt.path, "default": argparse.SUPPRESS,
                              "help": f"{opt.help} (default {_show(default)})"}
        if kind is bool:
            target.add_argument(opt.flag, action=argparse.BooleanOptionalAction, **kw)
            continue
        kw["type"] = opt.type or kind
        if opt.choices is not None:
            kw["choices"] = opt.choices
        if opt.metavar or opt.choices is None:
            kw["metavar"] = opt.metavar or opt.flag.lstrip("-").upper().replace("-", "_")
        if typing.get_origin(hint) is tuple:
            kw["nargs"] = "+"
        target.add_argument(opt.flag, **kw)


def add_config_option(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--config", type=Path, default=None, metavar="FILE.yaml",
                    help="start from this config (any subset of the fields, or a run's config.yaml); "
                         "options given here override it")


def given(args: argparse.Namespace, options: tuple[Option, ...]) -> dict[str, Any]:
    """The config paths the command line set, with their values."""
    return {o.path: getattr(args, o.path) for o in options if hasattr(args, o.path)}


def resolve(ap: argparse.ArgumentParser, args: argparse.Namespace, options: tuple[Option, ...], cls,
            prefix: str = "", base: dict | None = None):
    """The config of a command: ``cls`` defaults <- ``base`` (e.g. a hardware preset) <-
    ``args.config`` <- the options given. A validation error (or a stored key fingerprint without
    its key) becomes the parser's error (exit 2). ``prefix``: the path of the options' root inside
    ``cls`` (e.g. ``loopback.``)."""
    values: dict[str, Any] = {}
    try:
        data = merge(base or {}, C.read_yaml(args.config) if getattr(args, "config", None) else {})
        values = given(args, options)
        for path, value in values.items():
            set_path(data, prefix + path, list(value) if isinstance(value, tuple) else value)
        return C.load(cls, data)
    except ValueError as err:
        flags = [o.flag for o in options if o.path in values and f".{o.path.rsplit('.', 1)[-1]} = " in str(err)]
        ap.error(f"argument {flags[0]}: {err}" if len(flags) == 1 else str(err))


def merge(low: dict, high: dict) -> dict:
    """``high`` over ``low``, mapping by mapping (a new dict; neither is changed)."""
    out = dict(low)
    for k, v in high.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def set_path(data: dict, path: str, value) -> None:
    """``data["a"]["b"]["c"] = value`` for ``path`` ``"a.b.c"``, making the dicts on the way."""
    *parents, leaf = path.split(".")
    for part in parents:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[leaf] = value


def unbound_paths(options: tuple[Option, ...], cls, prefix: str = "") -> list[str]:
    """The leaf paths of ``cls`` no option sets (they are set through ``--config``)."""
    bound = {prefix + o.path for o in options}
    return [p for p in C.leaf_paths(cls) if p not in bound]


def add_batch_options(ap: argparse.ArgumentParser, command: str, *, default: str | None = None,
                      out: str, ray: bool = True) -> None:
    """The options shared by the batch experiments (``evaluate``, ``certify``, ``detect``).

    Input: ``command``, the script (its shipped configs are listed, see
    :func:`semcom_phy.resources.config_names`); ``default``, the config used without ``--config``
    (None: the option is required); ``out``, the default results folder as shown in ``--help``;
    ``ray``, whether the script offers ``--ray``.
    Output: None; adds ``--config --out --device --threads --data-dir --no-plot`` (and ``--ray``)."""
    from ..resources import config_names, package_dir

    shipped = f"{', '.join(config_names(command))} (in {package_dir() / 'configs'})"
    ap.add_argument("--config", required=default is None, default=default,
                    help=f"YAML file, or a shipped config: {shipped}" + (f"; default {default}" if default else ""))
    ap.add_argument("--out", type=Path, default=None, help=f"results directory (default {out})")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--threads", type=_threads, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--data-dir", type=Path, default=None, help="Fashion-MNIST folder (default: Debian path)")
    ap.add_argument("--no-plot", action="store_true")
    if ray:
        ap.add_argument("--ray", default=None, metavar="auto|ADDRESS",
                        help="run the cells on Ray: 'auto' starts a local instance on all cores, an address "
                             "(HEAD:6379) joins a cluster started with `ray start --head` (default: in this process)")


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not an integer (0: torch's default)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: must be >= 0 (0: torch's default)")
    return value


def load_batch(ap: argparse.ArgumentParser, args: argparse.Namespace, cls):
    """The config and the device of :func:`add_batch_options`' options, or the parser's error (exit 2).

    Input: ``cls``, the config class (``load(path)``: evaluation, certification or detection).
    Output: ``(path, cfg, device)``: the config's YAML file, the loaded config, the torch device."""
    from ..resources import config_path
    from ..semantic import pick_device

    try:
        path = config_path(args.config)
        return path, cls.load(path), pick_device(args.device, args.threads)
    except (OSError, ValueError, TypeError) as err:
        ap.error(str(err))


def run_failures() -> tuple[type[BaseException], ...]:
    """What a batch experiment reports as ``error: ...`` with exit status 2: a missing dataset or
    weights, Ray absent (ImportError), an output not written or Ray's ConnectionError (OSError)."""
    from ..data import DatasetError
    from ..semantic import WeightsError

    return DatasetError, WeightsError, ImportError, OSError


def check_outputs(ap: argparse.ArgumentParser, folder: Path | None = None, need_bytes: int = 0, *,
                  flag: str = "--out", **files: Path | None) -> None:
    """Outputs checked before any work.

    Input: ``folder``, the output folder of option ``flag``: it must be (or become) a writable
    folder with ``need_bytes`` free on its disk (what the command will write, where known);
    ``files``, option name -> path: each must not be a folder and its folder must be writable.
    Output: None; a refused path ends the command through ``ap.error`` (exit 2), naming it."""
    if folder is not None:
        if folder.exists() and not folder.is_dir():
            ap.error(f"{flag} {folder}: is a file, not a folder")
        base = _writable_base(ap, flag, folder, folder)
        free = shutil.disk_usage(base).free
        if need_bytes > free:
            ap.error(f"{flag} {folder}: {_size(free)} free on its disk, the command will write about "
                     f"{_size(need_bytes)} (an estimate)")
    for option, path in files.items():
        if path is None:
            continue
        option = "--" + option.replace("_", "-")
        if path.is_dir():
            ap.error(f"{option} {path}: is a folder, not a file")
        _writable_base(ap, option, path, path.parent)


def _writable_base(ap: argparse.ArgumentParser, flag: str, given: Path, folder: Path) -> Path:
    """The nearest existing folder of ``folder`` (itself or an ancestor), where it will be made;
    ``ap.error`` naming ``flag`` and ``given`` when it is not a writable folder."""
    base = next((p for p in [folder, *folder.parents] if p.exists()), Path("."))
    if not base.is_dir() or not os.access(base, os.W_OK):
        ap.error(f"{flag} {given}: {base} is not a writable folder")
    return base


def _size(num_bytes: int) -> str:
    """``1.2 GB``, ``340.5 MB``, ``900 bytes`` (decimal units)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if num_bytes >= scale:
            return f"{num_bytes / scale:.1f} {unit}"
    return f"{num_bytes} bytes"


__all__ = ["Option", "add_config_option", "add_options", "check_outputs", "given", "key_int", "merge", "resolve",
           "set_path", "unbound_paths"]
