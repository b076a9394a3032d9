"""Every message the code uses exists, non-empty, in every locale, with the same placeholders."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.domain.grid import Level
from bot.domain.people import Duty, Role
from bot.features.catalog import discover
from bot.features.evaluations.model import Grade, RoundStatus
from bot.features.invites.service import Status
from bot.features.reports.model import Status as IssueStatus
from bot.features.scorecards.export import BOARDS
from bot.features.scorecards.stats import DRILL
from bot.features.scorecards.tokens import Span
from bot.features.visits.model import Mode as VisitMode
from bot.features.weekly.model import CASES
from bot.features.weekly.model import Field as WeeklyField
from bot.features.weekly.model import Status as WeeklyStatus
from bot.i18n import SUPPORTED, catalog, normalize, po_path, t, translate, use_locale
from bot.services.dates import WEEKDAYS

ROOT = Path(__file__).resolve().parents[2]
# Functions whose string arguments (positional or keyword) are message keys: these, and every feature's refusals.
CALLS = {"t", "translate", "say", "Retry", "push", "_reply", "_tell_reporter", "_ask_fixed", "GridError",
         "MediaError", "PosterError", "confirm_abandon", "_page_told", "MenuEntry"}
CALLS |= {refusal.__name__ for refusal in discover().refusals}
KEY = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")


def _literal_keys() -> set[str]:
    """String keys passed to t(), translate() and Retry() anywhere in the code."""
    keys: set[str] = set()
    for path in ROOT.joinpath("bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in CALLS:
                for arg in [*node.args, *(keyword.value for keyword in node.keywords)]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and KEY.match(arg.value):
                        keys.add(arg.value)
    return keys


def _dynamic_keys() -> set[str]:
    """Keys the code builds from enums (f"role.{...}" and the like)."""
    keys = {f"role.{role.value}" for role in Role} | {f"duty.{duty.value}" for duty in Duty}
    keys |= {f"invite.status.{status.value}" for status in Status if status is not Status.OK}
    keys |= {f"reg.choose_{level}" for level in ("community", "complex", "building")}
    keys |= {f"invite.choose_{level}" for level in ("community", "complex", "building", "party_household")}
    keys |= {f"grid.level.{level.value}" for level in Level}
    keys |= {f"status.{status.value}" for status in IssueStatus}
    keys |= {f"evaluation.grade.{grade.value}" for grade in Grade}
    keys |= {f"evaluation.branch_{status.value}" for status in RoundStatus}
    keys |= {f"visit.mode.{mode.value}" for mode in VisitMode}
    keys |= {f"date.month.{month}" for month in range(1, 13)} | {f"date.weekday.{day}" for day in WEEKDAYS}
    migration = (ROOT / "bot" / "storage" / "migrations" / "002_issues.sql").read_text(encoding="utf-8")
    keys |= {f"category.{code}" for code in re.findall(r"^\s+\('([a-z_]+)',", migration, re.M)}
    keys |= {f"stats.span.{span.value}" for span in Span} | {f"score.board.{name}" for name in BOARDS}
    keys |= {f"stats.legend.{figure.value}" for figure in DRILL}
    keys |= {f"weekly.status.{status.value}" for status in WeeklyStatus} | {"weekly.status.late_submitted"}
    keys |= {f"weekly.case.{name}" for name in CASES} | {f"weekly.field.{field.value}" for field in WeeklyField}
    return keys | {f"cmd.{name}" for name in discover().commands(admin=True)}


def _entries(locale: str) -> dict[str, str]:
    with po_path(locale).open("rb") as source:
        return {str(m.id): str(m.string) for m in read_po(source) if m.id}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_code_finds_keys() -> None:
    assert len(_literal_keys()) > 50  # the scan itself works


@pytest.mark.parametrize("locale", SUPPORTED)
def test_every_key_is_translated(locale: str) -> None:
    entries = _entries(locale)
    missing = sorted(key for key in _literal_keys() | _dynamic_keys() if not entries.get(key, "").strip())
    assert not missing, f"{locale} lacks: {missing}"


def test_catalogs_agree() -> None:
    zh, en = _entries("zh_CN"), _entries("en")
    assert set(zh) == set(en), f"only in one catalog: {sorted(set(zh) ^ set(en))}"
    mismatched = sorted(key for key in zh if _fields(zh[key]) != _fields(en[key]))
    assert not mismatched, f"placeholders differ: {mismatched}"


def test_no_duplicate_keys() -> None:
    for locale in SUPPORTED:
        ids = re.findall(r'^msgid "(.+)"$', po_path(locale).read_text(encoding="utf-8"), re.M)
        assert len(ids) == len(set(ids)), f"{locale}: {sorted({i for i in ids if ids.count(i) > 1})}"


def test_loaded_without_compiling() -> None:
    assert not list(ROOT.joinpath("locales").rglob("*.mo"))
    assert catalog("en").gettext("menu.title") == "What would you like to do?"
    assert translate("zh_CN", "me.home", place="1号楼") == "住址：1号楼"


def test_current_locale_is_per_context() -> None:
    with use_locale("en"):
        assert t("nav.cancel") == "✖ Cancel"
    assert t("nav.cancel") == "✖ 取消"


@pytest.mark.parametrize(("tag", "locale"), [("en-US", "en"), ("zh-hans", "zh_CN"), ("zh_TW", "zh_CN"),
                                             ("fr", None), ("", None)])
def test_normalize(tag: str, locale: str | None) -> None:
    assert normalize(tag) == locale
