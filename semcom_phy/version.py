"""Which code made a result: the package version and, in a git checkout, the commit."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """``{"package": "semcom_phy 0.1.0", "commit": "<40 hex>" or None, "dirty": bool or None}``:
    the installed version, and the git commit of the checkout the package runs from (None outside a
    checkout, e.g. an installed wheel); ``dirty``: uncommitted changes to tracked files."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = f"semcom_phy {version('semcom_phy')}"
    except PackageNotFoundError:
        package = "semcom_phy (not installed)"
    root = Path(__file__).resolve().parent.parent
    commit = dirty = None
    if (root / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                    timeout=10, check=True).stdout.strip() or None
            dirty = bool(subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                        capture_output=True, text=True, timeout=10, check=True).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            commit = dirty = None
    return {"package": package, "commit": commit, "dirty": dirty}
