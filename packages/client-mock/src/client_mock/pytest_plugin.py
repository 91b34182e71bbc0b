"""The ``mock_engine`` pytest fixture, registered through the ``pytest11`` entry point.

Installing ``client-mock`` makes the fixture available in every test session::

    async def test_users(mock_engine):
        mock_engine.route("GET", "https://api.example.com/users").respond("[]")
        async with HttpClient(mock_engine) as client:
            assert (await client.get("https://api.example.com/users")).status == 200

After a test that passed, the fixture fails it when a route was never called (routes
registered with ``assert_called=False`` are exempt), then closes the engine. Options go in
the ``mock_engine`` marker: ``MockEngineConfig`` attributes, plus
``assert_all_routes_called=False`` to turn the check off::

    @pytest.mark.mock_engine(reuse_handlers=False, assert_all_routes_called=False)
    def test_something(mock_engine): ...
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from client_mock._engine import MockEngine

__all__ = ["mock_engine"]

_CALL_PASSED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``mock_engine`` marker.

    Args:
        config: The pytest configuration.
    """
    config.addinivalue_line(
        "markers",
        "mock_engine(**options): options of the mock_engine fixture: MockEngineConfig "
        "attributes, and assert_all_routes_called=False to allow routes never called",
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember whether the test itself passed: only then are uncalled routes checked.

    Args:
        item: The test.
        call: The phase that ran.

    Returns:
        The report, unchanged.
    """
    report = yield
    if report.when == "call":
        item.stash[_CALL_PASSED] = report.passed
    return report


@pytest.fixture
def mock_engine(request: pytest.FixtureRequest) -> Iterator[MockEngine]:
    """A fresh :class:`~client_mock.MockEngine`, closed after the test.

    Fails a test that passed but left a route (registered with ``assert_called=True``,
    the default) uncalled, naming every such route.

    Args:
        request: The pytest fixture request (for the ``mock_engine`` marker).

    Yields:
        The engine; share it with ``HttpClient(mock_engine)``.
    """
    from client_mock._engine import MockEngine

    marker = request.node.get_closest_marker("mock_engine")
    options = dict(marker.kwargs) if marker is not None else {}
    check = bool(options.pop("assert_all_routes_called", True))
    engine = MockEngine(**options)
    try:
        yield engine
    finally:
        engine.close()
    if not check or not request.node.stash.get(_CALL_PASSED, False):
        return
    uncalled = engine.uncalled_routes()
    if uncalled:
        listed = "\n".join(f"  - {r.describe()}" for r in uncalled)
        pytest.fail(
            f"mock_engine: {len(uncalled)} route{'s were' if len(uncalled) != 1 else ' was'} "
            f"registered but never called:\n{listed}\n"
            "Remove the route, or register it with assert_called=False.",
            pytrace=False,
        )
