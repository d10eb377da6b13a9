"""SigMF recordings of the link's IQ streams (https://sigmf.org), written with the ``sigmf`` package.

A :class:`Recording` streams complex64 samples to ``<name>.sigmf-data`` and its annotations to a
spool file as they pass (memory does not grow with the recording), hashing the samples on the
way; :meth:`Recording.close` writes ``<name>.sigmf-meta`` (global fields, the captures, the
annotations) and only then gives both files their final names, so an interrupted recording
leaves no half-written file under a recording's name. A link run sent in chunks of images starts
one capture segment per chunk (``semcom:first_image``, ``semcom:first_seq``, ``semcom:images``),
so a replay can take the recording chunk by chunk as it was sent. Metadata is
validated against the ``sigmf`` package's schema before it is written (the global object, the
capture and one annotation of each shape: every annotation comes from the same code; a failure
keeps nothing), and :func:`open_recording` checks the
data file's size and SHA-512 against the metadata: a truncated or modified file is reported,
never decoded.

Project fields live in the ``semcom`` extension namespace (declared in ``core:extensions``):
``semcom:config`` (the experiment), ``semcom:weights`` (SHA-256 of the models) in the global
object; per capture segment the chunk of images it carries (above); per frame (one annotation each) ``semcom:seq``, ``semcom:images`` (test-set indices),
``semcom:labels``, ``semcom:snr_db`` (configured), ``semcom:snr_est_db``, ``semcom:cfo_hz`` and
``semcom:sfo_ppm`` (measured, RX only), ``semcom:inferred`` (RX only: true where the receiver placed the frame from
its neighbours, its own preamble or header lost), ``semcom:defense``, ``semcom:attack`` and its
budget (``semcom:psr_db`` or ``semcom:eps`` and ``semcom:norm``, ``semcom:steps``).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np

EXTENSION = {"name": "semcom", "version": "0.1.0", "optional": True}
META_HASH = "semcom:meta_sha256"
SAMPLE_BYTES = {"cf32_le": 8, "ci16_le": 4, "ci8": 2, "cu8": 2, "cf64_le": 16, "ci32_le": 8, "cu16_le": 4}
"""Complex SigMF datatypes the replay reads (as complex64), and their bytes per sample."""


def meta_sha256(doc: dict) -> str:
    """SHA-256 of a recording's metadata (``global`` without this hash, ``captures``,
    ``annotations``) as canonical JSON: ``core:sha512`` covers the samples, this covers what
    describes them (datatype, rate, the ``semcom:`` run and frames)."""
    body = {"global": {k: v for k, v in doc.get("global", {}).items() if k != META_HASH},
            "captures": doc.get("captures"), "annotations": doc.get("annotations")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class RecordingError(RuntimeError):
    """A recording that is missing, truncated, modified or invalid."""


class Recording:
    """One IQ stream to ``<base>.sigmf-data`` / ``<base>.sigmf-meta`` (``cf32_le``).

    sample_rate_hz, frequency_hz : the stream's rate and centre frequency (0 for baseband-only links)
    description, hw : free text for the global object; config, weights : the ``semcom:`` fields
    """

    def __init__(self, base: str | Path, sample_rate_hz: float, frequency_hz: float = 0.0, description: str = "",
                 hw: str = "", config: dict | None = None, weights: dict | None = None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            recorder = f"semcom_phy {version('semcom_phy')}"
        except PackageNotFoundError:
            recorder = "semcom_phy"
        self.base = Path(base)
        self.base.parent.mkdir(parents=True, exist_ok=True)
        self._tmp_data = self.base.with_name(self.base.name + ".sigmf-data.part")
        self._tmp_annotations = self.base.with_name(self.base.name + ".sigmf-annotations.part")
        self._tmp_meta = self.base.with_name(self.base.name + ".sigmf-meta.part")
        self._file = open(self._tmp_data, "wb")
        try:
            self._annotations = open(self._tmp_annotations, "w")      # one canonical JSON line each
        except BaseException:
            self._file.close()
            self._tmp_data.unlink(missing_ok=True)
            raise
        self._sha = hashlib.sha512()
        self.num_samples = 0
        self._shapes: dict = {}             # one annotation of each shape, for the schema check
        self.num_annotations = 0
        self._last_start = -1               # annotations come in sample order (else sorted at close)
        self.global_info = {
            "core:datatype": "cf32_le", "core:sample_rate": float(sample_rate_hz), "core:version": "1.2.0",
            "core:description": description, "core:hw": hw, "core:recorder": recorder,
            "core:extensions": [EXTENSION], "semcom:config": config or {}, "semcom:weights": weights or {},
        }
        self.frequency_hz = float(frequency_hz)
        self.captures = [{"core:sample_start": 0, "core:frequency": self.frequency_hz, "core:datetime": _now()}]

    def write(self, iq: np.ndarray) -> int:
        """Append complex samples; returns the index of the first one in the recording."""
        data = np.ascontiguousarray(iq, dtype="<c8").tobytes()
        self._file.write(data)
        self._sha.update(data)
        start, self.num_samples = self.num_samples, self.num_samples + len(iq)
        return start

    def segment(self, **fields) -> None:
        """Start a capture segment at the next sample, ``semcom:`` fields by keyword (the first
        segment, before any sample, takes the fields itself)."""
        fields = {f"semcom:{k}": _plain(v) for k, v in fields.items()}
        if self.num_samples == 0 and len(self.captures) == 1:
            self.captures[0].update(fields)
        else:
            self.captures.append({"core:sample_start": self.num_samples, "core:frequency": self.frequency_hz,
                                  "core:datetime": _now(), **fields})

    def annotate(self, start: int, count: int, label: str = "", **fields) -> None:
        """One annotation: samples [start, start + count), ``semcom:`` fields by keyword."""
        ann = {"core:sample_start": int(start), "core:sample_count": int(count)}
        if label:
            ann["core:label"] = label
        ann.update({f"semcom:{k}": _plain(v) for k, v in fields.items()})
        self._add(ann)

    def _add(self, ann: dict) -> None:
        self._shapes.setdefault(_shape(ann), ann)
        self._annotations.write(_canonical(ann) + "\n")
        self.num_annotations += 1
        start = ann.get("core:sample_start")
        self._last_start = start if isinstance(start, int) and start >= self._last_start else float("inf")

    def _spooled(self):
        """The annotations' canonical JSON texts, in sample order."""
        with open(self._tmp_annotations) as f:
            if self._last_start != float("inf"):
                yield from (line.rstrip("\n") for line in f)
                return
            lines = sorted(f, key=lambda line: json.loads(line).get("core:sample_start", 0))   # rare: out of order
        yield from (line.rstrip("\n") for line in lines)

    def close(self) -> Path:
        """Validate and write the metadata, then move both files to their names; returns the meta path."""
        self.prepare()
        return self.commit()

    def prepare(self) -> None:
        """Validate the metadata and write it beside the data, both under temporary names.

        The metadata is written as it is hashed, annotation by annotation from the spool: the
        schema check takes the global object, the captures and one annotation of each shape
        (keys and value types; every annotation comes from the same code, and the full check
        costs ~1 ms per annotation). A failure keeps nothing."""
        from sigmf import SigMFFile

        self._file.close()
        self._annotations.close()
        head = {"global": {**self.global_info, "core:sha512": self._sha.hexdigest()}, "captures": self.captures,
                "annotations": sorted(self._shapes.values(), key=lambda a: repr(a.get("core:sample_start")))}
        try:
            _validator().validate(head)
        except Exception as err:                  # jsonschema's ValidationError: nothing is kept
            self._drop()
            raise RecordingError(f"{self.base}: metadata fails SigMF validation: {str(err).splitlines()[0]}") from err
        head["annotations"] = []
        written = json.loads(SigMFFile(metadata=head, skip_checksum=True).dumps(pretty=False))   # as sigmf writes it
        glob, captures = written["global"], written["captures"]
        digest = hashlib.sha256(b'{"annotations":[')        # meta_sha256 of the body, streamed from the spool
        for i, line in enumerate(self._spooled()):
            digest.update((("," if i else "") + line).encode())
        digest.update(f'],"captures":{_canonical(captures)},"global":{_canonical(glob)}}}'.encode())
        glob[META_HASH] = digest.hexdigest()      # the metadata's own checksum: edits are detected
        try:
            with open(self._tmp_meta, "w") as f:  # compact JSON, the annotations streamed in again
                f.write(f'{{"global":{_compact(glob)},"captures":{_compact(captures)},"annotations":[')
                for i, line in enumerate(self._spooled()):
                    f.write(("," if i else "") + line)
                f.write("]}")
        except BaseException:
            self._drop()
            raise
        self._tmp_annotations.unlink(missing_ok=True)

    def commit(self) -> Path:
        """Give the prepared data and metadata their names (data first: a metadata file under a
        recording's name always has its data); returns the meta path."""
        final = self.base.with_name(self.base.name + ".sigmf-meta")
        os.replace(self._tmp_data, self.base.with_name(self.base.name + ".sigmf-data"))
        os.replace(self._tmp_meta, final)
        return final

    def discard(self) -> None:
        """Remove the recording, final or partial (a pair whose other half failed)."""
        self._drop()
        for suffix in (".sigmf-meta", ".sigmf-data"):
            self.base.with_name(self.base.name + suffix).unlink(missing_ok=True)

    def _drop(self) -> None:
        for tmp in (self._tmp_data, self._tmp_annotations, self._tmp_meta):
            tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        """Drop the partial files (an interrupted run)."""
        self._file.close()
        self._annotations.close()
        self._drop()


class LinkRecorder:
    """The TX and RX streams of a link run as two recordings ``<base>-tx`` and ``<base>-rx``, one
    annotation per frame in each (``Link(..., recorder=...)``); ``fields``: ``semcom:``
    values every annotation carries (configured SNR, defense). Use as a context manager: a clean
    exit closes both recordings, an exception aborts them."""

    def __init__(self, base: str | Path, sample_rate_hz: float, fields: dict | None = None, **kwargs):
        base = Path(base)
        self.tx = Recording(base.with_name(base.name + "-tx"), sample_rate_hz, description="transmitted IQ", **kwargs)
        try:
            self.rx = Recording(base.with_name(base.name + "-rx"), sample_rate_hz, description="received IQ", **kwargs)
        except BaseException:
            self.tx.abort()
            raise
        self.fields = dict(fields or {})

    def close(self) -> tuple[Path, Path]:
        """Both recordings made final together: prepared, then renamed into place in a section
        that SIGINT and SIGTERM wait for (:func:`~semcom_phy.io.signals.deferred_signals`), so an
        interruption leaves the whole pair or none of it; returns the two meta paths."""
        from .signals import deferred_signals

        try:
            self.tx.prepare()
            self.rx.prepare()
            with deferred_signals():
                try:
                    return self.tx.commit(), self.rx.commit()
                except BaseException:           # a failed rename: no half pair stays
                    self.tx.discard()
                    self.rx.discard()
                    raise
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self.tx.abort()
        self.rx.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


@functools.lru_cache(maxsize=1)
def _validator():
    """The ``sigmf`` package's schema, compiled once (``SigMFFile.validate`` checks the schema
    itself again on every call, which costs more than the metadata)."""
    import jsonschema
    from sigmf import schema

    ref = schema.get_schema()
    return jsonschema.validators.validator_for(ref)(ref)


def _shape(v):
    """What the SigMF schema sees of a JSON value: its keys and the types of its values, recursively."""
    if isinstance(v, dict):
        return tuple(sorted((k, _shape(x)) for k, x in v.items()))
    if isinstance(v, list):
        return ("list",) + tuple(sorted(set(_shape(x) for x in v), key=repr))
    return type(v).__name__


def _canonical(v) -> str:
    """The canonical JSON of ``v`` that :func:`meta_sha256` hashes (sorted keys, no spaces)."""
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _compact(v) -> str:
    return json.dumps(v, separators=(",", ":"))


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(v):
    """JSON-ready: numpy scalars and arrays to Python (lists of Python values pass as they are)."""
    if isinstance(v, (np.generic, np.ndarray)):
        return v.tolist()
    return v


def open_recording(meta_path: str | Path, notes: list[str] | None = None):
    """A checked ``sigmf.SigMFFile``. Checked: both files exist, the metadata is JSON
    with a ``global`` object; a recording of this project matches its ``semcom:meta_sha256``
    (metadata edits are detected) and is ``cf32_le``; a foreign one may be any complex datatype
    of :data:`SAMPLE_BYTES` (``read_samples`` gives complex floats, int types scaled to +-1); the
    data is whole samples and its SHA-512 matches ``core:sha512``. A recording without ``core:sha512``
    is refused when this project made it (it always writes one) and read with a note otherwise
    (a foreign recording whose integrity cannot be checked), appended to ``notes`` (None: a
    warning). RecordingError names what is wrong."""
    from sigmf import sigmffile

    meta_path = Path(meta_path)
    data_path = meta_path.with_suffix(".sigmf-data")
    if not meta_path.is_file() or not data_path.is_file():
        raise RecordingError(f"{meta_path.with_suffix('')}: recording incomplete (need .sigmf-meta and .sigmf-data)")
    try:
        meta = json.loads(meta_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordingError(f"{meta_path}: metadata is not valid JSON ({err})") from None
    glob = meta.get("global") if isinstance(meta, dict) else None
    if not isinstance(glob, dict):
        raise RecordingError(f"{meta_path}: no SigMF global object")
    ours = "semcom:config" in glob
    if ours and glob.get(META_HASH) != meta_sha256(meta):
        raise RecordingError(f"{meta_path}: the metadata does not match its {META_HASH}: it was edited after recording "
                             "(this project writes the checksum of everything that describes the samples)")
    datatype = glob.get("core:datatype")
    if datatype not in SAMPLE_BYTES or (ours and datatype != "cf32_le"):
        raise RecordingError(f"{meta_path}: core:datatype {datatype!r}: the receiver reads complex IQ "
                             f"({', '.join(SAMPLE_BYTES)}; this project records cf32_le)")
    size = data_path.stat().st_size
    if size % SAMPLE_BYTES[datatype]:
        raise RecordingError(f"{data_path}: {size} bytes is not whole {datatype} samples: truncated")
    want = glob.get("core:sha512")
    if want is None:
        if "semcom:config" in glob:
            raise RecordingError(f"{meta_path}: core:sha512 is missing (this project always records it): "
                                 "the metadata is edited")
        note = f"{meta_path.name}: no core:sha512, the data's integrity is not checked"
        if notes is None:
            import warnings
            warnings.warn(note, stacklevel=2)
        else:
            notes.append(note)
    else:
        h = hashlib.sha512()
        with open(data_path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if want != h.hexdigest():
            raise RecordingError(f"{data_path}: SHA-512 does not match its metadata: the file is modified or "
                                 "truncated")
    try:
        return sigmffile.fromfile(str(meta_path), skip_checksum=True)
    except Exception as err:                      # the sigmf package's own validation
        raise RecordingError(f"{meta_path}: not a valid SigMF recording ({str(err).splitlines()[0]})") from None


EXPORT_KEYS = ("iq", "iq_length", "symbols", "no_eff", "seq", "image", "label", "snr_db", "snr_est_db", "cfo_hz",
               "sfo_ppm", "inferred", "attack", "budget", "recording")
_LATER_KEYS = {"sfo_ppm": np.nan}      # keys exports made before them lack (read as this value)


def export_frames(recordings, out: str | Path) -> dict:
    """Every received frame of some RX recordings -> one ``.npz`` (``scripts/replay.py --export``).

    recordings : iterable of (name, samples complex64 [N], frames [ReceivedFrame] the receiver found
        in them, the recording's annotations, OfdmConfig, configured SNR or None)
    Arrays: ``iq`` complex64 [F, L] (each frame's samples, zero-padded to the longest, ``iq_length``
    int [F]), ``symbols`` complex64 [F, K] and ``no_eff`` float32 [F, K] (the equalised payload and
    its noise variance), ``seq`` int [F], ``image`` int [F] and ``label`` int [F] (the first image
    the frame carries, from the live run's annotation; -1 without), ``snr_db`` (configured; NaN
    over the air), ``snr_est_db``, ``cfo_hz`` and ``sfo_ppm`` (measured) float [F], ``inferred`` bool [F] (placed
    by the receiver from its neighbours), ``attack`` str [F] (``none``,
    ``jamming``, ``air``, ``universal``, ``pgd``) with its ``budget`` float [F] (PSR in dB, or the
    L-inf eps for ``pgd``; NaN without), ``recording`` str [F].
    Returns the arrays; :func:`load_frames` reads them."""
    from ..phy.frame import KINDS, frame_length_samples

    rows = []
    for name, samples, frames, anns, ofdm, snr in recordings:
        by_start = {a["core:sample_start"]: a for a in anns}   # the live run's frames
        for f in frames:
            n = frame_length_samples(ofdm, KINDS.index(f.kind), f.length)
            rows.append((samples[f.start:f.start + n], f, by_start.get(f.start, {}), name, snr))
    if not rows:
        raise RecordingError("no frames in the recordings to export")
    length, k = max(len(r[0]) for r in rows), max(r[1].symbols.size for r in rows)
    arrays = {"iq": np.zeros((len(rows), length), np.complex64), "iq_length": np.array([len(r[0]) for r in rows]),
              "symbols": np.zeros((len(rows), k), np.complex64), "no_eff": np.zeros((len(rows), k), np.float32)}
    for i, (iq, f, _, _, _) in enumerate(rows):
        arrays["iq"][i, :len(iq)], arrays["symbols"][i, :f.symbols.size], arrays["no_eff"][i, :f.no_eff.size] = \
            iq, f.symbols, f.no_eff
    arrays.update(
        seq=np.array([r[1].seq for r in rows]),
        image=np.array([(r[2].get("semcom:images") or [-1])[0] for r in rows]),
        label=np.array([(r[2].get("semcom:labels") or [-1])[0] for r in rows]),
        snr_db=np.array([np.nan if r[4] is None else r[4] for r in rows], float),
        snr_est_db=np.array([r[1].snr_db for r in rows], float), cfo_hz=np.array([r[1].cfo_hz for r in rows], float),
        sfo_ppm=np.array([r[1].sfo_ppm for r in rows], float),
        inferred=np.array([r[1].inferred for r in rows], bool),
        attack=np.array([r[2].get("semcom:attack", "none") for r in rows]),
        budget=np.array([r[2].get("semcom:psr_db", r[2].get("semcom:eps", np.nan)) for r in rows], float),
        recording=np.array([r[3] for r in rows]))
    from .results import replacing

    with replacing(out) as f:                     # whole or not at all
        np.savez_compressed(f, **arrays)
    return arrays


def load_frames(path: str | Path) -> dict:
    """The arrays of :func:`export_frames` (a dict of numpy arrays, keys ``EXPORT_KEYS``; an export
    made before ``sfo_ppm`` existed reads it as NaN)."""
    with np.load(path, allow_pickle=False) as z:
        missing = set(EXPORT_KEYS) - set(z.files) - set(_LATER_KEYS)
        if missing:
            raise RecordingError(f"{path}: not a frame export (missing {sorted(missing)})")
        out = {k: z[k] for k in EXPORT_KEYS if k in z.files}
    for k, fill in _LATER_KEYS.items():
        out.setdefault(k, np.full(len(out["seq"]), fill))
    return {k: out[k] for k in EXPORT_KEYS}
