"""The ``mock_engine`` fixture, registered by the ``pytest11`` entry point."""

from __future__ import annotations

import pytest

from client_core import HttpClient
from client_mock import MockEngine, respond

INNER_TESTS = """
import pytest
from client_core import HttpClient

ENGINES = []


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_uncalled_route_fails(mock_engine):
    ENGINES.append(mock_engine)
    mock_engine.route("GET", "https://a.test/never").respond("x")
    mock_engine.route(url_prefix="https://a.test/also-never/")
    mock_engine.route("GET", "https://a.test/optional", assert_called=False)


@pytest.mark.anyio
async def test_called_routes_pass(mock_engine):
    mock_engine.route("GET", "https://a.test/x").respond("x")
    async with HttpClient(mock_engine) as client:
        assert await (await client.get("https://a.test/x")).text() == "x"


def test_failing_test_is_not_piled_on(mock_engine):
    mock_engine.route(url="https://a.test/y")
    assert False, "the test's own failure"


@pytest.mark.xfail(reason="expected", strict=True)
def test_xfail_is_not_piled_on(mock_engine):
    mock_engine.route(url="https://a.test/xfail")
    assert False


@pytest.mark.mock_engine(assert_all_routes_called=False, reuse_handlers=False)
def test_marker_options(mock_engine):
    assert mock_engine.config.reuse_handlers is False
    mock_engine.route(url="https://a.test/z")


def test_engine_was_closed():
    assert ENGINES and ENGINES[0].is_closed
"""


def test_fixture_fails_tests_with_uncalled_routes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=4, failed=1, errors=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_uncalled_route_fails PASSED*",
            "*test_uncalled_route_fails ERROR*",
            "*test_called_routes_pass PASSED*",
            "*test_failing_test_is_not_piled_on FAILED*",
            "*test_marker_options PASSED*",
            "*test_engine_was_closed PASSED*",
            "*mock_engine: 2 routes were registered but never called:",
            "*- GET https://a.test/never",
            "*- * https://a.test/also-never/*",
            "*assert_called=False*",
        ]
    )
    output = result.stdout.str()
    assert "https://a.test/optional" not in output  # exempt with assert_called=False
    # The error section only: with CI set, pytest repeats full messages in its summary.
    lines = result.stdout.lines
    end = next(i for i, line in enumerate(lines) if "short test summary info" in line)
    listed = [line for line in lines[:end] if line.startswith("  - ")]
    assert len(listed) == 2  # nothing about the route of the test that failed by itself


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.mock_engine(**options)*"])


@pytest.mark.anyio
async def test_fixture_in_this_suite(mock_engine: MockEngine) -> None:
    mock_engine.add_handler(lambda request: respond("from fixture"))
    async with HttpClient(mock_engine) as client:
        assert await (await client.get("https://example.test/")).text() == "from fixture"
    assert len(mock_engine.request_history) == 1
