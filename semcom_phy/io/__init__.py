"""Files: run directories with their config and results (SigMF recording comes later)."""

from .results import atomic_write, new_run_dir, save_run

__all__ = ["atomic_write", "new_run_dir", "save_run"]
