"""Test modules import no other test module: what several share lives in a helper (harness.py, fake_*.py ...) at
the top of tests/; the modules themselves sit in the layout's folders, none loose at the top."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
FOLDERS = {"core", "features", "channels", "office", "stories"}


def imported_test_modules(source: str) -> set[str]:
    """The test_* modules that the Python `source` imports, however it names them."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
            if node.module in ("tests", None):  # `from tests import test_cli`, `from . import test_cli`
                names |= {alias.name for alias in node.names}
    return {last for name in names if (last := name.rsplit(".", 1)[-1]).startswith("test_")}


def test_every_way_of_importing_a_test_module_is_seen() -> None:
    source = """
from tests import harness, test_cli
import tests.test_console as console
from .test_outbox import worker
from tests.fake_telegram import Call
from tests.test_kill9 import Bot
import test_wecom
from . import test_media
from tests.harness import test_looking_helper
"""
    assert imported_test_modules(source) == {"test_cli", "test_console", "test_outbox", "test_kill9", "test_wecom",
                                             "test_media"}


def test_no_test_module_imports_another() -> None:
    modules = sorted(TESTS.rglob("test_*.py"))
    assert len(modules) > 30  # the scan itself works
    offenders = {path.name: found for path in modules
                 if (found := imported_test_modules(path.read_text(encoding="utf-8")))}
    assert not offenders, f"move what they share into a helper module: {offenders}"


def test_test_modules_follow_the_layout() -> None:
    names = [path.name for path in TESTS.rglob("test_*.py")]
    assert len(names) == len(set(names)), "two test modules share a name"
    loose = {str(path.relative_to(TESTS)) for path in TESTS.rglob("test_*.py")
             if path.relative_to(TESTS).parts[0] not in FOLDERS}
    assert not loose, f"put these under one of {sorted(FOLDERS)}: {sorted(loose)}"
    features = {path.name for path in (TESTS / "features").iterdir() if path.is_dir()}
    assert features <= {path.name for path in (TESTS.parent / "bot" / "features").iterdir() if path.is_dir()}
