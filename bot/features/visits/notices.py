"""The wording of visits: a household's line on the member's list, a visit's card, the push to a household whose
need was filed for them, the weekly overdue list to the branch secretary. A note appears only on the visit's card
(for the member and their secretary)."""

from __future__ import annotations

from datetime import datetime

from bot.conversations.tokens import Ref
from bot.domain.grid import GridUnit
from bot.domain.messages import Button, Reply
from bot.features.reports.model import Issue
from bot.features.reports.tokens import VIEW
from bot.features.visits.model import Coverage, Overdue, Rhythm, Visit
from bot.i18n import t
from bot.services.dates import local_time
from bot.services.people import place_label
from bot.storage import people
from bot.storage.db import Tx


def mode(visit: Visit) -> str:
    return t(f"visit.mode.{visit.mode.value}")


async def household(tx: Tx, rhythm: Rhythm) -> str:
    return await place_label(tx, rhythm.household.building_id, rhythm.household.room)


def due(rhythm: Rhythm, timezone: str, now: datetime) -> str:
    """"🔴 超期 12 天" or "🟢 3月5日前"."""
    if rhythm.next_due <= now:
        return t("visit.due_overdue", days=(now - rhythm.next_due).days)
    return t("visit.due_by", when=local_time(rhythm.next_due, timezone, now))


async def household_line(tx: Tx, rhythm: Rhythm, timezone: str, now: datetime) -> str:
    """A household button's label: its room and when it is due."""
    monthly = t("visit.monthly_mark") if rhythm.monthly else ""
    return t("visit.household_line", room=rhythm.household.room, due=due(rhythm, timezone, now), monthly=monthly)


async def household_page(tx: Tx, rhythm: Rhythm, timezone: str, now: datetime) -> str:
    last = t("visit.never") if rhythm.last_visit is None else local_time(rhythm.last_visit, timezone, now)
    rhythm_text = t("visit.rhythm_monthly") if rhythm.monthly else t("visit.rhythm_quarterly")
    return t("visit.household_page", place=await household(tx, rhythm), last=last, due=due(rhythm, timezone, now),
             rhythm=rhythm_text)


async def visit_line(tx: Tx, visit: Visit, timezone: str, now: datetime) -> str:
    """A visit on a list: when, how, which household (no note)."""
    return t("visit.line", when=local_time(visit.visited_at, timezone, now), mode=mode(visit),
             room=visit.household.room)


async def visit_card(tx: Tx, visit: Visit, timezone: str, now: datetime) -> Reply:
    """The visit with its note (words, a voice note, a photo) and the report it raised, if any."""
    member = None if visit.member_id is None else await people.by_id(tx, visit.member_id)
    lines = [t("visit.card", place=await place_label(tx, visit.household.building_id, visit.household.room),
               when=local_time(visit.visited_at, timezone, now), mode=mode(visit),
               member=member.display_name if member else t("visit.member_gone")),
             t("visit.card_note", note=visit.note or t("visit.voice_note"))]
    if visit.issue_id is not None:
        lines.append(t("visit.card_issue"))
    return Reply("\n".join(lines), photo=visit.photo_ref, voice=visit.voice_ref)


def filed_detail(member: str) -> str:
    """The report's trail: who filed it for the household."""
    return t("visit.filed_detail", member=member)


def filed_for_you(issue: Issue, member: str) -> Reply:
    """To the household's residents: their party contact filed what they raised."""
    return Reply(t("visit.filed_push", member=member, ref=issue.ref, text=issue.description or t("visit.voice_note")),
                 ((Button(t("visit.view_report"), VIEW.make(Ref(issue.id))),),))


def coverage_line(figure: Coverage) -> str:
    if figure.rate is None:
        return t("visit.coverage_none")
    return t("visit.coverage", visited=figure.visited, linked=figure.linked, rate=f"{figure.rate:.0%}")


async def overdue_lines(tx: Tx, late: list[Overdue]) -> list[str]:
    lines = []
    for item in late:
        member = None if item.member_id is None else await people.by_id(tx, item.member_id)
        lines.append(t("visit.overdue_line", place=await place_label(tx, item.rhythm.household.building_id,
                                                                      item.rhythm.household.room),
                       member=member.display_name if member else t("visit.member_none"), days=item.days))
    return lines


async def overdue_list(tx: Tx, branch: GridUnit, late: list[Overdue]) -> Reply:
    """The weekly push to the branch secretary."""
    return Reply("\n".join([t("visit.overdue_push", branch=branch.name, count=len(late)),
                            *await overdue_lines(tx, late)]))
