"""Failures are mapped to client_core.errors, each naming the method and the URL."""

from __future__ import annotations

import socket
from typing import Any

import anyio
import pytest

from client_core import (
    ConnectException,
    ConnectTimeoutException,
    HttpRequestTimeoutException,
    ProtocolException,
    RequestCancelledException,
    SocketTimeoutException,
    Timeouts,
)
from tests.conformance.conftest import EngineUnderTest
from tests.servers.hostile import HostileServer
from tests.servers.tls import TLSFiles
from tests.servers.uvicorn_server import ServerInfo

pytestmark = [pytest.mark.anyio, pytest.mark.network]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused(engine_factory: EngineUnderTest) -> None:
    url = f"http://user:secret@127.0.0.1:{closed_port()}/x"
    async with engine_factory.client() as client:
        with pytest.raises(ConnectException) as info:
            await client.get(url)
    message = str(info.value)
    assert "GET" in message
    assert f"127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/x" in message
    assert "secret" not in message
    assert isinstance(info.value, ConnectionError)


async def test_dns_failure(engine_factory: EngineUnderTest) -> None:
    async with engine_factory.client() as client:
        with pytest.raises(ConnectException, match=r"nonexistent\.invalid"):
            await client.get("http://nonexistent.invalid/", timeout=Timeouts(connect=2.0))


async def test_connect_timeout(engine_factory: EngineUnderTest, blackhole: tuple[str, int]) -> None:
    host, port = blackhole
    async with engine_factory.client() as client:
        with pytest.raises(ConnectTimeoutException) as info:
            await client.get(f"http://{host}:{port}/", timeout=Timeouts(connect=0.2))
    assert "0.2" in str(info.value)
    assert isinstance(info.value, TimeoutError)


@pytest.mark.parametrize(
    "path",
    ["/malformed-status", "/garbage", "/truncated", "/truncated-chunked", "/oversized-headers"],
)
async def test_protocol_errors(
    engine_factory: EngineUnderTest, hostile: HostileServer, path: str
) -> None:
    async with engine_factory.client() as client:
        with pytest.raises(ProtocolException) as info:
            await client.get(hostile.url(path))
        assert path in str(info.value)
        assert "GET" in str(info.value)
        # the client still works afterwards
        assert await (await client.get(hostile.url("/ok"))).body() == b"ok"


async def test_truncated_streamed_body(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    async with (
        engine_factory.client() as client,
        client.stream("GET", hostile.url("/truncated")) as response,
    ):
        with pytest.raises(ProtocolException):
            async for _ in response.body_as_channel():
                pass


async def test_socket_timeout_waiting_for_head(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    async with engine_factory.client() as client:
        with pytest.raises(SocketTimeoutException) as info:
            await client.get(hostile.url("/stall"), timeout=Timeouts(socket=0.2))
    assert "/stall" in str(info.value)
    assert isinstance(info.value, TimeoutError)


async def test_socket_timeout_in_body(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    async with engine_factory.client() as client:
        with pytest.raises(SocketTimeoutException):
            await client.get(hostile.url("/stall-body"), timeout=Timeouts(socket=0.2))


async def test_socket_timeout_from_engine_config(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    # Ktor's CIO spells it endpoint.socket_timeout; engines without endpoints, socket_timeout.
    if engine_factory.has_option("endpoint"):
        options: dict[str, Any] = {"endpoint": {"socket_timeout": 0.2}}
    else:
        assert engine_factory.has_option("socket_timeout"), "no configurable socket timeout"
        options = {"socket_timeout": 0.2}
    async with engine_factory.client(**options) as client:
        with pytest.raises(SocketTimeoutException):
            await client.get(hostile.url("/stall"))


async def test_request_timeout(engine_factory: EngineUnderTest, hostile: HostileServer) -> None:
    async with engine_factory.client() as client:
        with pytest.raises(HttpRequestTimeoutException) as info:
            await client.get(hostile.url("/stall"), timeout=0.2)
        assert "/stall" in str(info.value)
        assert await (await client.get(hostile.url("/ok"))).body() == b"ok"


async def test_request_timeouts_of_concurrent_requests_each_fire(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    outcomes: dict[float, str] = {}

    async def call(timeout: float) -> None:
        with pytest.raises(HttpRequestTimeoutException) as info:
            await client.get(hostile.url("/stall"), timeout=timeout)
        outcomes[timeout] = str(info.value)

    async with engine_factory.client() as client:
        started = anyio.current_time()
        async with anyio.create_task_group() as group:
            for timeout in (0.6, 0.2, 0.4):  # a later send with an earlier deadline
                group.start_soon(call, timeout)
        assert anyio.current_time() - started < 3.0
    assert sorted(outcomes) == [0.2, 0.4, 0.6]
    assert all("request_timeout=" in message for message in outcomes.values())


async def test_cancel_fails_requests_in_flight(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    errors: list[BaseException] = []
    client = engine_factory.client()

    async def call() -> None:
        try:
            await client.get(hostile.url("/stall"))
        except RequestCancelledException as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(call)
        # Cleartext HTTP/1.1: one connection each, all three held by the server.
        assert await hostile.wait_active(lambda n: n == 3) == 3
        await anyio.wait_all_tasks_blocked()
        client.cancel()
    assert len(errors) == 3
    assert all("/stall" in str(error) for error in errors)
    await client.join()
    assert client.is_closed


async def test_request_timeout_from_engine_config(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    if not engine_factory.has_option("request_timeout"):
        pytest.skip("the engine has no request_timeout option")
    async with engine_factory.client(request_timeout=0.2) as client:
        with pytest.raises(HttpRequestTimeoutException):
            await client.get(hostile.url("/stall"))


async def test_untrusted_certificate(
    engine_factory: EngineUnderTest, https_server: ServerInfo
) -> None:
    async with engine_factory.client() as client:
        with pytest.raises(ConnectException) as info:
            await client.get(https_server.url("/echo"))
    assert "certificate" in str(info.value).lower()


async def test_wrong_server_name(
    engine_factory: EngineUnderTest, https_server: ServerInfo, tls_files: TLSFiles
) -> None:
    async with engine_factory.client(
        ca_file=tls_files.ca_file, server_name="wrong.example"
    ) as client:
        with pytest.raises(ConnectException):
            await client.get(https_server.url("/echo"))


async def test_tls_to_plain_server(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    async with engine_factory.client() as client:
        with pytest.raises(ConnectException):
            await client.get(f"https://127.0.0.1:{http_server.port}/echo")
