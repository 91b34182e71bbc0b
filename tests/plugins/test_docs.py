"""The examples of the plugin pages this package documents, run against a mock site."""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import logging
import re
import sys
import types
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from client_core import HttpClient, HttpClientConfig
from client_core.engine import _registry
from client_core.plugins import (
    BodyProgress,
    ContentEncoding,
    HttpRequestRetry,
    HttpRequestRetryConfig,
    HttpTimeout,
    Logging,
    UserAgent,
    _retry,
)

pytestmark = pytest.mark.anyio

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins"
PAGES = [
    "http-timeout.md",
    "http-request-retry.md",
    "user-agent.md",
    "content-encoding.md",
    "logging.md",
    "body-progress.md",
]
FENCE = re.compile(r"^```(\w*)\s*$")


def python_blocks(page: str) -> list[tuple[int, str]]:
    blocks: list[tuple[int, str]] = []
    lines = (DOCS / page).read_text().splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        i += 1
        if match is None:
            continue
        start, body = i, []
        while lines[i] != "```":
            body.append(lines[i])
            i += 1
        i += 1
        if match[1] == "python":
            blocks.append((start, "\n".join(body) + "\n"))
    return blocks


CASES = [
    pytest.param(page, line, code, id=f"{page}:{line}")
    for page in PAGES
    for line, code in python_blocks(page)
]


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    entry = EntryPoint("site", "tests.plugins.doc_site:DocSite", _registry.ENGINE_GROUP)
    monkeypatch.setattr(_registry, "_entry_points", lambda: (entry,))
    monkeypatch.delenv("CLIENT_ENGINE", raising=False)
    monkeypatch.chdir(tmp_path)  # examples write files (big.iso)
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: None)
    # the examples keep the default delays; the tests do not wait for them
    monkeypatch.setattr(_retry, "_exponential", lambda *args, **kwargs: lambda context: 0.0)


async def no_sleep(seconds: float) -> None:
    pass


def everything(config: HttpClientConfig) -> None:
    config.install(HttpTimeout, request_timeout=5.0)
    config.install(HttpRequestRetry, lambda r: setattr(r, "sleep", no_sleep))
    config.install(UserAgent)
    config.install(ContentEncoding)
    config.install(Logging)
    config.install(BodyProgress)


def fake_tqdm() -> types.ModuleType:
    """A stand-in for tqdm (not a dependency): what the example uses of ``tqdm.tqdm``."""

    class Bar:
        def __init__(self, **kwargs: Any) -> None:
            self.total: int | None = None
            self.n = 0
            self.closed = False

        def update(self, n: int) -> None:
            self.n += n

        def close(self) -> None:
            assert self.n == self.total == 32768  # DocSite's /big.iso
            self.closed = True

    module = types.ModuleType("tqdm")
    module.tqdm = Bar  # type: ignore[attr-defined]
    return module


def test_every_page_has_examples() -> None:
    for page in PAGES:
        assert python_blocks(page), page


@pytest.mark.usefixtures("site")
@pytest.mark.parametrize(("page", "line", "code"), CASES)
async def test_example_runs(
    page: str, line: int, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "tqdm" in code:
        monkeypatch.setitem(sys.modules, "tqdm", fake_tqdm())
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    # what a reader has seen on the page before this block
    for _, earlier in python_blocks(page):
        for node in ast.parse(earlier).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                with contextlib.suppress(ModuleNotFoundError):  # tqdm: an optional example
                    exec(ast.unparse(node), namespace)
    exec("import anyio", namespace)
    async with HttpClient(everything) as client:
        namespace.update(
            client=client,
            url="https://example.com/big.iso",
            data=b"x" * 100_000,
            order={"id": 1},
            HttpClientConfig=HttpClientConfig,
        )
        compiled = compile(code, f"{page}:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            result = eval(compiled, namespace)
            if inspect.iscoroutine(result):
                await result
    printed = out.getvalue()
    for comment in re.findall(r"print\(.*\)\s*#\s*(.+)", code):
        expected = comment.split("...")[0].strip()
        assert expected in printed, (expected, printed)
    configure = namespace.get("configure")
    if configure is not None:
        async with HttpClient(configure):
            pass


async def test_retry_policy_example_builds() -> None:
    namespace: dict[str, Any] = {}
    code = next(c for _, c in python_blocks("http-request-retry.md") if "def policy" in c)
    exec(code, namespace)
    config = HttpRequestRetryConfig()
    namespace["policy"](config)
    assert config.max_retries == 4 and config.modify_request_function is not None
