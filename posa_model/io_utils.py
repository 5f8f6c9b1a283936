"""File boundaries: atomic writes, and bounded reads that fail only with a :class:`PosaError`.

Writes go to a temporary file in the target folder, then rename over: a crash (or kill -9)
mid-write leaves either the old file or the new one, never a torn file.

Reads (:func:`require_regular_file`, :func:`open_regular_file`, :func:`read_npy_bounded`,
:func:`open_npy_memmap`, :func:`read_npz_bounded`, :func:`read_json_bounded`,
:func:`read_yaml_bounded`) refuse FIFOs, devices and folders before opening anything, check
sizes before allocating (``.npy`` headers, zip members' declared sizes and compression ratios),
never unpickle, and turn every numpy / zip / zlib / json / yaml failure into the caller's
:class:`PosaError` subclass (``error=``) with a message naming the file and the field.
"""

from __future__ import annotations

import json
import lzma
import math
import os
import stat
import tempfile
import tokenize
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np

from .errors import FileFormatError, PosaError

#: Largest array (or sum of the arrays read from one ``.npz``) a bounded reader allocates.
MAX_ARRAY_BYTES = 1 << 30
#: Largest JSON / YAML text a bounded reader reads.
MAX_TEXT_BYTES = 64 << 20
#: Zip members whose declared size exceeds this may not inflate more than MAX_ZIP_RATIO : 1.
ZIP_RATIO_FLOOR = 1 << 20
#: Deflate cannot exceed ~1032 : 1; more is a lying header or a bomb (zeros reach ~1030).
MAX_ZIP_RATIO = 2000.0
#: Most members an ``.npz`` may list, most dimensions an array may have.
MAX_ZIP_MEMBERS = 10_000
MAX_NDIM = 8
#: Deepest nesting of JSON / YAML data, and the integers it may hold (int64).
MAX_NESTING = 64
MAX_ABS_INT = 2**63 - 1
_NPY_HEADER_LIMIT = 10_000  # numpy's own default for untrusted headers
_CHUNK = 1 << 20

ErrorType = type[PosaError]

# What numpy's header parser, zipfile and the decompressors raise on damaged input.
_READ_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, EOFError, OSError,
                SyntaxError, MemoryError, RuntimeError, NotImplementedError, UnicodeError,
                tokenize.TokenError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error,
                lzma.LZMAError)

# The process umask, read once (reading it means setting it, which would race other threads).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(f)`` on a temporary binary file beside ``path``, fsync, and rename it over.

    Returns the final path. Parent folders are created. On any error the temp file is removed
    and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_savez(path: str | os.PathLike, compressed: bool = True, **arrays: np.ndarray) -> Path:
    """``np.savez(_compressed)`` via :func:`atomic_write`; never pickles (object arrays fail)."""
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"atomic_savez: field {key!r} is an object array; refusing to pickle")
    saver = np.savez_compressed if compressed else np.savez
    return atomic_write(path, lambda f: saver(f, **arrays))


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> Path:
    """``torch.save`` through :func:`atomic_write`."""
    import torch

    return atomic_write(path, lambda f: torch.save(obj, f))


# ================================================================================= bounded reads
def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def require_regular_file(path: str | os.PathLike, what: str,
                         error: ErrorType = FileFormatError) -> Path:
    """``path`` as a Path if it is a regular file (symlinks followed); else raise ``error``.

    Checked with ``stat`` before anything opens the file: opening a FIFO for reading blocks
    until a writer appears, a device may never end. ``what`` names the file's role
    ("checkpoint", "scene header", ...) in the message.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except (OSError, ValueError) as exc:  # permission, name too long, embedded NUL
        raise error(f"{path}: {what} cannot be accessed ({exc})") from exc
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: {what} must be a regular file, found {_file_kind(st.st_mode)}")
    return path


def open_regular_file(path: str | os.PathLike, what: str, error: ErrorType = FileFormatError,
                      max_bytes: int | None = None) -> BinaryIO:
    """Open a regular file for binary reading without ever blocking on a FIFO or device.

    The file is opened non-blocking and checked with ``fstat`` on the open descriptor (no race
    with a swap after :func:`require_regular_file`); ``max_bytes`` bounds its size.
    """
    path = require_regular_file(path, what, error)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"{path}: {what} cannot be opened ({exc})") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{path}: {what} must be a regular file, found {_file_kind(st.st_mode)}")
        if max_bytes is not None and st.st_size > max_bytes:
            raise error(f"{path}: {what} is {st.st_size} bytes, more than the limit of "
                        f"{max_bytes}")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes_bounded(path: str | os.PathLike, what: str, max_bytes: int = MAX_TEXT_BYTES,
                       error: ErrorType = FileFormatError) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` bytes."""
    with open_regular_file(path, what, error, max_bytes) as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise error(f"{path}: {what} cannot be read ({exc})") from exc
    if len(data) > max_bytes:  # grew after the size check
        raise error(f"{path}: {what} is more than the limit of {max_bytes} bytes")
    return data


def read_text_bounded(path: str | os.PathLike, what: str, max_bytes: int = MAX_TEXT_BYTES,
                      error: ErrorType = FileFormatError) -> str:
    """A UTF-8 text file of at most ``max_bytes`` bytes (invalid UTF-8 raises ``error``)."""
    data = read_bytes_bounded(path, what, max_bytes, error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {what} is not valid UTF-8 (byte {exc.start}: {exc.reason})") from exc


# ---------------------------------------------------------------------------------- .npy/.npz
@dataclass(frozen=True)
class NpyHeader:
    """A validated ``.npy`` header: shape, dtype, order, data offset and size in bytes."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int
    nbytes: int


_KIND_NAMES = {"b": "bool", "i": "signed integer", "u": "unsigned integer", "f": "floating-point",
               "c": "complex", "U": "unicode string", "S": "byte string"}


def _kinds_text(kinds: str) -> str:
    return " or ".join(_KIND_NAMES.get(k, k) for k in kinds)


def read_npy_header(fp: IO[bytes], where: str, kinds: str = "biuf",
                    max_bytes: int = MAX_ARRAY_BYTES,
                    error: ErrorType = FileFormatError) -> NpyHeader:
    """Parse and check the header of an ``.npy`` stream positioned at its start.

    Refuses object, structured and sub-array dtypes, dtype kinds not in ``kinds`` (numpy's
    ``dtype.kind`` letters), more than :data:`MAX_NDIM` dimensions and data of more than
    ``max_bytes`` bytes. ``where`` ("<file>: field 'x'") starts every message.
    """
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                fp, max_header_size=_NPY_HEADER_LIMIT)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                fp, max_header_size=_NPY_HEADER_LIMIT)
        else:
            raise error(f"{where}: .npy format version {version[0]}.{version[1]} is not "
                        "supported (1.0 and 2.0 are)")
        offset = fp.tell()
    except PosaError:
        raise
    except _READ_ERRORS as exc:
        raise error(f"{where}: cannot read the .npy array header ({type(exc).__name__}: "
                    f"{_short(exc)})") from exc
    dtype = np.dtype(dtype)
    if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None:
        raise error(f"{where}: dtype {dtype} is refused (object, structured or sub-array "
                    f"dtypes); expected {_kinds_text(kinds)}")
    if dtype.kind not in kinds:
        raise error(f"{where}: expected {_kinds_text(kinds)} values, found dtype {dtype}")
    if dtype.itemsize == 0:
        raise error(f"{where}: dtype {dtype} has zero-sized items")
    if not isinstance(shape, tuple) or len(shape) > MAX_NDIM or any(
            not isinstance(n, int) or n < 0 for n in shape):
        raise error(f"{where}: header shape {_short(shape)} is not a tuple of at most "
                    f"{MAX_NDIM} non-negative ints")
    longest = max(max_bytes // dtype.itemsize, 1)
    if any(n > longest for n in shape):  # (10**12, 0) holds no bytes but is no sane array
        raise error(f"{where}: header shape {shape} has a side longer than the {longest} "
                    f"items the limit of {max_bytes} bytes allows")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > max_bytes:
        raise error(f"{where}: header declares shape {shape} of {dtype} = {nbytes} bytes, "
                    f"more than the limit of {max_bytes}")
    return NpyHeader(tuple(shape), dtype, bool(fortran), int(offset), int(nbytes))


def _read_npy_data(fp: IO[bytes], header: NpyHeader, where: str, error: ErrorType) -> np.ndarray:
    n = header.nbytes
    if n == 0:
        return np.zeros(header.shape, header.dtype)
    buf = bytearray(n)
    view = memoryview(buf)
    pos = 0
    while pos < n:
        chunk = fp.read(min(_CHUNK, n - pos))
        if not chunk:
            raise error(f"{where}: truncated: the header declares {n} bytes of data, the file "
                        f"holds {pos}")
        view[pos:pos + len(chunk)] = chunk
        pos += len(chunk)
    flat = np.frombuffer(buf, dtype=header.dtype)
    if header.fortran_order:
        return flat.reshape(header.shape[::-1]).transpose()
    return flat.reshape(header.shape)


def _short(obj: object, limit: int = 200) -> str:
    text = str(obj)
    return text if len(text) <= limit else text[:limit] + "..."


def read_npy_bounded(path: str | os.PathLike, what: str, *, kinds: str = "biuf",
                     max_bytes: int = MAX_ARRAY_BYTES,
                     error: ErrorType = FileFormatError) -> np.ndarray:
    """Read one ``.npy`` file into memory after checking its header (see
    :func:`read_npy_header`); a truncated file, a bad header or a FIFO raise ``error``."""
    where = f"{path}: {what}"
    with open_regular_file(path, what, error) as f:
        header = read_npy_header(f, where, kinds, max_bytes, error)
        try:
            return _read_npy_data(f, header, where, error)
        except PosaError:
            raise
        except _READ_ERRORS as exc:
            raise error(f"{where}: cannot read the array data ({type(exc).__name__}: "
                        f"{_short(exc)})") from exc


def open_npy_memmap(path: str | os.PathLike, what: str, *, kinds: str = "biuf",
                    max_bytes: int | None = None,
                    error: ErrorType = FileFormatError) -> np.ndarray:
    """A read-only memory map of an ``.npy`` file whose header was checked and whose size
    covers the data it declares (``max_bytes`` None: only the file size bounds it)."""
    where = f"{path}: {what}"
    with open_regular_file(path, what, error) as f:
        size = os.fstat(f.fileno()).st_size
        limit = max(size, _CHUNK) if max_bytes is None else max_bytes  # sides of empty arrays
        header = read_npy_header(f, where, kinds, limit, error)
        if header.offset + header.nbytes > size:
            raise error(f"{where}: truncated: the header declares {header.nbytes} bytes of "
                        f"data, the file holds {max(0, size - header.offset)}")
        if header.nbytes == 0:
            empty = np.zeros(header.shape, header.dtype)
            empty.setflags(write=False)
            return empty
        try:
            return np.memmap(f, dtype=header.dtype, mode="r", offset=header.offset,
                             shape=header.shape, order="F" if header.fortran_order else "C")
        except _READ_ERRORS as exc:
            raise error(f"{where}: cannot be memory-mapped ({type(exc).__name__}: "
                        f"{_short(exc)})") from exc


def read_npz_bounded(path: str | os.PathLike, what: str, *, keys: Iterable[str] | None = None,
                     kinds: str = "biufUS", max_bytes: int = MAX_ARRAY_BYTES,
                     max_ratio: float = MAX_ZIP_RATIO,
                     error: ErrorType = FileFormatError) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file (``keys``: only those; others are never inflated).

    Before inflating a member its declared size is checked against what is left of
    ``max_bytes`` (the sum over the members read) and, above :data:`ZIP_RATIO_FLOOR`, its
    compression ratio against ``max_ratio``; then its ``.npy`` header is checked like
    :func:`read_npy_header` and exactly the declared data is read. Members that are not
    ``.npy`` files are ignored. Missing keys are simply absent from the result.
    """
    wanted = None if keys is None else set(keys)
    out: dict[str, np.ndarray] = {}
    where = f"{path}: {what}"
    with open_regular_file(path, what, error) as f:
        try:
            with zipfile.ZipFile(f) as archive:
                infos = archive.infolist()
                if len(infos) > MAX_ZIP_MEMBERS:
                    raise error(f"{where}: {len(infos)} zip members, more than the limit of "
                                f"{MAX_ZIP_MEMBERS}")
                members = {}
                for info in infos:
                    if info.filename.endswith(".npy"):
                        key = info.filename[:-4]
                        if wanted is None or key in wanted:
                            if key in members:
                                raise error(f"{where}: member {info.filename!r} appears twice")
                            members[key] = info
                left = max_bytes
                for key, info in members.items():
                    where = f"{path}: field {key!r}"
                    declared = info.file_size
                    if declared > left + _NPY_HEADER_LIMIT + 16:
                        raise error(f"{where}: declares {declared} bytes uncompressed, more "
                                    f"than the {left} bytes left of the limit of {max_bytes}")
                    ratio = declared / max(1, info.compress_size)
                    if declared > ZIP_RATIO_FLOOR and ratio > max_ratio:
                        raise error(f"{where}: inflates {ratio:.0f}:1 ({info.compress_size} -> "
                                    f"{declared} bytes), more than the limit of "
                                    f"{max_ratio:.0f}:1 (a zip bomb?)")
                    with archive.open(info) as member:
                        header = read_npy_header(member, where, kinds, left, error)
                        if header.offset + header.nbytes > declared:
                            raise error(f"{where}: truncated: the header declares "
                                        f"{header.nbytes} bytes of data, the member holds "
                                        f"{max(0, declared - header.offset)}")
                        out[key] = _read_npy_data(member, header, where, error)
                    left -= header.nbytes
        except PosaError:
            raise
        except _READ_ERRORS as exc:
            raise error(f"{where}: not a readable .npz archive ({type(exc).__name__}: "
                        f"{_short(exc)})") from exc
    return out


def check_zip_sizes(fp: IO[bytes], where: str, max_bytes: int = MAX_ARRAY_BYTES,
                    max_ratio: float = MAX_ZIP_RATIO, error: ErrorType = FileFormatError) -> None:
    """If the seekable stream ``fp`` is a zip archive (e.g. a ``torch.save`` file), refuse it
    when its members declare more than ``max_bytes`` in all, or a member above
    :data:`ZIP_RATIO_FLOOR` inflates more than ``max_ratio`` : 1. Only the central directory
    is read; ``fp`` is left at its start. A stream that is not a zip passes."""
    try:
        fp.seek(0)
        if not zipfile.is_zipfile(fp):
            return
        fp.seek(0)
        with zipfile.ZipFile(fp) as archive:
            infos = archive.infolist()
    except _READ_ERRORS as exc:
        raise error(f"{where}: not a readable zip archive ({type(exc).__name__}: "
                    f"{_short(exc)})") from exc
    finally:
        fp.seek(0)
    if len(infos) > MAX_ZIP_MEMBERS:
        raise error(f"{where}: {len(infos)} zip members, more than the limit of "
                    f"{MAX_ZIP_MEMBERS}")
    total = 0
    for info in infos:
        total += info.file_size
        if total > max_bytes:
            raise error(f"{where}: zip members declare more than {max_bytes} bytes "
                        f"uncompressed (at {info.filename!r})")
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > ZIP_RATIO_FLOOR and ratio > max_ratio:
            raise error(f"{where}: member {info.filename!r} inflates {ratio:.0f}:1, more than "
                        f"the limit of {max_ratio:.0f}:1 (a zip bomb?)")


def npz_scalar(arrays: dict[str, np.ndarray], key: str, where: str, kinds: str = "iu",
               error: ErrorType = FileFormatError) -> Any:
    """The 0-d (or one-element) array ``arrays[key]`` as a Python scalar of a kind in ``kinds``
    ("iu" -> int, "f" -> finite float, "US" -> str, "b" -> bool)."""
    if key not in arrays:
        raise error(f"{where}: field {key!r} is missing")
    a = arrays[key]
    if a.size != 1 or a.ndim > 1 or a.dtype.kind not in kinds:
        raise error(f"{where}: field {key!r} must be one {_kinds_text(kinds)} value, found "
                    f"{a.dtype} array of shape {a.shape}")
    value = a.reshape(()).item()
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{where}: field {key!r} is not valid UTF-8") from exc
    if isinstance(value, float) and not math.isfinite(value):
        raise error(f"{where}: field {key!r} must be finite, found {value}")
    return value


# ---------------------------------------------------------------------------------- JSON / YAML
# The number hooks of json.loads raise ValueError, which read_json_bounded turns into its error.
def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > 19 or abs(int(text)) > MAX_ABS_INT:
        raise ValueError(f"integer with {digits} digits is out of the int64 range")
    return int(text)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {_short(text, 40)} is not finite")
    return value


def _json_constant(text: str) -> float:
    raise ValueError(f"{text} is not allowed (numbers must be finite)")


def check_plain_data(data: Any, where: str, error: ErrorType = FileFormatError,
                     finite: bool = True, max_depth: int = MAX_NESTING) -> Any:
    """Check that ``data`` is JSON-like: dicts with str keys, lists, str, bool, None, ints in
    the int64 range and (``finite``) finite floats, nested at most ``max_depth`` deep.

    Shared sub-objects (YAML aliases) are visited once, so an alias bomb stays linear.
    Returns ``data``.
    """
    seen: set[int] = set()
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        obj, depth, at = stack.pop()
        field = f" at {at}" if at else ""
        if isinstance(obj, bool) or obj is None or isinstance(obj, str):
            continue
        if isinstance(obj, int):
            if abs(obj) > MAX_ABS_INT:
                raise error(f"{where}: integer{field} is out of the int64 range")
            continue
        if isinstance(obj, float):
            if finite and not math.isfinite(obj):
                raise error(f"{where}: value{field} must be a finite number, found {obj}")
            continue
        if not isinstance(obj, dict | list):
            raise error(f"{where}: value{field} has unsupported type {type(obj).__name__}")
        if depth >= max_depth:
            raise error(f"{where}: data nested more than {max_depth} levels deep")
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            for key, value in obj.items():
                if not isinstance(key, str):
                    raise error(f"{where}: key {_short(repr(key), 60)}{field} must be a string")
                stack.append((value, depth + 1, f"{at}.{key}" if at else key))
        else:
            stack.extend((value, depth + 1, f"{at}[{i}]") for i, value in enumerate(obj))
    return data


def read_json_bounded(path: str | os.PathLike, what: str, *, max_bytes: int = MAX_TEXT_BYTES,
                      error: ErrorType = FileFormatError) -> Any:
    """Parse a JSON file of at most ``max_bytes`` bytes: UTF-8, finite numbers only (NaN,
    Infinity and overflowing floats refused), ints in the int64 range, nesting bounded."""
    text = read_text_bounded(path, what, max_bytes, error)
    try:
        data = json.loads(text, parse_int=_json_int, parse_float=_json_float,
                          parse_constant=_json_constant)
    except RecursionError as exc:
        raise error(f"{path}: {what} is nested too deeply") from exc
    except ValueError as exc:
        raise error(f"{path}: {what} is not valid JSON ({_short(exc)})") from exc
    return check_plain_data(data, f"{path}: {what}", error)


def read_yaml_bounded(path: str | os.PathLike, what: str, *, max_bytes: int = MAX_TEXT_BYTES,
                      error: ErrorType = FileFormatError) -> Any:
    """Parse a YAML file (``yaml.safe_load``) with the checks of :func:`read_json_bounded`:
    UTF-8, finite numbers (``.nan``/``.inf`` refused), int64 ints, bounded nesting, plain types.
    """
    text = read_text_bounded(path, what, max_bytes, error)
    try:
        import yaml
    except ImportError as exc:
        raise error(f"{path}: reading YAML needs pyyaml (pip install pyyaml)") from exc
    try:
        data = yaml.safe_load(text)
    except RecursionError as exc:
        raise error(f"{path}: {what} is nested too deeply") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path}: {what} is not valid YAML ({_short(exc, 400)})") from exc
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. huge ints, bad dates, [k]: v
        raise error(f"{path}: {what} holds a value YAML cannot build ({_short(exc)})") from exc
    return check_plain_data(data, f"{path}: {what}", error)
