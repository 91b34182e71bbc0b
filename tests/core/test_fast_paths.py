"""Shortcuts of the per-call hot path behave exactly like the general path."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from client_core import EmptyContent, HttpClient, HttpClientConfig, HttpRequestBuilder
from client_core.engine import EngineCapability, HttpRequestData, Interrupt, Timeouts
from client_core.engine._base import request_data
from client_core.http import Headers, HttpMethod, Url
from client_core.plugins import HookOrder, create_client_plugin
from tests.core.echo_engine import EchoEngine

pytestmark = pytest.mark.anyio


def test_request_data_sets_every_field_like_the_dataclass() -> None:
    fields = [f.name for f in dataclasses.fields(HttpRequestData)]
    values: dict[str, Any] = {
        "method": HttpMethod.POST,
        "url": Url("http://h.test/x"),
        "headers": Headers({"A": "1"}),
        "body": b"abc",
        "content_length": 3,
        "timeouts": Timeouts(request=1.0),
        "attributes": HttpRequestBuilder().attributes,
        "required_capabilities": frozenset({EngineCapability.TIMEOUT}),
        "unix_socket": "/tmp/s",
        "interrupt": Interrupt(),
    }
    assert sorted(fields) == sorted(values)
    fast = request_data(**values)
    assert fast == HttpRequestData(**values)
    assert [getattr(fast, name) for name in fields] == [values[name] for name in fields]
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.body = b""  # type: ignore[misc]


async def test_verbs_build_the_same_request_with_and_without_options() -> None:
    engine = EchoEngine()
    async with HttpClient(engine) as client:
        await client.get("http://h.test/a")
        await client.get("http://h.test/a", headers=None)
        await client.request("GET", "http://h.test/a")
        await client.post("http://h.test/b")
        await client.post("http://h.test/b", body=None)
    a1, a2, a3, b1, b2 = engine.requests
    for request in (a2, a3):
        assert (request.method, request.url, request.headers, request.body) == (
            a1.method,
            a1.url,
            a1.headers,
            a1.body,
        )
    assert (b1.method, b1.body, b1.content_length) == (b2.method, b2.body, b2.content_length)
    assert a1.headers == Headers() and a1.required_capabilities == frozenset()


async def test_unknown_options_still_fail_on_verbs() -> None:
    async with HttpClient(EchoEngine()) as client:
        with pytest.raises(TypeError):
            await client.get("http://h.test/", bogus=1)


async def test_a_request_without_body_reaches_user_converters() -> None:
    seen: list[Any] = []

    def body(plugin: Any) -> None:
        @plugin.transform_request_body
        async def convert(request: HttpRequestBuilder, value: Any, type_: Any) -> Any:
            seen.append(value)
            return None

    def configure(config: HttpClientConfig) -> None:
        config.install(create_client_plugin("SeesNone", lambda: None, body))

    async with HttpClient(EchoEngine(), configure) as client:
        await client.get("http://h.test/")
    assert seen == [None]


async def test_on_send_interceptors_see_the_rendered_empty_body() -> None:
    bodies: list[Any] = []

    def body(plugin: Any) -> None:
        @plugin.on_send
        async def look(request: HttpRequestBuilder, proceed: Any) -> Any:
            bodies.append(request.body)
            return await proceed(request)

    def configure(config: HttpClientConfig) -> None:
        config.install(create_client_plugin("Look", lambda: None, body))

    async with HttpClient(EchoEngine(), configure) as client:
        await client.get("http://h.test/")
    assert len(bodies) == 1 and isinstance(bodies[0], EmptyContent)


async def test_interceptors_added_after_the_first_call_join_the_chain() -> None:
    order: list[str] = []
    async with HttpClient(EchoEngine()) as client:
        await client.get("http://h.test/")
        hooks = client._hooks

        async def outer(request: HttpRequestBuilder, proceed: Any) -> Any:
            order.append("outer")
            return await proceed(request)

        async def inner(request: HttpRequestBuilder, proceed: Any) -> Any:
            order.append("inner")
            return await proceed(request)

        hooks.add(hooks.on_send, HookOrder.LAST, inner)
        hooks.add(hooks.on_send, HookOrder.FIRST, outer)
        await client.get("http://h.test/")
    assert order == ["outer", "inner"]
