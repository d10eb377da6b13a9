"""Cells on Ray, the evaluation's and the certification's: one worker (an actor) per CPU, or per
GPU when the cells run on CUDA, each holding the models once (a
:class:`~semcom_phy.evaluation.runner.Runner`); cells go out one at a time per worker, the
longest first, and their results come back as each finishes, so the driver appends the rows to
``results.jsonl`` as it does in-process and an interrupted distributed run resumes like a local
one. :func:`run_distributed` runs any per-cell function of the runner; :func:`run_cells` is the
evaluation's use of it (``Runner.seeds``), the certification's is
:func:`semcom_phy.certify.run.compute_cell`.

Workers get the weights from Ray's object store, by SHA-256: the driver puts every file of the
installed weights (manifests and tensors) there once; a worker writes the files into a folder of
its own, checks each against its hash, and loads them from there, so no path of the driver's
machine is ever used on another. The Fashion-MNIST test and training sets are read on each node
(the Debian package ``dataset-fashion-mnist``, or ``data_dir`` there).

``address``: ``"auto"`` starts a local Ray instance on this machine's cores; anything else joins
an existing cluster (``ray start --head`` on one machine, ``ray start --address HEAD:6379`` on
the others, then ``--ray HEAD:6379``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

from .config import Config


def ray_module():
    """``import ray``, or an ImportError saying how to install it."""
    try:
        import ray
    except ImportError as err:
        raise ImportError("--ray needs Ray: pip install 'ray>=2.30' (make setup installs it)") from err
    return ray


def weights_bundle(folder: Path) -> dict[str, tuple[str, object]]:
    """Every file of the weights folder in the object store: ``{file name: (sha256, ObjectRef)}``."""
    ray = ray_module()
    out = {}
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and path.suffix in (".json", ".pt"):
            data = path.read_bytes()
            out[path.name] = (hashlib.sha256(data).hexdigest(), ray.put(data))
    return out


class CellWorker:
    """A Ray actor: the weights written from the object store into its own folder (each file
    checked against its SHA-256), a :class:`~semcom_phy.evaluation.runner.Runner` of ``cfg`` on
    them, and :meth:`call` running one cell's function on that runner."""

    def __init__(self, cfg: Config, device: str, data_dir, bundle: dict, threads: int = 1):
        import tempfile

        import torch

        ray = ray_module()
        from ..semantic import pick_device
        from .runner import Runner

        torch.set_num_threads(threads)
        self.folder = Path(tempfile.mkdtemp(prefix="semcom_weights_"))
        refs = {name: ref for name, (_, ref) in bundle.items()}
        for (name, (sha, _)), data in zip(bundle.items(), ray.get(list(refs.values()))):
            if hashlib.sha256(data).hexdigest() != sha:
                raise RuntimeError(f"weights file {name}: the object store's copy does not match SHA-256 {sha[:16]}...")
            (self.folder / name).write_bytes(data)
        self.runner = Runner(cfg, pick_device(device), data_dir, weights_dir=self.folder)

    def call(self, fn: Callable, args: tuple):
        """``fn(runner, *args)``: one cell (``fn`` a module-level function, sent by reference)."""
        return fn(self.runner, *args)


def runner_seeds(runner, channel: str, snr: float, label: str, attack: dict, budget) -> list[dict]:
    """Every seed of one evaluation cell: :meth:`~semcom_phy.evaluation.runner.Runner.seeds`."""
    return runner.seeds(channel, snr, label, attack, budget)


def cost(cfg: Config, channel, snr, defense: dict, attack: dict, budget) -> float:
    """A rough relative cost of a cell (for scheduling only): the denoiser evaluations per image
    times the gradient steps and EOT draws, times the seeds and images."""
    nfe = 0 if defense.get("defense") in ("none", "median", "advtrain", "advtrain_t1", "digital") else \
        defense.get("nfe", 4) * defense.get("votes", 1)
    steps = 1 if attack["attack"] in ("clean", "noise", "jamming") else \
        attack.get("steps", 10) * attack.get("eot", 1) * (attack.get("epochs", 2) * 8 if attack["attack"] == "universal"
                                                          else 1)
    return (1 + nfe) * (1 + steps) * len(attack.get("seeds", cfg.seeds)) * attack.get("num_images", cfg.num_images)


def run_distributed(runner_cfg: Config, items: Iterable, address: str, device: str, data_dir, weights_dir: Path,
                    fn: Callable, args: Callable[[object], tuple], cost: Callable[[object], float],
                    on_done: Callable[[object, object, float], None], log=print) -> None:
    """Compute ``items`` on Ray: each worker holds a ``Runner(runner_cfg)`` on the weights of
    ``weights_dir`` (shipped by SHA-256) and computes ``fn(runner, *args(item))`` for one item at
    a time, the largest ``cost(item)`` first; ``on_done(item, result, seconds)`` is called in this
    process as each finishes."""
    import time

    ray = ray_module()
    items = sorted(items, key=lambda item: -cost(item))      # the longest first: no long tail at the end
    if not ray.is_initialized():
        ray.init(address=None if address == "auto" else address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    gpus = device == "cuda"
    resources = ray.cluster_resources()
    slots = int(resources.get("GPU" if gpus else "CPU", 0))
    if slots < 1:
        raise RuntimeError(f"the Ray cluster at {address!r} has no {'GPU' if gpus else 'CPU'} to run cells on")
    bundle = weights_bundle(weights_dir)
    actor = ray.remote(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1)(CellWorker)
    workers = [actor.remote(runner_cfg, device, None if data_dir is None else str(data_dir), bundle)
               for _ in range(min(slots, len(items)))]
    log(f"ray: {len(workers)} worker(s) on {resources.get('CPU', 0):g} CPU(s), {resources.get('GPU', 0):g} GPU(s)")
    pending, started = {}, {}
    queue = iter(items)

    def submit(worker) -> bool:
        item = next(queue, None)
        if item is None:
            return False
        ref = worker.call.remote(fn, tuple(args(item)))
        pending[ref], started[ref] = (worker, item), time.time()
        return True

    for w in workers:
        submit(w)
    while pending:
        (ref,), _ = ray.wait(list(pending), num_returns=1)
        worker, item = pending.pop(ref)
        on_done(item, ray.get(ref), time.time() - started.pop(ref))
        submit(worker)


def run_cells(cfg: Config, todo: Iterable[tuple], address: str, device: str, data_dir, weights_dir: Path,
              on_done: Callable[[tuple, list[dict], float], None], log=print) -> None:
    """Compute the evaluation's ``todo`` (``(cell, key)`` pairs, ``cell = (channel, snr, defense,
    attack, budget)``) on Ray; ``on_done(item, per_seed, seconds)`` is called in this process as
    each cell finishes."""
    def args(item):
        (channel, snr, d, a, budget), _ = item
        return channel, snr, d["label"], a, budget

    run_distributed(cfg, todo, address, device, data_dir, weights_dir, runner_seeds, args,
                    lambda item: cost(cfg, *item[0]), on_done, log)
