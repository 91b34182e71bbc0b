"""What only the curl engine does, or does its own way: backpressure, the driver, closing,
timeouts from its configuration, SOCKS4, host-name lookups, headers as sent."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest

from client_core import (
    ClientClosedException,
    ConnectTimeoutException,
    HttpClient,
    HttpClientError,
    HttpRequestTimeoutException,
    InvalidRequestException,
    ProxyBuilder,
    SocketTimeoutException,
)
from client_curl import Curl, CurlEngineConfig
from tests.servers.fixtures import fd_count
from tests.servers.hostile import HostileServer
from tests.servers.proxy import ProxyInfo
from tests.servers.tls import TLSFiles
from tests.servers.uvicorn_server import ServerInfo

pytestmark = [pytest.mark.anyio, pytest.mark.network]


def client(**options: Any) -> HttpClient:
    return HttpClient(Curl, lambda config: config.engine(**options))


def transfer_of(response: Any) -> Any:
    """The engine's transfer behind a streamed response (white-box)."""
    return response._stream


async def wait_for_fds(limit: int, seconds: float = 3.0) -> int:
    deadline = time.monotonic() + seconds
    while (count := fd_count()) > limit and time.monotonic() < deadline:  # noqa: ASYNC110
        await anyio.sleep(0.02)
    return count


# -- headers and bodies -------------------------------------------------------------------


async def test_headers_arrive_as_sent(http_server: ServerInfo) -> None:
    async with client() as c:
        response = await c.get(http_server.url("/echo"), headers={"X-A": "1"})
        names = [name for name, _ in (await response.json())["headers"]]
        # nothing added by libcurl (Accept, Expect ...); User-Agent is the client's
        assert names == ["host", "user-agent", "x-a"]
        echo = await (
            await c.post(http_server.url("/echo"), body=b"x" * 2_000_000, content_type="a/b")
        ).json()
        assert "expect" not in [name for name, _ in echo["headers"]]
        assert echo["body_length"] == 2_000_000
        echo = await (await c.get(http_server.url("/echo"), headers={"X-Empty": ""})).json()
        assert ["x-empty", ""] in echo["headers"]


async def test_methods_switch_on_a_reused_handle(http_server: ServerInfo) -> None:
    async with client() as c:
        for method, body in [
            ("HEAD", b""),
            ("POST", b"abc"),
            ("GET", b""),
            ("HEAD", b""),
            ("PUT", b"x"),
            ("OPTIONS", b""),
            ("DELETE", b""),
            ("GET", b""),
            ("PATCH", b""),
        ]:
            response = await c.request(method, http_server.url("/echo"), body=body)
            if method == "HEAD":
                assert await response.body() == b""
                continue
            echo = await response.json()
            assert echo["method"] == method
            assert echo["body"] == body.decode()


async def test_trailers_in_extensions(hostile: HostileServer) -> None:
    async with client() as c:
        response = await c.get(hostile.url("/trailers"))
        assert await response.body() == b"hello world"
        assert response.extensions["trailers"].get("X-Checksum") == "abc123"


async def test_slow_reader_pauses_the_transfer(http_server: ServerInfo) -> None:
    size = 16 * 1024 * 1024
    limit = 256 * 1024
    slack = 1024 * 1024  # what libcurl may read in one go before the engine pauses it
    async with (
        client(response_buffer_size=limit, buffer_size=16384) as c,
        c.stream("GET", http_server.url(f"/stream-bytes/{size}")) as response,
    ):
        channel = response.body_as_channel()
        received = len(await channel.__anext__())
        transfer = transfer_of(response)
        held = transfer.driver.held
        for _ in range(50):
            await anyio.sleep(0.01)
            if held(transfer)[0]:
                break
        assert held(transfer)[0]  # paused
        await anyio.sleep(0.1)
        buffered = held(transfer)[1]
        assert buffered <= limit + slack  # not the whole body
        peak = buffered
        async for chunk in channel:
            received += len(chunk)
            peak = max(peak, held(transfer)[1])
        assert received == size
        assert peak <= limit + slack


async def test_streamed_upload_waits_for_a_slow_producer(http_server: ServerInfo) -> None:
    async def slow() -> AsyncIterator[bytes]:
        for i in range(5):
            await anyio.sleep(0.05)
            yield bytes([65 + i]) * 1000
        yield b""  # empty pieces are skipped

    async with client() as c:
        result = await (await c.post(http_server.url("/upload"), body=slow())).json()
    assert result["length"] == 5000
    assert result["chunked"] is True


async def test_upload_producer_error_is_raised_as_is(http_server: ServerInfo) -> None:
    class Boom(Exception):
        pass

    async def failing() -> AsyncIterator[bytes]:
        yield b"part"
        await anyio.sleep(0.01)
        raise Boom("producer failed")

    async with client() as c:
        with pytest.raises(Boom):
            await c.post(http_server.url("/upload"), body=failing())
        assert (await c.get(http_server.url("/status/200"))).status == 200


class OneChunk:
    """A one-chunk body stream that is not an async generator (nothing to finalize when
    abandoned: the core's stream wrapper does not forward ``aclose`` yet)."""

    def __init__(self, data: bytes) -> None:
        self.data: bytes | None = data

    def __aiter__(self) -> OneChunk:
        return self

    async def __anext__(self) -> bytes:
        data, self.data = self.data, None
        if data is None:
            raise StopAsyncIteration
        return data


@pytest.mark.parametrize(("declared", "actual"), [(100, 50), (10, 50)])
async def test_upload_length_mismatch(http_server: ServerInfo, declared: int, actual: int) -> None:
    def body() -> OneChunk:
        return OneChunk(b"x" * actual)

    async with client() as c:
        with pytest.raises(InvalidRequestException, match="declared length"):
            await c.post(
                http_server.url("/upload"),
                lambda b: b.headers.append("Content-Length", str(declared)),
                body=body(),
            )
        assert (await c.get(http_server.url("/status/200"))).status == 200


async def test_unsupported_scheme() -> None:
    from client_core.engine import HttpRequestData
    from client_core.errors import InvalidUrlException
    from client_core.http import Headers, HttpMethod, Url

    async with Curl() as engine:
        request = HttpRequestData(
            method=HttpMethod.GET, url=Url("ws://127.0.0.1/"), headers=Headers()
        )
        with pytest.raises(InvalidUrlException, match="ws"):
            await engine.execute(request)


# -- cancellation and closing -------------------------------------------------------------


async def test_cancelled_request_removes_its_handle_at_once(hostile: HostileServer) -> None:
    engine = Curl()
    async with HttpClient(engine) as c:
        with anyio.move_on_after(0.2) as scope:
            await c.get(hostile.url("/stall"))
        assert scope.cancelled_caught
        for _ in range(100):  # the driver thread takes the handle out as it wakes
            if not engine._driver.in_flight():
                break
            await anyio.sleep(0.001)
        assert engine._driver.in_flight() == 0
        assert await hostile.wait_active(lambda n: n == 0) == 0  # the connection dropped
        assert await (await c.get(hostile.url("/ok"))).body() == b"ok"
    await engine.aclose()


async def test_aclose_frees_every_socket(
    http_server: ServerInfo,
    https_server: ServerInfo,
    hostile: HostileServer,
    tls_files: TLSFiles,
) -> None:
    async with client(ca_file=tls_files.ca_file) as warm:  # servers make lazy resources
        await warm.get(http_server.url("/status/200"))
        await warm.get(https_server.url("/status/200"))
        await warm.get(hostile.url("/ok"))
    baseline = await wait_for_fds(fd_count())
    async with client(ca_file=tls_files.ca_file) as c:
        engine = c.engine

        async def one(url: str) -> None:
            await (await c.get(url)).body()

        async with anyio.create_task_group() as group:
            for i in range(30):
                group.start_soon(one, (http_server, https_server)[i % 2].url("/status/200"))
                group.start_soon(one, hostile.url("/ok"))
        with anyio.move_on_after(0.1):
            await c.get(hostile.url("/stall"))
        async with c.stream("GET", http_server.url("/stream-bytes/4000000")) as response:
            async for _ in response.body_as_channel():
                break
        assert fd_count() > baseline
    assert engine.is_closed
    assert await wait_for_fds(baseline) <= baseline


async def test_sync_close_when_idle_frees_everything(http_server: ServerInfo) -> None:
    baseline = fd_count()
    engine = Curl()
    async with HttpClient(engine) as c:
        await c.get(http_server.url("/status/200"))
    engine.close()
    assert engine._released
    assert await wait_for_fds(baseline) <= baseline


async def test_close_lets_in_flight_transfers_finish(http_server: ServerInfo) -> None:
    engine = Curl()
    c = HttpClient(engine)
    async with c.stream("GET", http_server.url("/stream-bytes/3000000")) as response:
        engine.close()
        assert not engine._released
        with pytest.raises(ClientClosedException):
            await c.get(http_server.url("/status/200"))
        total = 0
        async for chunk in response.body_as_channel():
            total += len(chunk)
        assert total == 3_000_000
    assert engine._released
    await c.aclose()


async def test_aclose_fails_a_body_still_streaming(http_server: ServerInfo) -> None:
    engine = Curl()
    c = HttpClient(engine)
    async with c.stream("GET", http_server.url("/stream-bytes/30000000")) as response:
        channel = response.body_as_channel()
        await channel.__anext__()
        await engine.aclose()
        with pytest.raises(ClientClosedException):
            async for _ in channel:
                pass
    await c.aclose()


def driver_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "client_curl driver"]


async def test_each_engine_runs_one_driver_thread_until_closed(http_server: ServerInfo) -> None:
    before = len(driver_threads())
    engines = [Curl() for _ in range(5)]
    assert len(driver_threads()) == before  # started with the first request, not before
    for engine in engines:
        async with HttpClient(engine) as c:
            for _ in range(3):
                assert (await c.get(http_server.url("/status/200"))).status == 200
    assert len(driver_threads()) == before + 5
    for engine in engines[:2]:
        engine.close()  # sync close, nothing in flight: the thread stops now
    assert len(driver_threads()) == before + 3
    for engine in engines[2:]:
        await engine.aclose()
    assert len(driver_threads()) == before


def _stalled_call(
    c: HttpClient,
    hostile: HostileServer,
    expected: type[BaseException],
    errors: list[BaseException],
) -> Callable[[], Awaitable[None]]:
    """A GET the server never answers; the ``expected`` error it ends with goes to ``errors``."""

    async def call() -> None:
        try:
            await c.get(hostile.url("/stall"))
        except expected as exc:
            errors.append(exc)

    return call


async def test_close_while_a_task_waits_wakes_it(hostile: HostileServer) -> None:
    engine = Curl()
    c = HttpClient(engine)
    errors: list[BaseException] = []
    call = _stalled_call(c, hostile, ClientClosedException, errors)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(call)
            assert await hostile.wait_active(lambda n: n > 0) > 0
            await engine.aclose()
    assert len(errors) == 1
    assert not engine._driver.transfers
    await c.aclose()


def test_engine_moves_between_event_loops(http_server: ServerInfo) -> None:
    engine = Curl()

    async def get() -> int:
        async with HttpClient(engine) as c:
            return int((await c.get(http_server.url("/status/201"))).status)

    assert anyio.run(get, backend="asyncio") == 201
    assert anyio.run(get, backend="trio") == 201
    assert anyio.run(get, backend="asyncio") == 201
    engine.close()


@pytest.mark.parametrize("count", [2, 12])
async def test_heads_with_no_body_yet_are_delivered(hostile: HostileServer, count: int) -> None:
    # libcurl writes header lines with no callback: the driver looks for the complete
    # heads of transfers with no body yet (after every round when they are few, every
    # few milliseconds when there are more than eight).
    arrived: list[float] = []
    all_in, done = anyio.Event(), anyio.Event()
    started = time.monotonic()

    async def one(c: HttpClient) -> None:
        async with c.stream("GET", hostile.url("/head-then-stall")) as response:
            assert response.status.value == 200
            assert response.headers["X-Head"] == "only"
            arrived.append(time.monotonic() - started)
            if len(arrived) == count:
                all_in.set()
            await done.wait()

    async with client(max_connections_per_host=16) as c, anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(one, c)
        with anyio.fail_after(5):
            await all_in.wait()
        done.set()
    assert max(arrived) < 1.0


# -- timeouts from the engine configuration -----------------------------------------------


async def test_socket_timeout_from_config(hostile: HostileServer) -> None:
    async with client(socket_timeout=0.2) as c:
        started = time.monotonic()
        with pytest.raises(SocketTimeoutException, match=r"socket_timeout=0\.2s"):
            await c.get(hostile.url("/stall"))
        assert time.monotonic() - started < 2
        with pytest.raises(SocketTimeoutException):
            await c.get(hostile.url("/stall-body"))
        assert await (await c.get(hostile.url("/ok?delay=0.1"))).body() == b"ok"


async def test_socket_timeout_ignores_a_paused_transfer(http_server: ServerInfo) -> None:
    async with (
        client(socket_timeout=0.1, response_buffer_size=65536) as c,
        c.stream("GET", http_server.url("/stream-bytes/4000000")) as response,
    ):
        channel = response.body_as_channel()
        total = len(await channel.__anext__())
        await anyio.sleep(0.5)  # paused by backpressure, not idle
        async for chunk in channel:
            total += len(chunk)
        assert total == 4_000_000


async def test_connect_timeout_from_config(blackhole: tuple[str, int]) -> None:
    host, port = blackhole
    async with client(connect_timeout=0.2) as c:
        with pytest.raises(ConnectTimeoutException, match=r"connect_timeout=0\.2s"):
            await c.get(f"http://{host}:{port}/")


# -- proxies and names --------------------------------------------------------------------


async def test_socks4_with_local_dns(http_server: ServerInfo, proxy_server: ProxyInfo) -> None:
    proxy = ProxyBuilder.socks("127.0.0.1", proxy_server.open_port, version=4, remote_dns=False)
    async with client(proxy=proxy) as c:
        for _ in range(2):
            echo = await (
                await c.post(f"http://localhost:{http_server.port}/echo", body=b"s4")
            ).json()
            assert echo["body"] == "s4"


async def test_names_are_resolved_by_the_engine(
    http_server: ServerInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    real = socket.getaddrinfo

    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        if host == "service.test":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    async with client(thread_count=1) as c:
        for _ in range(3):
            echo = await (await c.get(f"http://service.test:{http_server.port}/echo")).json()
            assert ["host", f"service.test:{http_server.port}"] in echo["headers"]
    assert asked == ["service.test"]  # looked up once, then reused


async def test_unix_socket_from_config(unix_server: str) -> None:
    async with client(unix_socket=unix_server) as c:
        for path in ("/status/202", "/echo", "/status/203"):
            response = await c.get(f"http://localhost{path}")
            assert response.status in (200, 202, 203)


async def test_body_limit(http_server: ServerInfo) -> None:
    from client_core import ProtocolException

    def limited(config: Any) -> None:
        config.body_limit = 100_000

    async with HttpClient(Curl, limited) as c:
        with pytest.raises(ProtocolException, match="limit of 100000 bytes"):
            await c.get(http_server.url("/stream-bytes/3000000"))
        assert len(await (await c.get(http_server.url("/bytes/90000"))).body()) == 90_000


async def test_a_stalled_name_lookup_ends_with_the_request_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On trio the client sends without a cancel scope (the engine honours Interrupt): the
    # lookup, the one wait before the transfer exists, must still be interrupted.
    engine = Curl()

    async def stall(host: str, port: int) -> str:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    monkeypatch.setattr(engine._resolver, "cached", lambda host, port: None)
    monkeypatch.setattr(engine._resolver, "lookup", stall)
    async with HttpClient(engine) as c:
        started = time.monotonic()
        with pytest.raises(HttpRequestTimeoutException):
            await c.get("http://stalled-lookup.test:9/", timeout=0.2)
        assert time.monotonic() - started < 2.0
    await engine.aclose()


async def test_an_engine_refuses_work_in_a_forked_child(http_server: ServerInfo) -> None:
    engine = Curl()
    async with HttpClient(engine) as c:
        assert (await c.get(http_server.url("/status/200"))).status == 200
        read_end, write_end = os.pipe()
        with warnings.catch_warnings():  # 3.12+ warns about forking with threads running
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: a new event loop, the parent's engine
            code = 1
            try:

                async def child() -> None:
                    async with HttpClient(engine) as again:
                        await again.get(http_server.url("/status/200"))

                try:
                    asyncio.run(child())
                except HttpClientError as exc:
                    os.write(write_end, str(exc).encode()[:200])
                    code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        _, status = await anyio.to_thread.run_sync(os.waitpid, pid, 0)
        message = os.read(read_end, 1000).decode()
        os.close(read_end)
        assert os.WEXITSTATUS(status) == 0, message
        assert "os.fork()" in message
        # The parent's engine goes on as before.
        assert (await c.get(http_server.url("/status/200"))).status == 200


async def test_a_dead_driver_thread_fails_requests_instead_of_hanging(
    hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from client_curl._multi import Driver

    engine = Curl(CurlEngineConfig(driver="python"))  # a bug in Python code (C: test_cdriver)
    c = HttpClient(engine)
    errors: list[BaseException] = []
    call = _stalled_call(c, hostile, HttpClientError, errors)

    def boom(self: Driver, transfer: object, bitmask: int) -> None:
        raise RuntimeError("injected")

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(call)
            assert await hostile.wait_active(lambda n: n > 0) > 0
            monkeypatch.setattr(Driver, "_pause", boom)
            driver = engine._driver
            driver.pause(next(iter(driver.transfers)), 0)  # the driver thread raises
        assert len(errors) == 1
        assert "driver thread failed: RuntimeError: injected" in str(errors[0])
        with pytest.raises(HttpClientError, match="driver thread failed"):
            await c.get(hostile.url("/ok"))
        await c.aclose()
        await engine.aclose()
        assert await hostile.wait_active(lambda n: n == 0) == 0  # the connection dropped


async def test_reading_the_rest_whole_after_a_paused_stream(http_server: ServerInfo) -> None:
    # The body is streamed, then read whole: pieces buffered before (up to the pause) and
    # those after the driver thread swaps in the C sink must come out once, in order.
    from client_core.engine import HttpRequestData
    from client_core.http import Headers, HttpMethod, Url
    from tests.servers.app import pattern_bytes

    size = 3_000_000
    async with Curl.create(response_buffer_size=256 * 1024) as engine:
        request = HttpRequestData(
            method=HttpMethod.GET,
            url=Url(http_server.url(f"/stream-bytes/{size}")),
            headers=Headers(),
        )
        response = await engine.execute(request)
        first = await response.body.__anext__()
        await anyio.sleep(0.3)  # pieces pile up to the buffer size; the transfer pauses
        rest = await response.body.read_all()
        assert first + rest == pattern_bytes(size)


async def test_cancellations_racing_completions_leave_later_requests_alone(
    http_server: ServerInfo,
) -> None:
    # A cancellation that arrives as the transfer ends must not touch the next transfer
    # on the same handle (an abort queued for the old one), nor free state still queued.
    import random

    rng = random.Random(4)
    async with client(max_connections_per_host=2) as c:
        url = http_server.url("/echo")
        for _ in range(150):
            with anyio.move_on_after(rng.uniform(0, 0.003)):
                await c.get(url)
            response = await c.get(url)
            assert response.status.value == 200
            assert (await response.json())["method"] == "GET"
