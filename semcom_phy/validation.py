"""Argument and config validation: the one set of checks every module of ``semcom_phy`` uses.

Every check raises ``ValueError`` (never ``TypeError``, whatever the type of the value) and
returns the value it accepted, converted where that helps (``check_number`` gives a ``float`` or
an ``int``). The module imports no torch and no numpy at import time (numpy is imported by the
checks that need it), so configs and scripts can use it for free.

Message conventions (docs/conventions.md section 1): a message names the field, the value (its
``repr``) and what is allowed, in one of these forms::

    OfdmConfig.fft_size = 3 is out of range: allowed [16, 4096]      # a number outside its range
    OfdmConfig.fft_size = 2.5: must be an integer in [16, 4096]      # the wrong kind of number
    ChannelConfig.snr_db = nan: must be a finite number in [-30, 100]
    ModemConfig.mode = 'hybrid': allowed values are 'analog', 'digital'
    VirtualAir.sample_clock_offset = 'yes': allowed True or False
    eps = -0.1 is out of range: allowed [0, inf)                     # a function argument

* The field is ``Class.field`` for a config (``owner``: the class, its name or an instance) and
  the bare argument name for a function argument (no ``owner``).
* Ranges are intervals: ``[`` / ``]`` closed, ``(`` / ``)`` open; a missing bound is ``-inf`` /
  ``inf`` (always open). Integer bounds print exactly, float bounds with ``:g``.
* Arrays are named with their dtype or shape instead of their values (``bits has dtype
  float64: ...``).

Booleans are not numbers here: ``True`` is rejected where a number or an integer is expected, and
``1`` where a bool is. NaN and +-inf are rejected wherever a number is expected (except ``-inf``
by :func:`check_psr`, which means no perturbation).
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Hashable
from typing import Any

__all__ = [
    "check_number",
    "check_int",
    "check_seed",
    "check_optional",
    "check_choice",
    "check_bool",
    "check_psr",
    "check_bits",
    "check_rng",
    "check_field",
]


def _label(name: str, owner: Any = None) -> str:
    """``name``, or ``Owner.name`` with the name of ``owner`` (a str, a class or an instance)."""
    if owner is None:
        return name
    if not isinstance(owner, str):
        owner = owner.__name__ if isinstance(owner, type) else type(owner).__name__
    return f"{owner}.{name}"


def _bound(value) -> str:
    return str(int(value)) if isinstance(value, numbers.Integral) else f"{value:g}"


def _interval(lo, hi, lo_open: bool = False, hi_open: bool = False) -> str:
    """``[lo, hi]``, ``(lo, hi)``, ``[lo, inf)``, ... (a missing bound is infinite, hence open)."""
    left = "(-inf" if lo is None else f"{'(' if lo_open else '['}{_bound(lo)}"
    right = "inf)" if hi is None else f"{_bound(hi)}{')' if hi_open else ']'}"
    return f"{left}, {right}"


def _is_bool(value) -> bool:
    """``bool`` or ``numpy.bool_`` (numpy need not be imported: then no value is a numpy bool)."""
    np = sys.modules.get("numpy")
    return isinstance(value, bool) or (np is not None and isinstance(value, np.bool_))


def _finite(value: numbers.Real, integer: bool) -> bool:
    """Finite, and (unless kept as an int) representable as a float (2**1100 is not)."""
    if isinstance(value, numbers.Integral):
        return integer or abs(value) <= sys.float_info.max
    return math.isfinite(value)


def check_number(value, name: str, lo: float | None = None, hi: float | None = None, *,
                 lo_open: bool = False, hi_open: bool = False, integer: bool = False,
                 owner: Any = None, unit: str = "", fmt: str | None = None) -> float | int:
    """A finite real number (an integer with ``integer=True``) within ``[lo, hi]``.

    Input
    -----
    value : Any
        The value to check; ``int``, ``float`` and numpy scalars are numbers, ``bool`` is not.
    name : str
        The field or argument name for the message.
    lo, hi : float | int | None
        The bounds (None: unbounded on that side).
    lo_open, hi_open : bool
        Exclude the bound itself (``(lo, ...`` / ``..., hi)``).
    integer : bool
        Require an integral type (``int`` or a numpy integer; ``2.0`` is not an integer).
    owner : str | type | object | None
        Prefixes the field with a class name: ``OfdmConfig.fft_size = 3 ...``.
    unit : str
        Text after the range in the message, e.g. ``"Hz for the AD9363"``.
    fmt : str | None
        Format spec for the value in the out-of-range message (default: its ``repr``), e.g.
        ``"g"`` for ``5.8e+09``.

    Output
    ------
    int | float
        ``int(value)`` with ``integer=True``, else ``float(value)``.

    Raises ``ValueError``: ``{field} = {value!r}: must be an integer in [lo, hi]`` / ``must be a
    finite number in [lo, hi]`` for the wrong kind of value, ``{field} = {value} is out of range:
    allowed [lo, hi]`` for a number outside the range.
    """
    label = _label(name, owner)
    bounded = lo is not None or hi is not None
    allowed = _interval(lo, hi, lo_open, hi_open) + (f" {unit}" if unit else "")
    where = f" in {allowed}" if bounded else ""
    if integer and (_is_bool(value) or not isinstance(value, numbers.Integral)):
        raise ValueError(f"{label} = {value!r}: must be an integer{where}")
    if _is_bool(value) or not isinstance(value, numbers.Real) or not _finite(value, integer):
        raise ValueError(f"{label} = {value!r}: must be a finite number{where}")
    if (lo is not None and (value <= lo if lo_open else value < lo)) or \
            (hi is not None and (value >= hi if hi_open else value > hi)):
        shown = repr(value) if fmt is None else format(value, fmt)
        raise ValueError(f"{label} = {shown} is out of range: allowed {allowed}")
    return int(value) if integer else float(value)


def check_int(value, name: str, lo: int | None = None, hi: int | None = None, *,
              owner: Any = None) -> int:
    """An integer in ``[lo, hi]``: :func:`check_number` with ``integer=True``.

    Input
    -----
    value : Any; name : str; lo, hi : int | None (None: unbounded); owner : as check_number

    Output
    ------
    int
    """
    return check_number(value, name, lo, hi, integer=True, owner=owner)


def check_seed(seed, name: str = "seed", lo: int = 0, hi: int | None = None, *,
               owner: Any = None) -> int:
    """A seed: an integer in ``[lo, hi]`` (default ``>= 0``, what ``numpy.random.default_rng``
    and ``torch.Generator.manual_seed`` take; narrower ranges for an LFSR state, e.g. [1, 127]).

    Input
    -----
    seed : Any; name : str; lo : int; hi : int | None (None: unbounded); owner : as check_number

    Output
    ------
    int
    """
    return check_int(seed, name, lo, hi, owner=owner)


def check_optional(value, name: str, lo: float | None = None, hi: float | None = None, *,
                   owner: Any = None, **kwargs) -> float | int | None:
    """``None`` (a setting that is off) or a number that passes :func:`check_number`.

    Input
    -----
    value : Any; name : str; lo, hi : float | None; owner, kwargs : as check_number

    Output
    ------
    None | float | int
        None for None, else what :func:`check_number` returns.
    """
    if value is None:
        return None
    return check_number(value, name, lo, hi, owner=owner, **kwargs)


def check_choice(value, name: str, choices, owner: Any = None):
    """One of ``choices`` (compared with ``==``; a ``bool`` never matches a number).

    Input
    -----
    value : Any
    name : str
    choices : Iterable[Hashable]
        The allowed values, in the order the message lists them.
    owner : as check_number

    Output
    ------
    The value, unchanged.

    Raises ``ValueError``: ``{field} = {value!r}: allowed values are 'a', 'b'``.
    """
    choices = tuple(choices)
    ok = isinstance(value, Hashable) and any(
        value == c and _is_bool(value) == _is_bool(c) for c in choices)
    if not ok:
        raise ValueError(f"{_label(name, owner)} = {value!r}: allowed values are "
                         f"{', '.join(map(repr, choices))}")
    return value


def check_bool(value, name: str, owner: Any = None) -> bool:
    """``True`` or ``False`` (``bool`` or ``numpy.bool_``; not 0 / 1, not a string).

    Input
    -----
    value : Any; name : str; owner : as check_number

    Output
    ------
    bool

    Raises ``ValueError``: ``{field} = {value!r}: allowed True or False``.
    """
    if not _is_bool(value):
        raise ValueError(f"{_label(name, owner)} = {value!r}: allowed True or False")
    return bool(value)


def check_psr(psr_db, name: str = "psr_db") -> float:
    """A PSR budget in dB (docs/conventions.md section 2): a real number or ``-inf`` (no
    perturbation), not NaN or ``+inf``.

    Input
    -----
    psr_db : Any; name : str

    Output
    ------
    float
    """
    if _is_bool(psr_db) or not isinstance(psr_db, numbers.Real):
        raise ValueError(f"{name} = {psr_db!r}: must be a number in dB ([-inf, inf), -inf: no perturbation)")
    psr_db = float(psr_db)
    if math.isnan(psr_db) or psr_db == math.inf:
        raise ValueError(f"{name} = {psr_db!r} is out of range: allowed [-inf, inf) dB")
    return psr_db


def check_bits(bits, name: str = "bits"):
    """An array of bits: integer or bool dtype, at least one axis, values 0 and 1 only.

    Input
    -----
    bits : array_like, integer or bool [..., n]
    name : str

    Output
    ------
    numpy.ndarray
        ``numpy.asarray(bits)`` (no copy), a bool array viewed as uint8; same shape.
    """
    import numpy as np

    bits = np.asarray(bits)
    if bits.dtype == np.bool_:
        bits = bits.view(np.uint8)
    elif not np.issubdtype(bits.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array of 0/1 values, got dtype {bits.dtype}")
    if bits.ndim == 0:
        raise ValueError(f"{name} must have at least one axis, got a scalar")
    if bits.size and (bits.min() < 0 or bits.max() > 1):
        raise ValueError(f"{name} must contain only the values 0 and 1")
    return bits


def check_rng(rng, name: str = "rng"):
    """A ``numpy.random.Generator``, the only source of randomness of the numpy code.

    Input
    -----
    rng : Any; name : str

    Output
    ------
    numpy.random.Generator
        ``rng`` itself.
    """
    np = sys.modules.get("numpy")
    if np is None or not isinstance(rng, np.random.Generator):
        raise ValueError(f"{name} = {rng!r}: must be a numpy.random.Generator "
                         "(e.g. np.random.default_rng(seed))")
    return rng


def check_field(obj: Any, name: str, lo: float | None = None, hi: float | None = None, *,
                choices=None, optional: bool = False, **kwargs):
    """Check the attribute ``name`` of ``obj`` (a dataclass in its ``__post_init__``), the
    message prefixed by the class name: ``check_field(self, "fft_size", 16, 4096, integer=True)``.

    Input
    -----
    obj : object
        The config (its type names the field).
    name : str
        The attribute.
    lo, hi, kwargs : as :func:`check_number` (``lo_open``, ``hi_open``, ``integer``, ``unit``, ``fmt``)
    choices : Iterable | None
        Check with :func:`check_choice` instead of :func:`check_number`.
    optional : bool
        ``None`` passes (a setting that is off), as :func:`check_optional`.

    Output
    ------
    What the check returns (the attribute is not changed).
    """
    value = getattr(obj, name)
    if optional and value is None:
        return None
    if choices is not None:
        return check_choice(value, name, choices, owner=obj)
    return check_number(value, name, lo, hi, owner=obj, **kwargs)


def arg_type(kind: type, lo: float | None = None, hi: float | None = None):
    """An ``argparse`` ``type=`` that parses ``kind`` (int or float) and checks it with
    :func:`check_number` in [lo, hi]: ``--num-images 0`` is refused with the range named, never
    read as "the default".

    Output: a function str -> int | float raising ``argparse.ArgumentTypeError``."""
    import argparse

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        try:
            return check_number(value, "value", lo, hi, integer=kind is int)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err).replace("value = ", "", 1)) from None

    parse.__name__ = kind.__name__
    return parse
