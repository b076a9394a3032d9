"""Saturday meetings (周六说事、居民议事) in the chat.

Residents see their community's meeting ahead, answer (yes / maybe / no, changeable), submit a topic (words or a
voice note, then optionally a photo) until the cut-off, check in during the meeting, rate it afterwards and mute or
unmute the announcements. The community's secretary chairs: live counts, the agenda, each topic marked discussed,
answered (pushed to its submitter) or turned into a report, attendance, the outcomes, calling off one meeting
before it begins (after a confirmation; everyone who heard of it is told), and the settings (on / off, place,
capacity, day and time).

Pushed buttons (`mt:<action>:<id>[:<arg>]`) start this flow from anywhere, and the screens use the same tokens, so an
old message's button still works. Tokens are parsed strictly; the services re-check every right at every step, and a
refusal changes nothing. Diagram: meeting.mmd.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass

from bot.conversations.flow import ABANDON, Ctx, Done, Flow, Goto, Retry, State, Transition, choices, confirm_abandon
from bot.domain.messages import Button, Inbound, InboundKind, Reply
from bot.domain.people import Person
from bot.features.meetings import service, store
from bot.features.meetings.service import MeetingError
from bot.features.meetings.store import Meeting
from bot.features.reports import store as issue_store
from bot.features.reports.service import category_name
from bot.i18n import t
from bot.storage import grid

ID = r"[1-9][0-9]{0,11}"
TOKEN = re.compile(rf"mt:([a-z]{{1,6}}):({ID})(?::([a-z0-9]{{1,12}}))?", re.ASCII)
PLAIN = frozenset({"tp", "in", "c", "ag", "at", "oc", "cx", "cxok", "set", "mute", "unmute", "t", "td", "ta",
                   "tr"})
ARGUED = {"r": re.compile("[ynm]"), "p": re.compile("[1-5]"), "am": re.compile(ID)}
SKIP_PHOTO = "tp:skip"
SKIP_COMMENT = "cm:skip"
DEFAULT_PLACE = "pl:none"
NO_LIMIT = "cap:none"


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    id: int
    arg: str = ""


def parse(token: str) -> Action | None:
    """A meeting token, strictly: a known action, an id without leading zeros, and the argument it needs."""
    found = TOKEN.fullmatch(token)
    if found is None:
        return None
    name, ident, arg = found[1], int(found[2]), found[3] or ""
    pattern = ARGUED.get(name)
    if (name in PLAIN and not arg) or (pattern is not None and arg and pattern.fullmatch(arg)):
        return Action(name, ident, arg)
    return None


def _me(ctx: Ctx) -> Person:
    if ctx.person is None:
        raise MeetingError("auth.denied")
    return ctx.person


def _say(text: str) -> Done:
    return Done((Reply(text),))


async def _guarded(step: Awaitable[Transition]) -> Transition:
    """Run a step that calls the services; a refusal ends the flow with its kind message and changes nothing."""
    try:
        return await step
    except MeetingError as error:
        return _say(t(error.key, **error.params))


async def begin(ctx: Ctx) -> Transition:
    token = ctx.entry.token
    return await _guarded(_open(ctx, token) if token else _first(ctx))


async def _first(ctx: Ctx) -> Transition:
    """Residents start at their community's meeting; a chair who lives elsewhere goes straight to chairing."""
    person = _me(ctx)
    chaired = await service.chaired_by(ctx.tx, person)
    if await service.community_of(ctx.tx, person) is None and len(chaired) == 1:
        ctx.data["community"] = chaired[0]
        return Goto("chair")
    return Goto("home")


async def _open(ctx: Ctx, token: str) -> Transition:
    """Act on a meeting token (pressed anywhere, or typed as a button's number)."""
    action = parse(token)
    if action is None:
        return _say(t("auth.denied"))
    person, tx, now, tz = _me(ctx), ctx.tx, ctx.now, ctx.timezone
    name, ident = action.name, action.id
    if name == "r":
        answer = await service.rsvp(tx, ident, person, service.ANSWER_TOKENS[action.arg], now, tz)
        note = t(f"meeting.answered.{answer}", position=await service.waitlist_position(tx, ident, person.id))
        return _home_or_back(ctx, note)
    if name == "tp":
        await service.topics_open(tx, ident, person, now, tz)
        for key in ("text", "voice", "photo"):
            ctx.data.pop(key, None)
        ctx.data["meeting"] = ident
        return Goto("topic_text")
    if name == "in":
        fresh = await service.check_in(tx, ident, person, now, tz)
        return _say(t("meeting.checked_in" if fresh else "meeting.already_in"))
    if name == "p":
        await service.rate(tx, ident, person, int(action.arg), "", now)
        ctx.data.update(meeting=ident, stars=int(action.arg))
        return Goto("comment")
    if name in ("mute", "unmute"):
        await service.set_muted(tx, ident, person, name == "mute", now)
        return _home_or_back(ctx, t(f"meeting.{name}d"))
    return await _chair_action(ctx, person, action)


async def _chair_action(ctx: Ctx, person: Person, action: Action) -> Transition:
    tx, now, tz = ctx.tx, ctx.now, ctx.timezone
    name, ident = action.name, action.id
    if name in ("c", "set"):
        await service.settings_for(tx, ident, person)  # only the community's chair gets further
        ctx.data["community"] = ident
        return Goto("chair" if name == "c" else "settings")
    if name in ("ag", "at", "oc"):
        meeting = await service.chair_meeting(tx, ident, person)
        ctx.data.update(meeting=meeting.id, community=meeting.community_id)
        if name == "oc":
            _ready_for_outcome(meeting, ctx)
        return Goto({"ag": "agenda", "at": "attendance", "oc": "outcome"}[name])
    if name in ("cx", "cxok"):
        return await _cancel_action(ctx, person, action)
    if name == "am":
        present = await service.mark_attendance(tx, ident, int(action.arg), person, now, tz)
        meeting = await service.chair_meeting(tx, ident, person)
        ctx.data.update(meeting=meeting.id, community=meeting.community_id)
        who = await service.person_label(tx, int(action.arg))
        return Goto("attendance", (Reply(t("meeting.marked_in" if present else "meeting.marked_out", who=who)),))
    if name == "td":
        topic = await service.mark_discussed(tx, ident, person, now)
        ctx.data.update(meeting=topic.meeting_id)
        return Goto("agenda", (Reply(t("meeting.discussed_note", topic=service.topic_label(topic))),))
    topic, meeting = (await service.actionable_topic(tx, ident, person) if name in ("ta", "tr")
                      else await service.chair_topic(tx, ident, person))
    ctx.data.update(topic=topic.id, meeting=meeting.id, community=meeting.community_id)
    return Goto({"t": "topic", "ta": "answer", "tr": "category"}[name])


async def _cancel_action(ctx: Ctx, person: Person, action: Action) -> Transition:
    """`cx` asks the chair to confirm calling the meeting off; `cxok` (the confirmation) calls it off."""
    if action.name == "cx":
        meeting, _ = await service.cancellable(ctx.tx, action.id, person, ctx.now)
        ctx.data.update(meeting=meeting.id, community=meeting.community_id)
        return Goto("cancel")
    meeting, told = await service.cancel(ctx.tx, action.id, person, ctx.now, ctx.timezone)
    ctx.data["community"] = meeting.community_id
    note = t("meeting.cancelled_note", when=service.when(meeting.starts_at, ctx.timezone, ctx.now), count=told)
    return Goto("chair", (Reply(note),))


def _home_or_back(ctx: Ctx, note: str) -> Transition:
    """After a quick answer: the meeting's screen, or straight back to what a pushed button interrupted."""
    return _say(note) if ctx.resuming else Goto("home", (Reply(note),))


def _ready_for_outcome(meeting: Meeting, ctx: Ctx) -> None:
    if meeting.status != "scheduled":
        raise MeetingError("meeting.error.closed")
    if ctx.now < meeting.starts_at:
        raise MeetingError("meeting.error.not_started")


async def on_pick(ctx: Ctx, inbound: Inbound) -> Transition:
    """Screens whose buttons are all meeting tokens (typed numbers land here; pressed ones restart at begin)."""
    if not inbound.token.startswith("mt:"):
        return Retry("nav.use_buttons")
    return await _guarded(_open(ctx, inbound.token))


async def _error_screen(step: Awaitable[Reply]) -> Reply:
    """A prompt whose rights were lost meanwhile shows why instead."""
    try:
        return await step
    except MeetingError as error:
        return Reply(t(error.key, **error.params))


# --------------------------------------------------------------------------------------------- residents


async def ask_home(ctx: Ctx) -> Reply:
    person = _me(ctx)
    lines: list[str] = []
    rows: list[tuple[Button, ...]] = []
    community = await service.community_of(ctx.tx, person)
    if community is None:
        lines.append(t("meeting.no_home"))
    else:
        meeting = await service.current_for(ctx.tx, community, ctx.now)
        if meeting is None:
            lines.append(t("meeting.none"))
        else:
            text, buttons = await _resident_card(ctx, meeting, person)
            lines.append(text)
            rows += buttons
        muted = await service.is_muted(ctx.tx, person, community)
        rows.append((Button(t("meeting.unmute" if muted else "meeting.mute"),
                            f"mt:{'unmute' if muted else 'mute'}:{community}"),))
    for chaired in await service.chaired_by(ctx.tx, person):
        unit = await grid.by_id(ctx.tx, chaired)
        rows.append((Button(t("meeting.chair_of", community=unit.name if unit else ""), f"mt:c:{chaired}"),))
    return Reply("\n".join(lines), tuple(rows))


async def _resident_card(ctx: Ctx, meeting: Meeting, person: Person) -> tuple[str, list[tuple[Button, ...]]]:
    tx, now, tz = ctx.tx, ctx.now, ctx.timezone
    place = await service.place_of(tx, meeting)
    lines = [t("meeting.card", when=service.when(meeting.starts_at, tz, ctx.now), place=await place())]
    if meeting.capacity is not None:
        counts = await store.answer_counts(tx, meeting.id)
        lines.append(t("meeting.seats", taken=counts["yes"], capacity=meeting.capacity))
    answer = await store.answer_of(tx, meeting.id, person.id)
    position = await service.waitlist_position(tx, meeting.id, person.id)
    lines.append(t(f"meeting.your_answer.{answer or 'none'}", position=position))
    mine = await store.topics_by(tx, meeting.id, person.id)
    if mine:
        lines.append(t("meeting.your_topics", count=len(mine)))
    present = await store.is_present(tx, meeting.id, person.id)
    if present:
        lines.append(t("meeting.you_are_in"))
    rows: list[tuple[Button, ...]] = []
    if now < meeting.starts_at:
        rows.append(service.rsvp_row(meeting.id))
    if now < meeting.topics_until:
        lines.append(t("meeting.topics_until", until=service.when(meeting.topics_until, tz, ctx.now)))
        rows.append((Button(t("meeting.add_topic"), f"mt:tp:{meeting.id}"),))
    if meeting.starts_at - service.CHECK_IN_EARLY <= now < meeting.ends_at and not present:
        rows.append((Button(t("meeting.check_in"), f"mt:in:{meeting.id}"),))
    return "\n".join(lines), rows


async def ask_topic_text(ctx: Ctx) -> Reply:
    return Reply(t("meeting.topic_ask", limit=service.MAX_TOPIC))


async def on_topic_text(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token.startswith("mt:"):
        return await _guarded(_open(ctx, inbound.token))
    if inbound.kind is InboundKind.VOICE and inbound.media_ref:
        ctx.data.update(voice=inbound.media_ref, text="")
    elif inbound.kind is InboundKind.TEXT and inbound.text.strip():
        if len(inbound.text.strip()) > service.MAX_TOPIC:
            return Retry("meeting.topic_too_long")
        ctx.data.update(text=inbound.text.strip(), voice="")
    else:
        return Retry("meeting.topic_expected")
    return Goto("topic_photo")


async def ask_topic_photo(ctx: Ctx) -> Reply:
    return Reply(t("meeting.topic_photo_ask"), choices([(t("meeting.skip_photo"), SKIP_PHOTO)]))


async def on_topic_photo(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.kind is InboundKind.PHOTO and inbound.media_ref:
        ctx.data["photo"] = inbound.media_ref
    elif inbound.token != SKIP_PHOTO:
        return Retry("meeting.photo_expected")
    return await _guarded(_submit_topic(ctx))


async def _submit_topic(ctx: Ctx) -> Transition:
    topic = await service.submit_topic(ctx.tx, ctx.data["meeting"], _me(ctx), str(ctx.data.get("text", "")),
                                       str(ctx.data.get("voice", "")), str(ctx.data.get("photo", "")), ctx.now,
                                       ctx.timezone)
    return _say(t("meeting.topic_received", topic=service.topic_label(topic)))


async def ask_comment(ctx: Ctx) -> Reply:
    return Reply(t("meeting.comment_ask", stars="⭐" * int(ctx.data.get("stars", 0))),
                 choices([(t("meeting.skip_comment"), SKIP_COMMENT)]))


async def on_comment(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token.startswith("mt:"):
        return await _guarded(_open(ctx, inbound.token))
    if inbound.token == SKIP_COMMENT:
        return _say(t("meeting.thanks"))
    if inbound.kind is not InboundKind.TEXT or not inbound.text.strip():
        return Retry("meeting.comment_expected")
    return await _guarded(_comment(ctx, inbound.text))


async def _comment(ctx: Ctx, text: str) -> Transition:
    await service.rate(ctx.tx, ctx.data["meeting"], _me(ctx), int(ctx.data["stars"]), text, ctx.now)
    return _say(t("meeting.thanks"))


# ------------------------------------------------------------------------------------------------ chair


async def ask_chair(ctx: Ctx) -> Reply:
    return await _error_screen(_chair_screen(ctx))


async def _chair_screen(ctx: Ctx) -> Reply:
    person, tx, now, tz = _me(ctx), ctx.tx, ctx.now, ctx.timezone
    community = int(ctx.data["community"])
    settings = await service.settings_for(tx, community, person)
    meeting = await service.focus_for_chair(tx, community, person, now)
    unit = await grid.by_id(tx, community)
    lines = [t("meeting.chair_title", community=unit.name if unit else "")]
    if settings is None or not settings.active:
        lines.append(t("meeting.chair_off"))
    rows: list[tuple[Button, ...]] = []
    if meeting is not None:
        place = await service.place_of(tx, meeting)
        lines += [t("meeting.card", when=service.when(meeting.starts_at, tz, ctx.now), place=await place()),
                  await service.counts_text(tx, meeting)]
        work = [(t("meeting.agenda_open"), f"mt:ag:{meeting.id}")]
        if meeting.starts_at - service.CHECK_IN_EARLY <= now < meeting.ends_at + service.MARKING_AFTER:
            work.append((t("meeting.attendance"), f"mt:at:{meeting.id}"))
        if now >= meeting.starts_at:
            work.append((t("meeting.enter_outcome"), f"mt:oc:{meeting.id}"))
        else:
            work.append((t("meeting.cancel_meeting"), f"mt:cx:{meeting.id}"))
        rows += choices(work)
    held = await store.latest_held(tx, community)
    if held is not None:
        count, average = await service.poll_summary(tx, held.id)
        lines.append(t("meeting.last_rating", when=service.when(held.starts_at, tz, ctx.now), count=count,
                       average=f"{average:.1f}") if count else
                     t("meeting.last_unrated", when=service.when(held.starts_at, tz, ctx.now)))
    rows += choices([(t("meeting.settings"), f"mt:set:{community}")])
    return Reply("\n".join(lines), tuple(rows))


async def ask_agenda(ctx: Ctx) -> Reply:
    return await _error_screen(_agenda_screen(ctx))


async def _agenda_screen(ctx: Ctx) -> Reply:
    meeting = await service.chair_meeting(ctx.tx, ctx.data["meeting"], _me(ctx))
    topics = await store.topics_of(ctx.tx, meeting.id)
    text = "\n".join([t("meeting.agenda_header", when=service.when(meeting.starts_at, ctx.timezone, ctx.now)),
                      await service.agenda_text(ctx.tx, meeting)])
    items = [(f"{number}. {service.topic_label(topic, 24)}", f"mt:t:{topic.id}")
             for number, topic in enumerate(topics, start=1)]
    return Reply(text, (*choices(items, per_row=1),
                        *choices([(t("meeting.back_to_chair"), f"mt:c:{meeting.community_id}")])))


async def ask_topic(ctx: Ctx) -> Reply:
    return await _error_screen(_topic_screen(ctx))


async def _topic_screen(ctx: Ctx) -> Reply:
    topic, meeting = await service.chair_topic(ctx.tx, ctx.data["topic"], _me(ctx))
    lines = [t("meeting.topic_card", who=await service.person_label(ctx.tx, topic.submitter_id),
               topic=topic.text or t("meeting.voice_topic"),
               status=t(f"meeting.topic_status.{topic.status}"))]
    if topic.status in ("answered", "reported"):
        lines.append(await service.decision_text(ctx.tx, topic))
    actions: list[tuple[str, str]] = []
    if meeting.status == "scheduled":
        if topic.status == "open":
            actions.append((t("meeting.mark_discussed"), f"mt:td:{topic.id}"))
        if topic.status in ("open", "discussed"):
            actions += [(t("meeting.answer_topic"), f"mt:ta:{topic.id}"), (t("meeting.to_report"), f"mt:tr:{topic.id}")]
    rows = (*choices(actions, per_row=1), *choices([(t("meeting.back_to_agenda"), f"mt:ag:{meeting.id}")]))
    return Reply("\n".join(lines), rows, photo=topic.photo_ref, voice=topic.voice_ref)


async def ask_answer(ctx: Ctx) -> Reply:
    topic = await store.topic(ctx.tx, ctx.data["topic"])
    return Reply(t("meeting.answer_ask", topic=service.topic_label(topic) if topic else ""))


async def on_answer(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token.startswith("mt:"):
        return await _guarded(_open(ctx, inbound.token))
    if inbound.kind is not InboundKind.TEXT or not inbound.text.strip():
        return Retry("meeting.answer_expected")
    return await _guarded(_answer(ctx, inbound.text))


async def _answer(ctx: Ctx, text: str) -> Transition:
    topic = await service.answer_topic(ctx.tx, ctx.data["topic"], _me(ctx), text, ctx.now, ctx.timezone)
    return Goto("agenda", (Reply(t("meeting.answered_note", topic=service.topic_label(topic))),))


async def ask_category(ctx: Ctx) -> Reply:
    items = [(category_name(category), f"c:{category.code}") for category in await issue_store.categories(ctx.tx)]
    return Reply(t("meeting.category_ask"), choices(items))


async def on_category(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token.startswith("mt:"):
        return await _guarded(_open(ctx, inbound.token))
    code = inbound.token.removeprefix("c:")
    offered = {category.code for category in await issue_store.categories(ctx.tx)}
    if not inbound.token.startswith("c:") or code not in offered:
        return Retry("nav.use_buttons")
    return await _guarded(_report(ctx, code))


async def _report(ctx: Ctx, code: str) -> Transition:
    issue = await service.report_topic(ctx.tx, ctx.data["topic"], _me(ctx), code, ctx.now, ctx.timezone)
    return Goto("agenda", (Reply(t("meeting.reported_note", ref=issue.ref)),))


async def ask_attendance(ctx: Ctx) -> Reply:
    return await _error_screen(_attendance_screen(ctx))


async def _attendance_screen(ctx: Ctx) -> Reply:
    meeting_id = ctx.data["meeting"]
    listed = await service.participants(ctx.tx, meeting_id, _me(ctx))
    present = sum(1 for someone in listed if someone.present)
    lines = [t("meeting.attendance_title", present=present, listed=len(listed))]
    items = []
    for someone in listed:
        mark = "✅" if someone.present else "⬜"
        answer = t(f"meeting.rsvp.{someone.answer}") if someone.answer else ""
        label = " ".join(part for part in (mark, someone.name or t("meeting.someone"), someone.room) if part)
        lines.append(f"{label} {answer}".rstrip())
        items.append((label, f"mt:am:{meeting_id}:{someone.person_id}"))
    meeting = await store.meeting(ctx.tx, meeting_id)
    back = [(t("meeting.back_to_chair"), f"mt:c:{meeting.community_id}")] if meeting else []
    return Reply("\n".join(lines), (*choices(items), *choices(back)))


async def ask_cancel(ctx: Ctx) -> Reply:
    return await _error_screen(_cancel_screen(ctx))


async def _cancel_screen(ctx: Ctx) -> Reply:
    meeting, told = await service.cancellable(ctx.tx, ctx.data["meeting"], _me(ctx), ctx.now)
    text = t("meeting.cancel_ask", when=service.when(meeting.starts_at, ctx.timezone, ctx.now), count=len(told))
    return Reply(text, choices([(t("meeting.cancel_confirm"), f"mt:cxok:{meeting.id}"),
                                (t("meeting.cancel_keep"), f"mt:c:{meeting.community_id}")], per_row=1))


async def ask_outcome(ctx: Ctx) -> Reply:
    meeting = await store.meeting(ctx.tx, ctx.data["meeting"])
    when = service.when(meeting.starts_at, ctx.timezone, ctx.now) if meeting else ""
    return Reply(t("meeting.outcome_ask", when=when))


async def on_outcome(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token.startswith("mt:"):
        return await _guarded(_open(ctx, inbound.token))
    if inbound.kind is not InboundKind.TEXT or not inbound.text.strip():
        return Retry("meeting.outcome_expected")
    return await _guarded(_outcome(ctx, inbound.text))


async def _outcome(ctx: Ctx, text: str) -> Transition:
    told = await service.enter_outcome(ctx.tx, ctx.data["meeting"], _me(ctx), text, ctx.now, ctx.timezone)
    return _say(t("meeting.outcome_sent", count=told))


# --------------------------------------------------------------------------------------------- settings


async def ask_settings(ctx: Ctx) -> Reply:
    return await _error_screen(_settings_screen(ctx))


async def _settings_screen(ctx: Ctx) -> Reply:
    community = int(ctx.data["community"])
    settings = await service.settings_for(ctx.tx, community, _me(ctx))
    back = choices([(t("meeting.back_to_chair"), f"mt:c:{community}")])
    if settings is None:
        return Reply(t("meeting.settings_none"), (*choices([(t("meeting.turn_on"), "set:on")]), *back))
    capacity = t("meeting.no_limit") if settings.capacity is None else str(settings.capacity)
    text = t("meeting.settings_card", state=t("meeting.state_on" if settings.active else "meeting.state_off"),
             weekday=t(f"meeting.weekday.{service.WEEKDAYS[settings.weekday]}"), time=settings.start_time,
             place=settings.place or t("meeting.place_unset"), capacity=capacity,
             announce=settings.announce_days_ahead, cutoff=settings.topic_cutoff_hours)
    toggle = (t("meeting.turn_off"), "set:off") if settings.active else (t("meeting.turn_on"), "set:on")
    items = [(t("meeting.set_place"), "set:place"), (t("meeting.set_capacity"), "set:cap"),
             (t("meeting.set_time"), "set:day"), (t("meeting.set_notice"), "set:notice"),
             (t("meeting.set_cutoff"), "set:cutoff"), toggle]
    return Reply(text, (*choices(items), *back))


async def on_settings(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token.startswith("mt:"):
        return await _guarded(_open(ctx, inbound.token))
    moves = {"set:place": "set_place", "set:cap": "set_capacity", "set:day": "set_day", "set:notice": "set_notice",
             "set:cutoff": "set_cutoff"}
    if inbound.token in moves:
        return Goto(moves[inbound.token])
    if inbound.token in ("set:on", "set:off"):
        return await _configure(ctx, active=inbound.token == "set:on")
    return Retry("nav.use_buttons")


async def _configure(ctx: Ctx, **changes: object) -> Transition:
    """Save a setting and show the settings again, with what happened (or why it could not be saved)."""
    try:
        key = await service.configure(ctx.tx, int(ctx.data["community"]), _me(ctx), ctx.now, ctx.timezone,
                                      **changes)
    except MeetingError as error:
        return Goto("settings", (Reply(t(error.key, **error.params)),))
    return Goto("settings", (Reply(t(key)),))


async def ask_set_place(ctx: Ctx) -> Reply:
    return Reply(t("meeting.place_ask", limit=service.MAX_PLACE),
                 choices([(t("meeting.place_at_community"), DEFAULT_PLACE)]))


async def on_set_place(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token == DEFAULT_PLACE:
        return await _configure(ctx, place="")
    text = " ".join(inbound.text.split()) if inbound.kind is InboundKind.TEXT else ""
    if not text:
        return Retry("meeting.place_expected")
    return await _configure(ctx, place=text)


async def ask_set_capacity(ctx: Ctx) -> Reply:
    return Reply(t("meeting.capacity_ask"), choices([(t("meeting.no_limit"), NO_LIMIT)]))


async def on_set_capacity(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token == NO_LIMIT:
        return await _configure(ctx, capacity=None)
    text = inbound.text.strip() if inbound.kind is InboundKind.TEXT else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= service.MAX_CAPACITY):
        return Retry("meeting.capacity_expected")
    return await _configure(ctx, capacity=int(text))


def _number_setting(field: str, ask: str, label: str, options: tuple[int, ...]) -> State:
    """A setting picked from a few numbers (days, hours) with buttons."""

    async def prompt(ctx: Ctx) -> Reply:
        return Reply(t(ask), choices([(t(label, n=n), f"n:{n}") for n in options], per_row=3))

    async def handle(ctx: Ctx, inbound: Inbound) -> Transition:
        head, _, tail = inbound.token.partition(":")
        if head != "n" or tail not in {str(n) for n in options}:
            return Retry("nav.use_buttons")
        return await _configure(ctx, **{field: int(tail)})

    return State(prompt, handle)


async def ask_set_day(ctx: Ctx) -> Reply:
    items = [(t(f"meeting.weekday.{name}"), f"wd:{number}") for number, name in enumerate(service.WEEKDAYS)]
    return Reply(t("meeting.day_ask"), choices(items, per_row=4))


async def on_set_day(ctx: Ctx, inbound: Inbound) -> Transition:
    head, _, tail = inbound.token.partition(":")
    if head != "wd" or tail not in {str(number) for number in range(7)}:
        return Retry("nav.use_buttons")
    ctx.data["weekday"] = int(tail)
    return Goto("set_time")


async def ask_set_time(ctx: Ctx) -> Reply:
    return Reply(t("meeting.time_ask", weekday=t(f"meeting.weekday.{service.WEEKDAYS[ctx.data['weekday']]}")))


async def on_set_time(ctx: Ctx, inbound: Inbound) -> Transition:
    text = inbound.text if inbound.kind is InboundKind.TEXT else ""
    clock = service.parse_time(text)
    if clock is None:
        return Retry("meeting.time_expected")
    return await _configure(ctx, weekday=int(ctx.data["weekday"]), start_time=clock.strftime("%H:%M"))


# A typed (or spoken) topic is not dropped by one press of cancel: it asks first.
ON_CANCEL, ASK_ABANDON = confirm_abandon(lambda ctx, state: state == "topic_photo", "meeting.topic_abandon_ask",
                                         "meeting.topic_abandoned")

FLOW = Flow(
    name="meeting",
    first="home",
    begin=begin,
    claims=("mt:",),
    on_cancel=ON_CANCEL,
    states={
        ABANDON: ASK_ABANDON,
        "home": State(ask_home, on_pick, back=False),
        "topic_text": State(ask_topic_text, on_topic_text),
        "topic_photo": State(ask_topic_photo, on_topic_photo),
        "comment": State(ask_comment, on_comment, back=False),
        "chair": State(ask_chair, on_pick),
        "agenda": State(ask_agenda, on_pick),
        "topic": State(ask_topic, on_pick),
        "answer": State(ask_answer, on_answer),
        "category": State(ask_category, on_category),
        "attendance": State(ask_attendance, on_pick),
        "cancel": State(ask_cancel, on_pick),
        "outcome": State(ask_outcome, on_outcome),
        "settings": State(ask_settings, on_settings),
        "set_place": State(ask_set_place, on_set_place),
        "set_capacity": State(ask_set_capacity, on_set_capacity),
        "set_day": State(ask_set_day, on_set_day),
        "set_time": State(ask_set_time, on_set_time),
        "set_notice": _number_setting("announce_days_ahead", "meeting.notice_ask", "meeting.n_days",
                                      service.ANNOUNCE_DAYS),
        "set_cutoff": _number_setting("topic_cutoff_hours", "meeting.cutoff_ask", "meeting.n_hours",
                                      service.CUTOFF_HOURS),
    },
)
