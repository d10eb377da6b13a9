"""Files: run directories with their config and results (SigMF recording in :mod:`.sigmf_io`).

The names below are imported on first use (PEP 562)."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "WriteError": ".results", "atomic_write": ".results", "new_run_dir": ".results", "save_run": ".results",
    "replacing": ".results", "write_json": ".results",
})
