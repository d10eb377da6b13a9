"""Lazy package exports (PEP 562): a package names what it exports and where each name lives;
the submodule is imported on first use. ``import semcom_phy.config`` or ``--help`` then never
pays for torch, which only the modules that run models import."""

from __future__ import annotations

import importlib


def attach(package: str, exports: dict[str, str]):
    """``exports``: public name -> submodule (relative, e.g. ``".defense"``) that defines it.
    Returns ``(__getattr__, __dir__, __all__)`` for the package's ``__init__``."""
    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(exports[name], package)
        value = module if exports[name].endswith("." + name) and not hasattr(module, name) else getattr(module, name)
        globals_ = importlib.import_module(package).__dict__
        globals_[name] = value                    # later look-ups skip this function
        return value

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__, sorted(exports)
