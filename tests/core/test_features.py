"""Features are found in bot/features, and what the core derives from them is what it was by hand: the menu for
every role, the job sources, the media a deletion clears; claiming something twice stops start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.conversations.engine import Engine
from bot.conversations.flow import Ctx, Done, Flow, NoData, Retry, State, Transition
from bot.conversations.menu import OWN, MenuEntry
from bot.conversations.tokens import Token
from bot.domain.messages import Inbound, InboundKind, Reply, Sender
from bot.domain.people import Duty, DutyGrant, Person, Role, RoleGrant
from bot.domain.quiet import QuietHours
from bot.features.base import Feature
from bot.features.catalog import Catalog, collect, discover
from bot.features.lectures.service import LectureJobs
from bot.features.meetings.service import MeetingJobs
from bot.features.reports.timers import IssueTimers
from bot.features.visits.service import VisitJobs
from bot.i18n import SUPPORTED, t, use_locale
from bot.storage.db import Database

SENDER = Sender("console", "u1", "u1")
RESIDENT = Person(1, "居民", "zh_CN", 10, "301")
ON_DUTY = Person(2, "卫生员", "zh_CN", 10, "302", duties=(DutyGrant(Duty.SANITATION, 10),))
LEADER = Person(3, "楼栋长", "zh_CN", 10, "303", roles=(RoleGrant(Role.BUILDING_LEADER, 10),))
ADMIN = Person(4, "管理员", "zh_CN", 10, "304", roles=(RoleGrant(Role.STREET_ADMIN, 1),), is_admin=True)
BARE_ADMIN = Person(5, "管理员", "zh_CN", 10, "305", is_admin=True)  # configured, holding no role yet

# The main menu as it was written by hand before features declared their entries, per person.
TODAY = {
    "resident": (RESIDENT, ["report", "mine", "meeting", "stats", "moral_models", "me", "home", "language", "help",
                            "forget"]),
    "on duty": (ON_DUTY, ["report", "mine", "meeting", "tasks", "stats", "moral_models", "me", "home", "language",
                          "help", "forget"]),
    "leader": (LEADER, ["report", "mine", "meeting", "tasks", "broadcast", "lecture", "stats", "moral_models", "me",
                        "home", "language", "help", "forget"]),
    "admin": (ADMIN, ["report", "mine", "meeting", "tasks", "broadcast", "lecture", "evaluation", "stats",
                      "weekly", "moral_models", "me", "home", "invite", "language", "help", "forget"]),
    "bare admin": (BARE_ADMIN, ["report", "mine", "meeting", "broadcast", "lecture", "evaluation", "stats",
                                "weekly", "moral_models", "me", "home", "invite", "language", "help", "forget"]),
}


def test_discovery_finds_every_feature_in_folder_order() -> None:
    names = [feature.name for feature in discover().features]
    assert names == ["broadcasts", "contacts", "evaluations", "invites", "lectures", "meetings", "moral_models",
                     "registration", "reports", "scorecards", "tasks", "visits", "weekly"]


def test_every_flow_comes_from_a_feature_or_the_menu() -> None:
    assert sorted(discover().flows) == sorted(["menu", "registration", "language", "invite_create", "report",
                                               "my_reports", "tasks", "meeting", "lecture", "broadcast", "quiet",
                                               "evaluation", "evaluation_results", "stats", "moral_models",
                                               "weekly", "member_card", "contact", "assign_contact", "visit"])


@pytest.mark.parametrize("who", TODAY)
async def test_menu_is_todays_for_every_role(db: Database, who: str) -> None:
    person, tokens = TODAY[who]
    menu = discover().flows["menu"]
    async with db.read() as tx:
        ctx = Ctx(tx=tx, sender=SENDER, person=person, now=datetime.now(UTC), is_admin=person.is_admin,
                  link=str, data=NoData())
        prompt = await menu.states["main"].prompt(ctx)
        denied = await menu.states["main"].handle(ctx, _press("m:nothing"))
    shown = [(button.label, button.token) for row in prompt.buttons for button in row]
    assert shown == [(t(f"menu.{token}"), f"m:{token}") for token in tokens]
    assert [len(row) for row in prompt.buttons] == [2] * (len(tokens) // 2) + [1] * (len(tokens) % 2)
    assert denied == Retry("auth.denied")


async def test_a_hidden_entry_cannot_be_pressed(db: Database) -> None:
    menu = discover().flows["menu"]
    async with db.read() as tx:
        ctx = Ctx(tx=tx, sender=SENDER, person=RESIDENT, now=datetime.now(UTC), is_admin=False, link=str,
                  data=NoData())
        assert await menu.states["main"].handle(ctx, _press("m:tasks")) == Retry("auth.denied")
        assert (await menu.states["main"].handle(ctx, _press("m:report"))).flow == "report"  # type: ignore[union-attr]


def test_job_sources_are_the_features_with_quiet_hours_where_needed() -> None:
    quiet = QuietHours.parse("21:00-07:00")
    sources = discover().job_sources(quiet)
    assert sorted(type(source).__name__ for source in sources) == [
        "CampaignJobs", "EvaluationJobs", "IssueTimers", "LectureJobs", "MeetingJobs", "VisitJobs", "WeeklyJobs"]
    issue_timers = next(source for source in sources if isinstance(source, IssueTimers))
    assert issue_timers._quiet == quiet
    assert any(isinstance(source, LectureJobs) for source in sources)
    assert any(isinstance(source, MeetingJobs) for source in sources)
    assert next(source for source in sources if isinstance(source, VisitJobs))._quiet == quiet


def test_refusal_types_are_the_features() -> None:
    assert sorted(refusal.__name__ for refusal in discover().refusals) == [
        "BroadcastError", "ContactError", "EvaluationError", "InviteError", "IssueError", "LectureError",
        "MeetingError", "ModelError", "ScoreError", "VisitError", "WeeklyError", "WeightsError"]


MEDIA_NAME = re.compile(r"photo|voice|image|picture|audio|video|media|file|path|attachment")
NOT_A_PERSONS = {("media_trash", "path")}  # the trash itself: files already let go of


async def test_every_media_column_is_declared_by_a_feature(db: Database) -> None:
    async with db.read() as tx:
        tables = [row[0] for row in await tx.all("SELECT name FROM sqlite_master WHERE type = 'table'")]
        schema = {table: {row[1] for row in await tx.all(f"PRAGMA table_info({table})")} for table in tables}
    in_schema = {(table, column) for table, columns in schema.items() for column in columns
                 if MEDIA_NAME.search(column)} - NOT_A_PERSONS
    declared = {(column.table, column.column) for column in discover().media}
    assert in_schema, "the scan finds media columns"
    assert in_schema == declared, f"undeclared: {in_schema - declared}, not in the schema: {declared - in_schema}"
    for column in discover().media:
        assert not column.sent_by or column.sent_by in schema[column.table], column


def _flow(name: str, *, command: str = "", claims: tuple[str, ...] = ()) -> Flow[NoData]:
    async def prompt(ctx: Ctx[NoData]) -> Reply:
        return Reply("?")

    async def handle(ctx: Ctx[NoData], inbound: Inbound) -> Transition:
        return Done()

    return Flow(name=name, first="only", states={"only": State(prompt, handle)}, data=NoData, command=command,
                claims=claims)


@dataclass(frozen=True, slots=True)
class Poll:
    id: int


def _press(token: str) -> Inbound:
    return Inbound(kind=InboundKind.BUTTON, sender=SENDER, token=token)


def _with(*extra: Feature) -> Catalog:
    return collect([*discover().features, *extra])


@pytest.mark.parametrize(("first", "second", "message"), [
    (Feature("alpha", (_flow("a", command="poll"),)), Feature("beta", (_flow("b", command="poll"),)),
     "command 'poll' is claimed by both alpha and beta"),
    (Feature("alpha", (_flow("a", claims=("pl:",)),)), Feature("beta", (_flow("b", claims=("pl:",)),)),
     "button-token prefix 'pl:' is claimed by both alpha and beta"),
    (Feature("alpha", (_flow("a"),), (MenuEntry("menu.help", "poll", "a", 1),)),
     Feature("beta", (_flow("b"),), (MenuEntry("menu.help", "poll", "b", 2),)),
     "menu token 'poll' is claimed by both alpha and beta"),
    (Feature("alpha", (_flow("poll"),)), Feature("beta", (_flow("poll"),)),
     "flow 'poll' is claimed by both alpha and beta"),
    (Feature("alpha", tokens=(Token("pl:vote", Poll),)), Feature("beta", tokens=(Token("pl:vote", Poll),)),
     "token codec prefix 'pl:vote' is claimed by both alpha and beta"),
])
def test_claiming_twice_fails_at_start(first: Feature, second: Feature, message: str) -> None:
    _with(first), _with(second)  # each alone is fine
    with pytest.raises(ValueError, match=re.escape(message)):
        _with(first, second)


@pytest.mark.parametrize(("feature", "message"), [
    (Feature("alpha", (_flow("a", command="quiet"),)), "command 'quiet' is claimed by both reports and alpha"),
    (Feature("alpha", (_flow("a", command="help"),)), "command 'help' is claimed by both core and alpha"),
    (Feature("alpha", (_flow("a", claims=("t:",)),)), "button-token prefix 't:' is claimed by both tasks and alpha"),
    (Feature("alpha", (_flow("a"),), (MenuEntry("menu.help", "forget", "a", 1),)),
     "menu token 'forget' is claimed by both core and alpha"),
    (Feature("alpha", (_flow("menu"),)), "flow 'menu' is claimed by both core and alpha"),
    (Feature("alpha", tokens=(Token("u", Poll),)), "token codec prefix 'u' is claimed by both core and alpha"),
    (Feature("alpha", menu=(MenuEntry("menu.help", "poll", "nowhere", 1),)), "starts no known flow"),
])
def test_a_feature_cannot_take_what_another_or_the_core_holds(feature: Feature, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _with(feature)


def test_the_engine_refuses_flows_sharing_a_command_or_prefix(db: Database) -> None:
    clock = ManualClock()
    with pytest.raises(ValueError, match="command 'poll' is claimed by both a and b"):
        Engine(db, clock, {"a": _flow("a", command="poll"), "b": _flow("b", command="poll")})
    with pytest.raises(ValueError, match="button-token prefix 'pl:' is claimed by both a and b"):
        Engine(db, clock, {"a": _flow("a", claims=("pl:",)), "b": _flow("b", claims=("pl:",))})


def test_the_command_menu_is_what_the_flows_advertise() -> None:
    assert discover().commands(admin=False) == ("start", "menu", "help", "language", "stats", "cancel")
    assert discover().commands(admin=True) == ("start", "menu", "help", "language", "stats", "cancel", "invite")
    assert "quiet" in {flow.command for flow in discover().flows.values()}  # a command, not listed


@pytest.mark.parametrize("locale", SUPPORTED)
def test_no_two_menu_entries_share_an_icon(locale: str) -> None:
    """A resident who reads little finds an entry by its picture: every entry's leading icon is its own."""
    entries = [*OWN, *(entry for feature in discover().features for entry in feature.menu)]
    with use_locale(locale):
        icons = [t(entry.label).split(" ", 1)[0] for entry in entries]
    assert len(set(icons)) == len(icons), sorted(icon for icon in icons if icons.count(icon) > 1)
