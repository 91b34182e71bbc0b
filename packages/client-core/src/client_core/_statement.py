"""Prepared requests (Ktor's ``HttpStatement``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar, overload

from client_core._request import HttpRequestBuilder
from client_core._response import HttpResponse

if TYPE_CHECKING:
    from client_core._client import HttpClient

__all__ = ["HttpStatement"]

T = TypeVar("T")


class HttpStatement:
    """A request prepared by ``client.prepare_get(...)``; run it any number of times.

    Args:
        client: The client that runs it.
        builder: The prepared request (copied for every run).
    """

    __slots__ = ("builder", "client")

    def __init__(self, client: HttpClient, builder: HttpRequestBuilder) -> None:
        self.client = client
        self.builder = builder

    @overload
    async def execute(self) -> HttpResponse: ...
    @overload
    async def execute(self, handler: Callable[[HttpResponse], Awaitable[T]]) -> T: ...
    async def execute(self, handler: Callable[[HttpResponse], Awaitable[Any]] | None = None) -> Any:
        """Run the request.

        With a handler the body streams: the handler reads it (``body_as_channel()``) and
        the response is released when the handler returns. Without one the body is read
        whole and the response returned.

        Args:
            handler: ``async (response) -> T``.

        Returns:
            The handler's result, or the response.
        """
        if handler is None:
            return await self.client.execute(self.builder.copy())
        async with self.client.stream_builder(self.builder.copy()) as response:
            return await handler(response)

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[HttpResponse]:
        """Run the request and stream its body inside ``async with``.

        Yields:
            The response, its body not read yet.
        """
        async with self.client.stream_builder(self.builder.copy()) as response:
            yield response

    async def body(self) -> bytes:
        """Run the request and return its body."""
        response = await self.execute()
        return await response.body()

    def __repr__(self) -> str:
        return f"<HttpStatement {self.builder!r}>"
