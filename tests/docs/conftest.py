"""Run the documentation's code blocks as they are written, against an in-process site.

The examples use ``HttpClient()`` (discovery), ``HttpClient(CIO)`` and URLs such as
``https://api.example.com/users/1``. Here discovery finds :class:`Site`, a mock engine that
answers those URLs, and ``client_cio`` is replaced by a stand-in whose ``CIO`` is ``Site``,
so nothing leaves the process whatever engines are installed.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
import sys
import types
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from client_core.engine import HttpResponseData, _registry
from client_core.errors import ConnectException
from client_mock import (
    MockEngine,
    MockEngineConfig,
    MockRequest,
    respond,
    respond_error,
    respond_json,
    respond_redirect,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

# The pages whose examples these tests keep honest.
PAGES = (
    "index.md",
    "guide/client.md",
    "guide/requests.md",
    "guide/streaming.md",
    "guide/errors.md",
    "guide/testing.md",
    "guide/writing-an-engine.md",
    "guide/dependencies.md",
    "plugins/index.md",
    "plugins/default-request.md",
    "plugins/http-call-validator.md",
    "plugins/http-plain-text.md",
    "plugins/http-redirect.md",
    "plugins/http-send.md",
    "plugins/writing-plugins.md",
)

_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)\s*$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    code: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def code_blocks(page: str) -> list[Block]:
    """Every fenced code block of ``docs/<page>``, dedented (tabbed blocks are indented)."""
    blocks: list[Block] = []
    lines = (DOCS / page).read_text().splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        indent, lang = match["indent"], match["lang"]
        body: list[str] = []
        i += 1
        while lines[i] != f"{indent}```":
            body.append(lines[i][len(indent) :])
            i += 1
        blocks.append(Block(page, i - len(body), lang, "\n".join(body) + "\n"))
        i += 1
    return blocks


def block(page: str, contains: str) -> Block:
    """The one Python block of ``page`` whose code contains ``contains``."""
    found = [b for b in code_blocks(page) if b.lang == "python" and contains in b.code]
    assert len(found) == 1, f"{page}: {len(found)} python blocks contain {contains!r}"
    return found[0]


def compile_block(b: Block) -> types.CodeType:
    return compile(b.code, str(b), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


class Site(MockEngine):
    """A mock engine answering the URLs the documentation uses.

    ``/users/0`` is a 404, ``/users/5`` a 503, ``/old-page`` redirects to ``/new-page``,
    ``/flaky`` alternates 503 and 200, ``*.invalid`` refuses connections, ``/big.iso``
    and ``/export.csv`` stream; anything else echoes the request as JSON.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flaky_calls = 0
        if not self.config.request_handlers:
            self.config.add_handler(self.answer)

    def answer(self, request: MockRequest) -> HttpResponseData:
        url = request.url
        path = url.path
        if url.host.endswith(".invalid"):
            raise ConnectException(f"{request.method} {url.redacted()}: connection refused")
        if path.endswith("/users/0"):
            return respond_json({"error": "no such user"}, status=404)
        if path.endswith("/users/5"):
            return respond_error(503, "try later")
        if path == "/old-page":
            return respond_redirect("/new-page", status=301)
        if path == "/flaky":
            self.flaky_calls += 1
            return respond_error(503) if self.flaky_calls % 2 else respond("recovered")
        if path == "/quota":
            return respond_json({}, headers={"X-Quota-Remaining": "0"})
        if path == "/envelope":
            return respond_json({"error": "invalid key"})
        if path == "/big.iso":
            return respond([b"\x00" * 1000] * 10)
        if path == "/export.csv":
            return respond([b"a,b\n1,2\n", b"3,4\n5,6\n"], headers={"Content-Type": "text/csv"})
        if path == "/":
            return respond("<h1>Example</h1>", headers={"Content-Type": "text/html"})
        return respond_json(echo(request))


def echo(request: MockRequest) -> dict[str, Any]:
    return {
        "method": str(request.method),
        "url": str(request.url),
        "headers": dict(request.headers.items()),
        "body": request.text(),
    }


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Discovery finds only :class:`Site`; ``client_cio.CIO`` is ``Site``; cwd is tmp."""
    entry = EntryPoint("site", f"{__name__}:Site", _registry.ENGINE_GROUP)
    monkeypatch.setattr(_registry, "_entry_points", lambda: (entry,))
    monkeypatch.delenv("CLIENT_ENGINE", raising=False)
    fake_cio = types.ModuleType("client_cio")
    fake_cio.CIO = Site  # type: ignore[attr-defined]
    fake_cio.CIOEngineConfig = MockEngineConfig  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "client_cio", fake_cio)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def ns(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Globals for documentation blocks: a registered module's, so dataclasses work."""
    module = types.ModuleType("docs_example")
    monkeypatch.setitem(sys.modules, "docs_example", module)
    return module.__dict__


def page_imports(page: str) -> str:
    """The top-level imports of every Python block of ``page``.

    A reader of a page has seen its earlier blocks; a block run alone gets their imports.
    """
    lines: list[str] = []
    for b in code_blocks(page):
        if b.lang != "python":
            continue
        for node in ast.parse(b.code).body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                if module is not None and not module.startswith("my_echo_engine"):
                    lines.append(ast.unparse(node))
    return "\n".join(lines)


async def run(b: Block, namespace: dict[str, Any]) -> str:
    """Run a block (top-level ``await`` allowed) in ``namespace``; return its stdout."""
    exec(page_imports(b.page), namespace)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = eval(compile_block(b), namespace)
        if inspect.iscoroutine(result):
            await result
    return out.getvalue()


def run_program(b: Block, namespace: dict[str, Any]) -> str:
    """Run a whole program (it calls ``anyio.run`` itself); return its stdout."""
    exec(page_imports(b.page), namespace)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile_block(b), namespace)
    return out.getvalue()
