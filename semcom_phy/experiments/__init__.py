"""Experiments as library functions over frozen, YAML-round-tripping configs:

==================  =======================================  ======================================
function            config                                   result
==================  =======================================  ======================================
``run_loopback``    :class:`LoopbackConfig`                  :class:`LoopbackResult` (rows, table)
``record``          :class:`RecordConfig`                    :class:`RecordResult` (SigMF dataset)
``replay``          a folder of recordings (+ key, config)   :class:`ReplayResult`
``compare``         :func:`load_runs` of results documents   the table; a plot
==================  =======================================  ======================================

The scripts (``scripts/loopback.py`` ...) and ``python -m semcom_phy <command>`` are thin command
lines over these (:mod:`.commands`); their options are generated from the configs (:mod:`.cli`).
"""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "LinkConfig": ".config", "TransportConfig": ".config", "LoopbackConfig": ".config", "RecordConfig": ".config",
    "dump": ".config", "load": ".config", "key_fingerprint": ".config",
    "LoopbackResult": ".loopback", "run_loopback": ".loopback", "save_loopback": ".loopback", "run_label": ".loopback",
    "RecordResult": ".record", "record": ".record",
    "ReplayResult": ".replay", "replay": ".replay",
    "Run": ".compare", "compare": ".compare", "load_runs": ".compare",
})
