"""Plugin tests run on the mock engine (real engines: tests/conformance/test_plugins_*.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from client_core.engine import ResponseBody


class RecordingBody(ResponseBody):
    """A streamed body that records how far it was read and whether it was closed."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.pulled = 0
        self.closed = False

    async def __anext__(self) -> bytes:
        if self.closed or self.pulled >= len(self.chunks):
            raise StopAsyncIteration
        chunk = self.chunks[self.pulled]
        self.pulled += 1
        return chunk

    async def aclose(self) -> None:
        self.closed = True


async def agen(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@pytest.fixture
def sleeps() -> list[float]:
    return []
