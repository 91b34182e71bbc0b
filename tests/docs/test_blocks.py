"""Every code block of the documentation parses, and every name it imports exists."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import tomllib

import pytest

from tests.docs.conftest import PAGES, code_blocks, compile_block

# Modules the examples import that are examples themselves, or distributions to come.
NOT_REQUIRED = {"my_echo_engine", "client_curl"}


@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_compile(page: str) -> None:
    blocks = [b for b in code_blocks(page) if b.lang == "python"]
    for b in blocks:
        compile_block(b)  # raises SyntaxError naming page:line


@pytest.mark.parametrize("page", PAGES)
def test_toml_blocks_parse(page: str) -> None:
    for b in code_blocks(page):
        if b.lang == "toml":
            tomllib.loads(b.code)


@pytest.mark.parametrize("page", PAGES)
def test_imported_names_exist(page: str) -> None:
    for b in code_blocks(page):
        if b.lang != "python":
            continue
        for node in ast.walk(ast.parse(b.code)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] not in NOT_REQUIRED:
                        importlib.import_module(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module is not None:
                top = node.module.split(".")[0]
                if top in NOT_REQUIRED:
                    continue
                if importlib.util.find_spec(top) is None and top == "client_cio":
                    continue  # client-cio not installed here; its own tests cover it
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{b}: {node.module} has no {alias.name}"


def test_every_page_is_checked() -> None:
    """The pages listed in conftest are the ones that exist (no page silently skipped)."""
    from tests.docs.conftest import DOCS

    owned = {"index.md"} | {str(p.relative_to(DOCS)) for p in (DOCS / "guide").glob("*.md")}
    assert owned <= set(PAGES)
