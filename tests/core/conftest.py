"""Core tests use a tiny in-process engine; real engines are proven in tests/conformance."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from client_core import HttpClient
from tests.core.echo_engine import EchoEngine


@pytest.fixture
def engine() -> EchoEngine:
    return EchoEngine()


@pytest.fixture
async def client(engine: EchoEngine) -> AsyncIterator[HttpClient]:
    async with HttpClient(engine) as c:
        yield c
