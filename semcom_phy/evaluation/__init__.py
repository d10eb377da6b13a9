"""The robustness evaluation as a package: the config (:mod:`.config`), one cell of it
(:mod:`.runner`), the content-keyed, resumable driver (:mod:`.run`: :func:`evaluate` ->
:class:`EvaluationResult`), the sanity checks, report and plots (:mod:`.report`) and the command
line (:mod:`.cli`, ``scripts/evaluate.py``)."""

from .._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "Config": ".config", "evaluate": ".run", "EvaluationResult": ".run", "cell_key": ".run", "cell_spec": ".run",
    "sanity": ".report", "main": ".cli",
})
