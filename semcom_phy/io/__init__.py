"""Files: run directories with their config and results (SigMF recording comes later)."""

from .results import new_run_dir, save_run

__all__ = ["new_run_dir", "save_run"]
