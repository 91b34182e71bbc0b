"""HttpTimeout and HttpRequestRetry on real engines, and how they combine.

The request timeout applies to each request sent, so with ``retry_on_timeout`` an attempt
that timed out is retried with a fresh budget (Ktor's order); a one-shot streamed request
body is never resent.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator

import anyio
import pytest

from client_core import (
    ConnectTimeoutException,
    HttpClientConfig,
    HttpRequestTimeoutException,
    RequestBodyReplayException,
    SocketTimeoutException,
)
from client_core.plugins import HttpRequestRetry, HttpRequestRetryConfig, HttpTimeout, retry
from tests.conformance.conftest import EngineUnderTest
from tests.plugins.server_app import plugins_server_fixture  # noqa: F401
from tests.servers.uvicorn_server import ServerInfo

pytestmark = [pytest.mark.anyio, pytest.mark.network]


def key() -> str:
    return uuid.uuid4().hex


async def no_sleep(seconds: float) -> None:
    pass


def retrying(**options: object) -> object:
    def block(config: HttpRequestRetryConfig) -> None:
        config.sleep = no_sleep

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, block, **options)

    return configure


async def count(engine_factory: EngineUnderTest, server: ServerInfo, name: str) -> int:
    async with engine_factory.client() as client:
        value = (await (await client.get(server.url(f"/count/{name}"))).json())["count"]
    assert isinstance(value, int)
    return value


# -- HttpTimeout ------------------------------------------------------------------------------


async def test_request_timeout_covers_the_body_of_a_non_streaming_call(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=0.3)

    drip = http_server.url("/drip?chunks=10&size=1&delay=0.1")
    async with engine_factory.client(configure) as client:
        started = time.monotonic()
        with pytest.raises(HttpRequestTimeoutException) as info:
            await client.get(drip)
        assert time.monotonic() - started < 0.9
        assert "Request timeout has expired" in str(info.value)
        assert "request_timeout=0.3s" in str(info.value)
        # streaming: the budget ends with the head, the body may take longer
        async with client.stream("GET", drip) as response:
            assert len(b"".join([c async for c in response.body_as_channel()])) == 10
        # the client is still usable
        assert (await client.get(http_server.url("/status/204"))).status == 204


async def test_per_request_timeout_wins_over_the_plugin(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=0.1)

    async with engine_factory.client(configure) as client:
        response = await client.get(http_server.url("/delay/0.3"), timeout=2.0)
        assert response.status == 200
        with pytest.raises(HttpRequestTimeoutException):
            await client.get(http_server.url("/delay/0.3"))


async def test_socket_timeout(engine_factory: EngineUnderTest, http_server: ServerInfo) -> None:
    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, socket_timeout=0.2)

    async with engine_factory.client(configure) as client:
        with pytest.raises(SocketTimeoutException):
            await client.get(http_server.url("/drip?chunks=2&size=1&delay=1.0"))
        # data moving often enough is fine, however long the whole body takes
        response = await client.get(http_server.url("/drip?chunks=6&size=1&delay=0.05"))
        assert await response.body() == b"******"


async def test_connect_timeout(engine_factory: EngineUnderTest, blackhole: tuple[str, int]) -> None:
    host, port = blackhole

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, connect_timeout=0.2)

    async with engine_factory.client(configure) as client:
        started = time.monotonic()
        with pytest.raises(ConnectTimeoutException):
            await client.get(f"http://{host}:{port}/")
    assert time.monotonic() - started < 2.0


# -- HttpRequestRetry -------------------------------------------------------------------------


async def test_server_errors_are_retried_with_retry_after(
    engine_factory: EngineUnderTest, plugins_server: ServerInfo
) -> None:
    name = key()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def configure(config: HttpClientConfig) -> None:
        config.install(
            HttpRequestRetry,
            lambda r: setattr(r, "sleep", sleep),
            retry_on_server_errors=3,
            exponential_delay={"base_delay": 0.001, "randomization": 0.0},
        )

    async with engine_factory.client(configure) as client:
        response = await client.get(plugins_server.url(f"/flaky/{name}?fail=2&retry_after=3"))
        assert (await response.json())["attempt"] == 3
    assert sleeps == [3.0, 3.0]


async def test_retry_and_timeout_each_attempt_has_its_own_budget(
    engine_factory: EngineUnderTest, plugins_server: ServerInfo
) -> None:
    name = key()

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=0.3)
        config.install(
            HttpRequestRetry,
            lambda r: (r.retry_on_exception(3, retry_on_timeout=True), r.constant_delay(0.0)),
        )

    async with engine_factory.client(configure) as client:
        started = time.monotonic()
        # the first two attempts stall for 1 s each, the third answers at once
        response = await client.get(plugins_server.url(f"/flaky/{name}?fail=2&delay=1&status=200"))
        elapsed = time.monotonic() - started
        assert (await response.json())["attempt"] == 3
    # two timed-out attempts of 0.3 s: more than one budget, far less than the stalls
    assert 0.55 < elapsed < 1.5


async def test_timeouts_are_not_retried_unless_asked(
    engine_factory: EngineUnderTest, plugins_server: ServerInfo
) -> None:
    name = key()

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=0.2)
        config.install(HttpRequestRetry, lambda r: setattr(r, "sleep", no_sleep))

    async with engine_factory.client(configure) as client:
        with pytest.raises(HttpRequestTimeoutException):
            await client.get(plugins_server.url(f"/flaky/{name}?fail=5&delay=1"))
    await anyio.sleep(0.1)
    assert await count(engine_factory, plugins_server, name) == 1


async def test_retried_upload_is_resent_whole(
    engine_factory: EngineUnderTest, plugins_server: ServerInfo
) -> None:
    name = key()
    payload = bytes(range(256)) * 1000
    async with engine_factory.client(retrying()) as client:
        response = await client.put(plugins_server.url(f"/flaky/{name}?fail=2"), body=payload)
        echo = await response.json()
    assert echo["attempt"] == 3 and echo["length"] == len(payload)
    assert echo["sha256"] == hashlib.sha256(payload).hexdigest()


async def test_streamed_upload_is_never_resent(
    engine_factory: EngineUnderTest, plugins_server: ServerInfo
) -> None:
    name = key()
    pulled: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for i in range(4):
            pulled.append(i)
            yield b"chunk %d;" % i

    async with engine_factory.client(retrying()) as client:
        with pytest.raises(RequestBodyReplayException, match="one-shot stream") as info:
            await client.put(plugins_server.url(f"/flaky/{name}?fail=1"), body=body())
        assert "503" in str(info.value)
    assert pulled == [0, 1, 2, 3]
    assert await count(engine_factory, plugins_server, name) == 1


async def test_non_idempotent_post_is_not_retried_by_default(
    engine_factory: EngineUnderTest, plugins_server: ServerInfo
) -> None:
    name = key()
    async with engine_factory.client(retrying()) as client:
        response = await client.post(plugins_server.url(f"/flaky/{name}?fail=1"), body=b"x")
        assert response.status == 503
        response = await client.post(
            plugins_server.url(f"/flaky/{name}?fail=2"),
            lambda req: retry(req, retry_non_idempotent=True),
            body=b"x",
        )
        assert (await response.json())["attempt"] == 3


async def test_streamed_response_after_retries(
    engine_factory: EngineUnderTest, plugins_server: ServerInfo
) -> None:
    name = key()
    single = {"max_connections": 1} if engine_factory.has_option("max_connections") else {}
    async with engine_factory.client(retrying(), **single) as client:
        url = plugins_server.url(f"/flaky-drip/{name}?fail=2&chunks=5&size=100&delay=0.01")
        async with client.stream("GET", url) as response:
            assert response.status == 200
            total = 0
            async for chunk in response.body_as_channel():
                total += len(chunk)
        assert total == 500
        # retried responses were released: the single connection is free again
        with anyio.fail_after(5):
            assert (await client.get(plugins_server.url(f"/count/{name}"))).status == 200
