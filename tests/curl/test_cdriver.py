"""What only the C driver (``client_curl._cdriver``) does; the rest of the curl tests run
on it and on the driver written in Python alike."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import anyio
import pycurl
import pytest

from client_core import HttpClient
from client_core.errors import HttpClientError
from client_curl import Curl, CurlEngineConfig
from client_curl._cmulti import NativeDriver, available, default_allocators
from client_curl._multi import Driver
from client_curl._native import cdriver
from tests.servers.app import pattern_bytes
from tests.servers.hostile import HostileServer
from tests.servers.uvicorn_server import ServerInfo

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def curl_driver(monkeypatch: pytest.MonkeyPatch) -> str:
    """These tests are about the C driver: the default, with nothing set."""
    monkeypatch.delenv("CLIENT_CURL_DRIVER", raising=False)
    return "c"


def test_the_c_driver_is_built_and_is_the_default() -> None:
    # The dev install builds it (scripts/install.sh requires it): fail, not skip, without.
    assert available()
    assert isinstance(Curl()._driver, NativeDriver)
    assert type(Curl(CurlEngineConfig(driver="python"))._driver) is Driver


def test_choosing_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="driver must be"):
        CurlEngineConfig(driver="fast")  # type: ignore[arg-type]
    monkeypatch.setenv("CLIENT_CURL_DRIVER", "fast")
    with pytest.raises(ValueError, match="CLIENT_CURL_DRIVER"):
        Curl()
    monkeypatch.setenv("CLIENT_CURL_DRIVER", "python")
    assert type(Curl()._driver) is Driver
    assert isinstance(Curl(CurlEngineConfig(driver="c"))._driver, NativeDriver)  # config wins
    monkeypatch.delenv("CLIENT_CURL_DRIVER")

    def debug(kind: int, data: bytes) -> None:
        pass

    # Python callbacks in curl_options: only the driver written in Python can call them.
    options = {pycurl.DEBUGFUNCTION: debug}
    assert type(Curl(CurlEngineConfig(curl_options=options))._driver) is Driver
    with pytest.raises(ValueError, match="Python callbacks"):
        Curl(CurlEngineConfig(driver="c", curl_options=options))


@pytest.mark.network
async def test_a_failing_poll_fails_requests_instead_of_spinning(hostile: HostileServer) -> None:
    engine = Curl()
    async with HttpClient(engine) as client:
        errors: list[BaseException] = []

        async def call() -> None:
            try:
                await client.get(hostile.url("/stall"))
            except HttpClientError as exc:
                errors.append(exc)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(call)
                assert await hostile.wait_active(lambda n: n > 0) > 0
                driver = engine._driver
                assert isinstance(driver, NativeDriver)
                cdriver.inject_poll_failure(driver._driver, 4)  # CURLM_INTERNAL_ERROR
        assert len(errors) == 1
        assert "curl_multi_poll returned CURLMcode 4" in str(errors[0])
        with pytest.raises(HttpClientError, match="driver thread failed"):
            await client.get(hostile.url("/ok"))
    await engine.aclose()
    assert await hostile.wait_active(lambda n: n == 0) == 0  # the connection dropped


@pytest.mark.network
async def test_every_slot_is_freed_with_its_handle(
    http_server: ServerInfo, hostile: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[int] = []
    freed: list[int] = []
    real_new, real_free = cdriver.slot_new, cdriver.slot_free

    def slot_new(setopt: int, easy: int) -> int:
        slot = real_new(setopt, easy)
        made.append(slot)
        return slot

    def slot_free(slot: int) -> None:
        freed.append(slot)
        real_free(slot)

    monkeypatch.setattr(cdriver, "slot_new", slot_new)
    monkeypatch.setattr(cdriver, "slot_free", slot_free)
    async with HttpClient(Curl) as client:
        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(client.get, http_server.url("/echo"))
        with anyio.move_on_after(0.2):  # cancelled mid-transfer
            await client.get(hostile.url("/stall-body"))
        response = await client.post(http_server.url("/upload"), body=b"x" * 100_000)
        assert (await response.json())["length"] == 100_000
    assert made
    assert sorted(freed) == sorted(made)  # each once


@pytest.mark.network
async def test_large_bodies_are_real_bytes(http_server: ServerInfo) -> None:
    # A body read whole becomes a bytes object where the C driver wrote it (no copy): it
    # must be an ordinary bytes object in every way, and freed like one.
    assert default_allocators()
    before = cdriver.counters()["adopted"]
    async with HttpClient(Curl) as client:
        for size in (3_000_000, 70_000, 100):
            body = await (await client.get(http_server.url(f"/stream-bytes/{size}"))).body()
            assert type(body) is bytes
            assert body == pattern_bytes(size)
            copy = bytes(bytearray(body))
            assert hash(body) == hash(copy)
            assert body[-10:] == copy[-10:]
            assert body.rfind(copy[-50:]) == size - 50
            assert len(body + b"!") == size + 1
            del body, copy
    assert cdriver.counters()["adopted"] - before == 2  # not the 100-byte one: copied


@pytest.mark.network
async def test_body_memory_is_reused_only_once_nothing_references_it(
    hostile: HostileServer,
) -> None:
    # The memory of a large body read whole goes back to the driver's pool once the
    # driver holds the only reference to it. A body the caller keeps, or that a
    # memoryview keeps, must never be written over by the next ones.
    size = 300_000
    before = cdriver.counters()["reclaimed"]
    async with HttpClient(Curl) as client:

        async def fetch(fill: str) -> bytes:
            response = await client.get(hostile.url(f"/sized?size={size}&fill={fill}"))
            body: bytes = await response.body()
            return body

        kept = await fetch("a")
        view = memoryview(await fetch("b"))
        for _ in range(10):
            body = await fetch("c")
            assert body == b"c" * size
            del body
        assert kept == b"a" * size
        assert view == b"b" * size
        assert cdriver.counters()["reclaimed"] - before >= 8  # the dropped bodies, all but the last


@pytest.mark.network
async def test_closing_lets_go_of_the_bodies(hostile: HostileServer) -> None:
    async with HttpClient(Curl) as client:
        body = await (await client.get(hostile.url("/sized?size=300000"))).body()
        references = sys.getrefcount(body)
    assert sys.getrefcount(body) == references - 1  # the driver's own is gone
    assert body == b"x" * 300_000


@pytest.mark.network
async def test_a_head_goes_with_the_end_of_a_body_that_follows_it(
    hostile: HostileServer,
) -> None:
    # A task reading a body whole is woken once, not for the head and again for the end.
    before = cdriver.counters()["joined"]
    async with HttpClient(Curl) as client:
        for _ in range(5):
            response = await client.get(hostile.url("/sized?size=400000"))
            assert await response.body() == b"x" * 400_000
    assert cdriver.counters()["joined"] - before >= 1


@pytest.mark.network
@pytest.mark.parametrize(
    ("query", "least"),
    [
        # the body stops after 100 KB for 2 s: the sockets go quiet
        ("first=100000&pause=2", 1.9),
        # 2 KB pieces every 0.1 ms or so: the sockets are never quiet for long, and the
        # rounds are small (the driver naps between them, without polling)
        ("first=2000&step=2000&every=0.0001", 0.08),
    ],
    ids=["stalls", "trickles"],
)
async def test_a_head_is_not_held_for_a_slow_body(
    hostile: HostileServer, query: str, least: float
) -> None:
    # Holding a head back for its body is bounded (5 ms): a streamed reader of a slow
    # body gets the head, and what came so far, long before the end.
    url = hostile.url(f"/sized?size=1000000&{query}")
    async with HttpClient(Curl) as client:
        started = anyio.current_time()
        async with client.stream("GET", url) as response:
            head_after = anyio.current_time() - started
            assert response.status.value == 200
            body = b"".join([piece async for piece in response.body_as_channel()])
        body_after = anyio.current_time() - started
    assert body == b"x" * 1_000_000
    assert body_after > least
    assert head_after < body_after / 8


@pytest.mark.network
async def test_a_large_body_arriving_in_small_rounds_is_left_to_gather(
    hostile: HostileServer,
) -> None:
    # The first round brings 100 KB of a 1 MB body: rather than read each few KiB as it
    # comes, the driver naps briefly so the rest is read in fewer, larger pieces. Small
    # bodies never wait for that.
    async with HttpClient(Curl) as client:
        before = cdriver.counters()["naps"]
        for _ in range(20):
            assert await (await client.get(hostile.url("/sized?size=5000"))).body()
        assert cdriver.counters()["naps"] == before
        url = hostile.url("/sized?size=1000000&first=100000&pause=0.05")
        assert await (await client.get(url)).body() == b"x" * 1_000_000
        assert cdriver.counters()["naps"] > before


@pytest.mark.network
async def test_streamed_pieces_are_bounded(http_server: ServerInfo) -> None:
    size = 3_000_000
    async with (
        HttpClient(Curl) as client,
        client.stream("GET", http_server.url(f"/stream-bytes/{size}")) as response,
    ):
        await anyio.sleep(0.2)  # a reader late to start: the body waits in C
        pieces = [piece async for piece in response.body_as_channel()]
    assert b"".join(pieces) == pattern_bytes(size)
    assert max(map(len, pieces)) <= 64 * 1024


def test_debug_allocators_get_a_copy(http_server: ServerInfo) -> None:
    # Under -X dev (debug memory hooks) a body must not become a bytes object in place:
    # the hooks would reject freeing memory they did not allocate.
    script = textwrap.dedent(
        f"""
        import anyio
        from client_core import HttpClient
        from client_curl import Curl
        from client_curl._cmulti import default_allocators
        from client_curl._native import cdriver
        from tests.servers.app import pattern_bytes

        async def main():
            assert not default_allocators()
            async with HttpClient(Curl) as client:
                for _ in range(3):
                    response = await client.get({http_server.url("/stream-bytes/2000000")!r})
                    assert await response.body() == pattern_bytes(2_000_000)
            assert cdriver.counters()["adopted"] == 0

        anyio.run(main)
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=str(_root()),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def _root() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parents[2]
