"""The wording of talks: the pushes residents and organizers get, their buttons, and how a talk reads on the
organizer's card and the command line's list. Services decide what happens; these render it (in the current
locale, so each recipient reads their own language)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.conversations.tokens import RATINGS, Ref
from bot.domain.messages import Button, Reply
from bot.features.lectures.model import Lecture
from bot.features.lectures.store import Counts
from bot.features.lectures.tokens import CHECK_IN, RATE, RSVP, VIEW, CheckIn, Rate, Rsvp
from bot.i18n import t
from bot.services.dates import local_time
from bot.services.people import place_label
from bot.storage.db import Tx

Buttons = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a talk stands for its organizers: its notice's outcome ("" while it waits), the answers so far and the
    (stars, comment) pairs left."""

    notice: str
    counts: Counts
    comments: list[tuple[int, str]]


def local(moment: datetime, timezone: str, now: datetime) -> str:
    """A talk's moment as the street reads it, with its day of the week: "12月5日（周六）14:30"."""
    return local_time(moment, timezone, now, weekday=True)


def kind(lecture: Lecture) -> str:
    return t(f"lecture.kind.{lecture.kind.value}")


async def details(tx: Tx, lecture: Lecture, timezone: str, now: datetime) -> str:
    """The talk as residents read it."""
    text = t("lecture.details", kind=kind(lecture), title=lecture.title, speaker=lecture.speaker,
             when=local(lecture.starts_at, timezone, now), place=lecture.place,
             scope=await place_label(tx, lecture.unit_id))
    return f"{text}\n{lecture.description}" if lecture.description else text


def rsvp_buttons(lecture: Lecture) -> Buttons:
    if not lecture.rsvp:
        return ()
    return ((Button(t("lecture.rsvp_yes"), RSVP.make(Rsvp(lecture.id, True))),
             Button(t("lecture.rsvp_no"), RSVP.make(Rsvp(lecture.id, False)))),)


def stars_buttons(lecture_id: int) -> Buttons:
    return tuple((Button("⭐" * stars, RATE.make(Rate(lecture_id, stars))),) for stars in RATINGS)


def check_in_buttons(lecture_id: int) -> Buttons:
    return ((Button(t("lecture.check_in"), CHECK_IN.make(CheckIn(lecture_id))),),)


def view_token(lecture: Lecture) -> str:
    return VIEW.make(Ref(lecture.id))


async def notice(tx: Tx, lecture: Lecture, timezone: str, now: datetime) -> Reply:
    """The notice to every resident in scope."""
    text = t("lecture.notice", details=await details(tx, lecture, timezone, now))
    return Reply(f"{text}\n\n{t('lecture.rsvp_ask')}" if lecture.rsvp else text, rsvp_buttons(lecture))


def late(lecture: Lecture, timezone: str, now: datetime) -> Reply:
    """To the organizer: the talk began before its notice could go out."""
    return Reply(t("lecture.late", title=lecture.title, when=local(lecture.starts_at, timezone, now)))


def reminder(lecture: Lecture, timezone: str, now: datetime) -> Reply:
    return Reply(t("lecture.reminder", title=lecture.title, when=local(lecture.starts_at, timezone, now),
                   place=lecture.place), check_in_buttons(lecture.id))


def poll(lecture: Lecture) -> Reply:
    return Reply(t("lecture.poll", title=lecture.title), stars_buttons(lecture.id))


async def changed(tx: Tx, old: Lecture, lecture: Lecture, timezone: str, now: datetime) -> Reply:
    """To everyone told: what changed from `old`, the talk as it is now, and the RSVP buttons again."""
    lines = [t("lecture.changed", kind=kind(lecture), title=lecture.title)]
    if lecture.starts_at != old.starts_at:
        lines.append(t("lecture.changed_time", new=local(lecture.starts_at, timezone, now),
                       old=local(old.starts_at, timezone, now)))
    if lecture.place != old.place:
        lines.append(t("lecture.changed_place", new=lecture.place, old=old.place))
    return Reply("\n".join([*lines, "", await details(tx, lecture, timezone, now)]), rsvp_buttons(lecture))


def cancelled(lecture: Lecture, timezone: str, now: datetime) -> Reply:
    """To everyone told: the talk is called off."""
    return Reply(t("lecture.cancelled", kind=kind(lecture), title=lecture.title,
                   when=local(lecture.starts_at, timezone, now), place=lecture.place))


async def summary(tx: Tx, lecture: Lecture, standing: Standing, timezone: str, now: datetime) -> str:
    """For organizers: the talk, where its notice stands, and the answers so far."""
    lines = [f"#{lecture.id} {await details(tx, lecture, timezone, now)}", state(lecture, standing.notice, now),
             stats(lecture, standing.counts)]
    for stars, text in standing.comments:
        lines.append(t("lecture.comment_line", stars="⭐" * stars, comment=text))
    return "\n".join(lines)


async def one_line(tx: Tx, lecture: Lecture, standing: Standing, timezone: str, now: datetime) -> str:
    """The talk in one line, for the command line's list."""
    return t("lecture.line", id=lecture.id, kind=kind(lecture), title=lecture.title,
             when=local(lecture.starts_at, timezone, now), place=lecture.place,
             scope=await place_label(tx, lecture.unit_id), state=state(lecture, standing.notice, now),
             stats=stats(lecture, standing.counts))


def state(lecture: Lecture, notice: str, now: datetime) -> str:
    if lecture.cancelled:
        return t("lecture.state.cancelled")
    if notice == "late":
        return t("lecture.state.late")
    if lecture.starts_at <= now:
        return t("lecture.state.over")
    return t("lecture.state.sent") if notice == "sent" else t("lecture.state.pending")


def stats(lecture: Lecture, counts: Counts) -> str:
    line = t("lecture.stats", told=counts.told, checked_in=counts.checked_in)
    if lecture.rsvp:
        line += t("lecture.stats_rsvp", yes=counts.yes, no=counts.no)
    if counts.rated:
        line += t("lecture.stats_rating", average=f"{counts.rating_sum / counts.rated:.1f}", rated=counts.rated)
    return line
