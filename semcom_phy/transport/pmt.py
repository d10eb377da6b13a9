"""GNU Radio's PMT binary serialization in pure Python (numpy only), so the venv can exchange PDUs
with a flowgraph through gr-zeromq's message blocks (``push_msg_sink`` / ``pull_msg_source`` send
``pmt::serialize_str(msg)`` as the whole ZeroMQ message body). Checked byte for byte against GNU
Radio 3.10.5 (tests/transport/test_pmt.py).

Wire format: one tag byte, then its body; every number is big-endian and nothing is aligned.

  0x00 #t, 0x01 #f, 0x06 () (PMT_NIL, also the empty dict): no body     True, False, None
  0x02 symbol  u16 byte count, UTF-8 bytes                              str
  0x03 long    i32: what from_long writes for -2**31 <= x < 2**31       int
  0x0d long    i64: what from_long writes outside that range            int
  0x0b uint64  u64 (from_uint64; written here only beyond int64)        int
  0x04 real    f64                                                      float
  0x05 complex f64 real, f64 imag                                       complex
  0x07 pair    car, cdr                                                 Pair
  0x08 vector  u32 count, count PMTs                                    list
  0x0c tuple   u32 count, count PMTs (3.10.5 cannot read an empty one)  tuple
  0x09 dict    a (key . value) pair, then the rest: 0x09 again or 0x06  dict
  0x0a uniform vector: u8 type (0..11 = u8 s8 u16 s16 u32 s32 u64 s64   1-D np.ndarray
       f32 f64 c32 c64), u32 item count, u8 npad, npad zero bytes (GNU Radio writes npad=1),
       then the items (complex: real then imag)

A dict's cells run most recently added key first (``pmt.dict_add`` prepends, ``pmt.dict_keys``
reads that order), so ``serialize`` writes a Python dict's items last-first (exactly what
``pmt.to_pmt(d)`` writes) and ``deserialize`` restores insertion order. A PDU is
``pmt.cons(meta_dict, uniform_vector)``; empty metadata goes as ().
"""

import numbers
import struct
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Pair", "serialize", "deserialize", "pdu", "parse_pdu"]

_UVEC = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64, np.int64,
         np.float32, np.float64, np.complex64, np.complex128]
_UVEC_CODE = {np.dtype(t): code for code, t in enumerate(_UVEC)}
_CONST = {0x00: True, 0x01: False, 0x06: None}
_SCALAR = {0x03: ">i", 0x0d: ">q", 0x0b: ">Q", 0x04: ">d", 0x05: ">dd"}


class Pair(NamedTuple):
    """A PMT pair (``pmt.cons``); a PDU is ``Pair(meta: dict, vector: 1-D np.ndarray)``."""
    car: Any
    cdr: Any


def serialize(obj: Any) -> bytes:
    """One Python value as GNU Radio's ``pmt.serialize_str`` writes its PMT.

    Input: None, bool, int (|x| < 2**64), float, complex, str, tuple, list, dict (str keys become
    symbols), Pair, or a 1-D np.ndarray of one of the 12 uniform-vector dtypes (any byte order);
    containers nest. Output: the serialized bytes. Raises TypeError / ValueError otherwise."""
    out = bytearray()
    _write(obj, out)
    return bytes(out)


def _write(obj: Any, out: bytearray) -> None:
    if obj is None:
        out.append(0x06)
    elif isinstance(obj, (bool, np.bool_)):
        out.append(0x00 if obj else 0x01)
    elif isinstance(obj, numbers.Integral):
        v = int(obj)
        if not -2**63 <= v < 2**64:
            raise ValueError(f"integer {v} does not fit a PMT long or uint64")
        tag = 0x03 if -2**31 <= v < 2**31 else 0x0d if v < 2**63 else 0x0b
        out += bytes([tag]) + struct.pack(_SCALAR[tag], v)
    elif isinstance(obj, numbers.Real):
        out += b"\x04" + struct.pack(">d", float(obj))
    elif isinstance(obj, numbers.Complex):
        out += b"\x05" + struct.pack(">dd", obj.real, obj.imag)
    elif isinstance(obj, str):
        raw = obj.encode("utf-8")
        if len(raw) > 0xFFFF:
            raise ValueError(f"symbol of {len(raw)} bytes exceeds the 65535-byte PMT limit")
        out += b"\x02" + struct.pack(">H", len(raw)) + raw
    elif isinstance(obj, Pair):
        out.append(0x07)
        _write(obj.car, out)
        _write(obj.cdr, out)
    elif isinstance(obj, (tuple, list)):
        out += (b"\x0c" if isinstance(obj, tuple) else b"\x08") + struct.pack(">I", len(obj))
        for item in obj:
            _write(item, out)
    elif isinstance(obj, dict):
        for key, value in reversed(obj.items()):
            out += b"\x09\x07"
            _write(key, out)
            _write(value, out)
        out.append(0x06)
    elif isinstance(obj, np.ndarray):
        code = _UVEC_CODE.get(obj.dtype.newbyteorder("="))
        if code is None or obj.ndim != 1:
            raise TypeError(f"a uniform vector must be 1-D of {', '.join(t.__name__ for t in _UVEC)}; "
                            f"got {obj.ndim}-D {obj.dtype}")
        out += struct.pack(">BBIBB", 0x0a, code, obj.size, 1, 0)   # npad 1, one zero byte, as GNU Radio
        out += obj.astype(obj.dtype.newbyteorder(">")).tobytes()
    else:
        raise TypeError(f"no PMT for {type(obj).__name__}")


def deserialize(data: bytes) -> Any:
    """The inverse of :func:`serialize`, and a reader of whatever GNU Radio writes for those types.

    Input: bytes of exactly one serialized PMT. Output: the Python value (uniform vectors come back
    as native-endian 1-D np.ndarray copies). Raises ValueError, naming the offset, on truncated or
    trailing data, an unknown tag, or a malformed dict; never reads past the end."""
    data = bytes(data)
    try:
        obj, pos = _read(data, 0)
    except RecursionError:
        raise ValueError("PMT nested too deeply") from None
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} trailing bytes after the PMT at offset {pos}")
    return obj


def _take(data: bytes, pos: int, n: int) -> bytes:
    if pos + n > len(data):
        raise ValueError(f"truncated PMT data: need {n} bytes at offset {pos}, only {len(data) - pos} left")
    return data[pos:pos + n]


def _read(data: bytes, pos: int) -> tuple[Any, int]:
    tag, pos = _take(data, pos, 1)[0], pos + 1
    if tag in _CONST:
        return _CONST[tag], pos
    if tag in _SCALAR:
        size = struct.calcsize(_SCALAR[tag])
        values = struct.unpack(_SCALAR[tag], _take(data, pos, size))
        return (complex(*values) if tag == 0x05 else values[0]), pos + size
    if tag == 0x02:
        (n,) = struct.unpack(">H", _take(data, pos, 2))
        raw = _take(data, pos + 2, n)
        try:
            return raw.decode("utf-8"), pos + 2 + n
        except UnicodeDecodeError:
            raise ValueError(f"symbol at offset {pos - 1} is not UTF-8") from None
    if tag == 0x07:
        car, pos = _read(data, pos)
        cdr, pos = _read(data, pos)
        return Pair(car, cdr), pos
    if tag in (0x08, 0x0c):
        (n,), pos = struct.unpack(">I", _take(data, pos, 4)), pos + 4
        items = []
        for _ in range(n):
            item, pos = _read(data, pos)
            items.append(item)
        return (tuple(items) if tag == 0x0c else items), pos
    if tag == 0x09:
        items = []
        while tag == 0x09:           # a chain of cells, read in a loop so a long dict needs no recursion
            if _take(data, pos, 1)[0] != 0x07:
                raise ValueError(f"malformed PMT dict at offset {pos}: entry is not a (key . value) pair")
            key, pos = _read(data, pos + 1)
            value, pos = _read(data, pos)
            items.append((key, value))
            tag, pos = _take(data, pos, 1)[0], pos + 1
        if tag != 0x06:
            raise ValueError(f"malformed PMT dict at offset {pos - 1}: rest has tag 0x{tag:02x}, "
                             "not a dict or ()")
        try:
            return dict(reversed(items)), pos
        except TypeError:
            raise ValueError("PMT dict has an unhashable key (a uniform vector or list)") from None
    if tag == 0x0a:
        code, n, npad = struct.unpack(">BIB", _take(data, pos, 6))
        if code >= len(_UVEC):
            raise ValueError(f"unknown PMT uniform vector type 0x{code:02x} at offset {pos}")
        dtype = np.dtype(_UVEC[code]).newbyteorder(">")
        start = pos + 6 + npad
        raw = _take(data, start, n * dtype.itemsize)
        return np.frombuffer(raw, dtype).astype(dtype.newbyteorder("=")), start + len(raw)
    raise ValueError(f"unknown PMT tag 0x{tag:02x} at offset {pos - 1}")


def pdu(meta: dict, vector: np.ndarray) -> bytes:
    """A GNU Radio PDU, ``pmt.cons(meta_dict, uniform_vector)``, serialized for a gr-zeromq
    ``pull_msg_source``.

    Input: meta, a dict with str keys and serializable values ({} is sent as PMT_NIL, as GNU Radio
    does); vector, a 1-D array of a uniform-vector dtype (e.g. complex64 symbols, shape (n,)).
    Output: the message body bytes."""
    if not (isinstance(meta, dict) and isinstance(vector, np.ndarray)):
        raise TypeError(f"a PDU is (dict, 1-D np.ndarray), not ({type(meta).__name__}, "
                        f"{type(vector).__name__})")
    return serialize(Pair(meta, vector))


def parse_pdu(data: bytes) -> tuple[dict, np.ndarray]:
    """A PDU from a gr-zeromq ``push_msg_sink`` message body.

    Input: the serialized bytes. Output: (meta dict, payload 1-D np.ndarray in the vector's dtype,
    e.g. complex64 of shape (n,)). Raises ValueError naming what is wrong: malformed data (see
    :func:`deserialize`), not a pair, car not a dict, or cdr not a uniform vector."""
    obj = deserialize(data)
    if not isinstance(obj, Pair):
        raise ValueError(f"not a PDU: expected a PMT pair (meta . vector), got {_kind(obj)}")
    meta = {} if obj.car is None else obj.car
    if not isinstance(meta, dict):
        raise ValueError(f"not a PDU: car (metadata) is {_kind(obj.car)}, not a dict")
    if not isinstance(obj.cdr, np.ndarray):
        raise ValueError(f"not a PDU: cdr (payload) is {_kind(obj.cdr)}, not a uniform vector")
    return meta, obj.cdr


_KIND = {type(None): "() (PMT_NIL)", bool: "a bool", int: "a long", float: "a real", complex: "a complex",
         str: "a symbol", Pair: "a pair", list: "a vector", tuple: "a tuple", dict: "a dict"}


def _kind(obj: Any) -> str:
    """What a deserialized value was on the wire, for error messages."""
    return f"a uniform vector ({obj.dtype})" if isinstance(obj, np.ndarray) else _KIND[type(obj)]
