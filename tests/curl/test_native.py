"""The ctypes layer under the driver: libcurl's poll/wakeup, C-written header lines."""

from __future__ import annotations

import ctypes
from typing import Any

import anyio
import pycurl
import pytest

from client_core import HttpClient
from client_core.errors import HttpClientError, ProtocolException
from client_curl import Curl, _native
from client_curl._native import BodyStream, HeaderStore, Native, NativeError, native
from tests.servers.app import pattern_bytes
from tests.servers.hostile import HostileServer
from tests.servers.uvicorn_server import ServerInfo

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def curl_driver(monkeypatch: pytest.MonkeyPatch) -> str:
    """Header and body streams and the poll through ctypes are the Python driver's."""
    monkeypatch.setenv("CLIENT_CURL_DRIVER", "python")
    return "python"


def test_the_pointers_found_are_pycurls_handles() -> None:
    lib = native()
    easy = pycurl.Curl()
    private = ctypes.c_void_p()
    code = lib._getinfo(
        ctypes.c_void_p(lib.easy_pointer(easy)), ctypes.c_int(0x100015), ctypes.byref(private)
    )
    assert code == 0
    assert private.value == id(easy)
    easy.close()
    assert lib.easy_pointer(easy) == 0  # pycurl clears it on close
    multi = pycurl.CurlMulti()
    assert lib.multi_pointer(multi) != 0
    assert lib.wakeup(lib.multi_pointer(multi)) == 0
    # The wake-up is remembered: the next poll returns at once instead of in 5 s.
    ready = ctypes.c_int(-1)
    assert lib.poll(lib.multi_pointer(multi), None, 0, 5000, ctypes.byref(ready)) == 0
    multi.close()


def test_a_header_store_collects_what_libcurl_writes_and_starts_over() -> None:
    lib = native()
    store = HeaderStore(lib)
    libc = ctypes.CDLL(None)
    file = store._file
    assert store.size() == 0
    assert store.take(0) == b""
    libc.fwrite(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n", 1, 25, file)
    size = store.size()
    assert store.take(size).splitlines(True) == [b"HTTP/1.1 200 OK\r\n", b"A: b\r\n", b"\r\n"]
    store.rewind()
    assert store.size() == 0
    libc.fwrite(b"HTTP/2 204 \r\n\r\n", 1, 15, file)
    assert store.take(store.size()) == b"HTTP/2 204 \r\n\r\n"
    store.close()
    store.close()  # idempotent


def test_a_failed_check_refuses_the_engine_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Native) -> None:
        raise NativeError("pycurl's Curl object does not hold its handle where expected")

    monkeypatch.setattr(Native, "__init__", broken)
    native.cache_clear()
    try:
        with pytest.raises(HttpClientError, match="cannot run here: pycurl's Curl object"):
            Curl()
    finally:
        monkeypatch.undo()
        native.cache_clear()
    Curl().close()  # checked again, and fine


def test_a_different_libcurl_in_the_process_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pycurl, "version", "PycURL/0 libcurl/0.0.1 OpenSSL/0")
    with pytest.raises(NativeError, match=r"is not pycurl's \(libcurl/0\.0\.1\)"):
        Native()


@pytest.mark.network
async def test_header_stores_live_as_long_as_their_handles(
    http_server: ServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []
    closed: list[Any] = []
    real_init, real_close = HeaderStore.__init__, HeaderStore.close

    def init(self: HeaderStore, lib: Native) -> None:
        real_init(self, lib)
        opened.append(self)

    def close(self: HeaderStore) -> None:
        if self._file.value:
            closed.append(self)
        real_close(self)

    monkeypatch.setattr(HeaderStore, "__init__", init)
    monkeypatch.setattr(HeaderStore, "close", close)
    async with HttpClient(Curl) as client:
        for _ in range(50):
            assert (await client.get(http_server.url("/echo"))).status.value == 200
        assert len(opened) <= 3  # one per handle, reused: not one per request
    assert len(closed) == len(opened)


@pytest.mark.network
async def test_bodies_read_whole_are_written_in_c_and_their_streams_closed(
    http_server: ServerInfo, hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[BodyStream] = []
    real_init = BodyStream.__init__

    def init(self: BodyStream, lib: Native) -> None:
        real_init(self, lib)
        opened.append(self)

    monkeypatch.setattr(BodyStream, "__init__", init)
    async with HttpClient(Curl) as client:
        body = await (await client.get(http_server.url("/stream-bytes/3000000"))).body()
        assert body == pattern_bytes(3_000_000)
        with pytest.raises(ProtocolException):
            await client.get(hostile.url("/truncated"))
        with anyio.move_on_after(0.2):
            await client.get(hostile.url("/stall-body"))
    assert opened
    assert all(not stream._file.value for stream in opened)  # every one closed


@pytest.mark.network
async def test_a_large_head_does_not_stay_in_a_reused_handle(
    hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    renewed: list[HeaderStore] = []
    real_renew = HeaderStore.renew

    def renew(self: HeaderStore, easy: pycurl.Curl) -> None:
        renewed.append(self)
        real_renew(self, easy)

    monkeypatch.setattr(HeaderStore, "renew", renew)
    async with HttpClient(Curl) as client:
        response = await client.get(hostile.url("/big-head"))
        assert len(response.headers["X-A"]) == len(response.headers["X-B"]) == 60_000
        assert len(renewed) == 1  # a new, small buffer for the next transfer
        for _ in range(3):  # the same handle, writing into the new buffer
            response = await client.get(hostile.url("/ok"))
            assert await response.body() == b"ok"
            assert "X-A" not in response.headers
        assert len(renewed) == 1


@pytest.mark.network
async def test_a_failing_poll_fails_requests_instead_of_spinning(
    hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_poll(*args: object) -> int:
        return 4  # CURLM_INTERNAL_ERROR: returned at once, every time

    monkeypatch.setattr(native(), "poll", failing_poll)
    async with HttpClient(Curl) as client:
        with anyio.fail_after(5), pytest.raises(HttpClientError) as info:
            await client.get(hostile.url("/stall"))
        assert "curl_multi_poll failed with CURLMcode 4" in str(info.value)
        with pytest.raises(HttpClientError, match="driver thread failed"):
            await client.get(hostile.url("/ok"))


def test_without_proc_the_bundled_libcurl_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_open = builtins.open

    def no_proc(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path) == "/proc/self/maps":
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    with_proc = _native._loaded_libcurl()
    monkeypatch.setattr(builtins, "open", no_proc)
    assert _native._loaded_libcurl() == with_proc  # the wheel's copy, next to pycurl


def test_a_libcurl_without_poll_is_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_getattr = ctypes.CDLL.__getattr__

    def no_poll(self: ctypes.CDLL, name: str) -> Any:
        if name == "curl_multi_poll":
            raise AttributeError(name)
        return real_getattr(self, name)

    monkeypatch.setattr(ctypes.CDLL, "__getattr__", no_poll)
    with pytest.raises(NativeError, match="curl_multi_poll"):
        Native()
