"""The few libcurl and C library calls pycurl does not offer, made through ctypes.

The driver thread wants libcurl to do the per-request work without calling into Python,
since every callback into Python takes the GIL from the event loop's thread. Two things
make that possible and are missing from pycurl:

- ``curl_multi_poll`` and ``curl_multi_wakeup``: the driver waits on libcurl's own
  sockets (no socket callback per change of interest) and is woken from another thread.
- Header lines written by the C library's ``fwrite`` into an ``open_memstream`` buffer
  (``CURLOPT_HEADERFUNCTION`` set to ``fwrite``, ``CURLOPT_HEADERDATA`` to the stream):
  no callback into Python per header line.

Both need the ``CURL *`` and ``CURLM *`` pointers inside pycurl's objects. pycurl keeps
them right after the object header, its dictionary and its weak-reference list; that
offset is checked once, on objects made for the purpose, by asking libcurl about the
pointer found there (``CURLINFO_PRIVATE``, which pycurl sets to the object itself, and
``curl_multi_timeout``, which refuses anything that is not a multi handle), and the
library found in the process is checked to be the one pycurl reports. When a check
fails, :func:`native` raises a clear error instead of guessing.

Calls that cannot block are made through ``ctypes.PyDLL`` (they keep the GIL: releasing
it would hand it to the other thread and wait for it back); ``curl_multi_poll``, which
sleeps, through ``ctypes.CDLL`` (it releases the GIL).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import sys
from collections.abc import Callable
from typing import Final

import pycurl

try:
    from client_curl import _cdriver as cdriver
except ImportError:  # built without a C compiler: the driver written in Python runs
    cdriver = None  # type: ignore[assignment]

__all__ = [
    "BodyStream",
    "HeaderStore",
    "MemoryStream",
    "Native",
    "NativeError",
    "cdriver",
    "native",
]

_CURLINFO_PRIVATE: Final = 0x100000 + 21  # CURLINFO_STRING + 21
_SEEK_SET: Final = 0
_OFFSET: Final = object.__basicsize__ + 2 * ctypes.sizeof(ctypes.c_void_p)


class NativeError(RuntimeError):
    """libcurl's handles cannot be reached safely in this pycurl build."""


def _loaded_libcurl() -> str | None:
    """The path of the libcurl shared object loaded into this process (pycurl's).

    Linux lists it in ``/proc/self/maps``; elsewhere the copy a pycurl wheel bundles is
    looked for next to the package, then the system's. Whichever is found is checked
    against pycurl's version before use.
    """
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.rsplit(None, 1)[-1] if line.count(" ") >= 5 else ""
                if "libcurl" in os.path.basename(path) and os.path.isfile(path):
                    return path
    except OSError:
        pass
    package = os.path.dirname(os.path.abspath(getattr(pycurl, "__file__", "") or "."))
    for folder in (package + ".libs", os.path.join(package, ".dylibs")):
        with contextlib.suppress(OSError):
            for name in sorted(os.listdir(folder)):
                if name.startswith("libcurl"):
                    return os.path.join(folder, name)
    return ctypes.util.find_library("curl")


class Native:
    """libcurl's and the C library's functions, bound once per process.

    Raises:
        NativeError: The library or pycurl's object layout is not the expected one.
    """

    def __init__(self) -> None:
        path = _loaded_libcurl()
        if path is None:
            raise NativeError("the libcurl library pycurl uses was not found in this process")
        try:
            blocking = ctypes.CDLL(path)
            holding = ctypes.PyDLL(path)
            libc = ctypes.PyDLL(None)
        except OSError as exc:
            raise NativeError(f"cannot load {path}: {exc}") from None
        try:
            self._bind(path, blocking, holding, libc)
        except AttributeError as exc:  # a function missing (libcurl < 7.68, no memstreams)
            raise NativeError(
                f"a function is missing from {path} or the C library: {exc}"
            ) from None
        self._check_layout()

    def _bind(
        self, path: str, blocking: ctypes.CDLL, holding: ctypes.PyDLL, libc: ctypes.PyDLL
    ) -> None:
        version = holding.curl_version
        version.restype = ctypes.c_char_p
        found = (version() or b"").decode("ascii", "replace").split(" ", 1)[0]
        expected = pycurl.version.split(" ")[1] if " " in pycurl.version else ""
        if found != expected:
            raise NativeError(
                f"the libcurl found ({found}) is not pycurl's ({expected}), at {path}"
            )

        self.poll = blocking.curl_multi_poll
        self.poll.argtypes = (
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_void_p,
        )
        self.poll.restype = ctypes.c_int
        self.wakeup = holding.curl_multi_wakeup
        self.wakeup.argtypes = (ctypes.c_void_p,)
        self.wakeup.restype = ctypes.c_int
        self._timeout = holding.curl_multi_timeout
        self._timeout.argtypes = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_long))
        self._timeout.restype = ctypes.c_int
        # curl_easy_setopt and curl_easy_getinfo are variadic: no argtypes, each argument
        # passed as a ctypes object of the right size.
        self._setopt = holding.curl_easy_setopt
        self._setopt.restype = ctypes.c_int
        self._getinfo = holding.curl_easy_getinfo
        self._getinfo.restype = ctypes.c_int

        self.open_memstream = libc.open_memstream
        self.open_memstream.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
        self.open_memstream.restype = ctypes.c_void_p
        self.fflush = libc.fflush
        self.fflush.argtypes = (ctypes.c_void_p,)
        self.fflush.restype = ctypes.c_int
        self.fseek = libc.fseek
        self.fseek.argtypes = (ctypes.c_void_p, ctypes.c_long, ctypes.c_int)
        self.fseek.restype = ctypes.c_int
        self.fclose = libc.fclose
        self.fclose.argtypes = (ctypes.c_void_p,)
        self.fclose.restype = ctypes.c_int
        self.free = libc.free
        self.free.argtypes = (ctypes.c_void_p,)
        self.free.restype = None
        self.fwrite = ctypes.c_void_p(ctypes.cast(libc.fwrite, ctypes.c_void_p).value)
        # For client_curl._cdriver, which calls libcurl through these pointers.
        self.driver_functions: tuple[int, ...] = tuple(
            ctypes.cast(getattr(holding, name), ctypes.c_void_p).value or 0
            for name in (
                "curl_multi_perform",
                "curl_multi_poll",
                "curl_multi_wakeup",
                "curl_multi_add_handle",
                "curl_multi_remove_handle",
                "curl_multi_info_read",
                "curl_easy_pause",
                "curl_easy_getinfo",
                "curl_easy_setopt",
            )
        )
        self.setopt_pointer = self.driver_functions[-1]
        self.write = libc.fwrite
        self.write.argtypes = (ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p)
        self.write.restype = ctypes.c_size_t

    def _check_layout(self) -> None:
        easy = pycurl.Curl()
        try:
            pointer = self.easy_pointer(easy)
            private = ctypes.c_void_p()
            code = self._getinfo(
                ctypes.c_void_p(pointer), ctypes.c_int(_CURLINFO_PRIVATE), ctypes.byref(private)
            )
            if code != 0 or private.value != id(easy):
                raise NativeError("pycurl's Curl object does not hold its handle where expected")
        finally:
            easy.close()
        multi = pycurl.CurlMulti()
        try:
            wait = ctypes.c_long()
            if self._timeout(self.multi_pointer(multi), ctypes.byref(wait)) != 0:
                raise NativeError(
                    "pycurl's CurlMulti object does not hold its handle where expected"
                )
        finally:
            multi.close()

    @staticmethod
    def easy_pointer(easy: pycurl.Curl) -> int:
        """The ``CURL *`` of a pycurl handle (``0`` once it is closed)."""
        return ctypes.c_void_p.from_address(id(easy) + _OFFSET).value or 0

    @staticmethod
    def multi_pointer(multi: pycurl.CurlMulti) -> int:
        """The ``CURLM *`` of a pycurl multi handle (``0`` once it is closed)."""
        return ctypes.c_void_p.from_address(id(multi) + _OFFSET).value or 0

    def set_pointer(self, easy: pycurl.Curl, option: int, value: ctypes.c_void_p) -> None:
        """Set a pointer option (a function or data pointer) on a pycurl handle.

        Raises:
            NativeError: libcurl refused it.
        """
        code = self._setopt(ctypes.c_void_p(self.easy_pointer(easy)), ctypes.c_int(option), value)
        if code != 0:
            raise NativeError(f"libcurl refused option {option}: code {code}")


class MemoryStream:
    """An ``open_memstream`` that libcurl's ``fwrite`` writes into, without Python.

    Args:
        lib: The bound functions.

    Raises:
        MemoryError: The stream could not be opened.
    """

    __slots__ = ("_buffer", "_fflush", "_file", "_fseek", "_lib", "_size", "_string_at")

    def __init__(self, lib: Native) -> None:
        self._lib = lib
        self._buffer = ctypes.c_void_p()
        self._size = ctypes.c_size_t()
        file = lib.open_memstream(ctypes.byref(self._buffer), ctypes.byref(self._size))
        if not file:
            raise MemoryError("open_memstream failed")
        self._file = ctypes.c_void_p(file)
        self._fflush: Callable[[], int] = functools.partial(lib.fflush, self._file)
        self._fseek: Callable[[], int] = functools.partial(lib.fseek, self._file, 0, _SEEK_SET)
        self._string_at = ctypes.string_at

    def size(self) -> int:
        """How many bytes were written since the last :meth:`rewind` (flushes first)."""
        self._fflush()
        return self._size.value

    def take(self, size: int) -> bytes:
        """The first ``size`` bytes (as measured by :meth:`size`, with no write since)."""
        return self._string_at(self._buffer, size) if size else b""

    def rewind(self) -> None:
        """Start over for the next transfer (the buffer is kept)."""
        self._fseek()

    def close(self) -> None:
        """Close the stream and free its buffer (nothing may write to it any more)."""
        file, self._file = self._file, ctypes.c_void_p()
        if file.value:
            self._lib.fclose(file)
            self._lib.free(self._buffer)
            self._buffer = ctypes.c_void_p()


class HeaderStore(MemoryStream):
    """Where a handle's header lines go, reused from transfer to transfer."""

    __slots__ = ()

    def attach(self, easy: pycurl.Curl) -> None:
        """Have ``easy`` write its header lines here (again after a reset)."""
        lib = self._lib
        lib.set_pointer(easy, pycurl.HEADERFUNCTION, lib.fwrite)
        lib.set_pointer(easy, pycurl.WRITEHEADER, self._file)

    def renew(self, easy: pycurl.Curl) -> None:
        """Start over with a new, small buffer (after an unusually large head).

        The buffer only grows; a handle kept for reuse should not keep a large one.
        ``easy`` must not be in a transfer.

        Raises:
            MemoryError: The new stream could not be opened.
        """
        lib = self._lib
        buffer, size = ctypes.c_void_p(), ctypes.c_size_t()
        file = lib.open_memstream(ctypes.byref(buffer), ctypes.byref(size))
        if not file:  # keep the large one: still valid, still attached
            raise MemoryError("open_memstream failed")
        old = (self._buffer, self._size, self._file, self._fflush, self._fseek)
        self._buffer, self._size, self._file = buffer, size, ctypes.c_void_p(file)
        self._fflush = functools.partial(lib.fflush, self._file)
        self._fseek = functools.partial(lib.fseek, self._file, 0, _SEEK_SET)
        try:
            self.attach(easy)
        except BaseException:
            self.close()  # the new one; the handle still writes to the old one
            self._buffer, self._size, self._file, self._fflush, self._fseek = old
            raise
        lib.fclose(old[2])
        lib.free(old[0])


class BodyStream(MemoryStream):
    """Where the rest of one response body goes when it is read whole.

    Setting the write callback through pycurl again (as every request does) points
    libcurl back at pycurl's own callback and data, so the handle needs no reset.
    """

    __slots__ = ()

    def attach(self, easy: pycurl.Curl) -> None:
        """Have ``easy`` write the rest of its body here."""
        lib = self._lib
        lib.set_pointer(easy, pycurl.WRITEFUNCTION, lib.fwrite)
        lib.set_pointer(easy, pycurl.WRITEDATA, self._file)

    def write(self, data: bytes) -> None:
        """Add ``data`` (what arrived before libcurl was pointed here).

        Raises:
            MemoryError: The stream could not grow.
        """
        if self._lib.write(data, 1, len(data), self._file) != len(data):
            raise MemoryError("the in-memory stream could not grow")

    def read(self) -> bytes:
        """Everything written, then close the stream."""
        data = self.take(self.size())
        self.close()
        return data


@functools.cache
def native() -> Native:
    """The process's :class:`Native` (bound and checked on first use).

    Raises:
        NativeError: The checks failed; the message says which.
    """
    if sys.platform == "win32":  # pragma: no cover - no open_memstream
        raise NativeError("the curl engine needs open_memstream (POSIX)")
    return Native()
