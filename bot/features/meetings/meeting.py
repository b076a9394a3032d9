"""Saturday meetings (周六说事、居民议事) in the chat.

Residents see their community's meeting ahead, answer (yes / maybe / no, changeable), submit a topic (words or a
voice note, then optionally a photo) until the cut-off, check in during the meeting, rate it afterwards and mute or
unmute the announcements. The community's secretary chairs: live counts, the agenda, each topic marked discussed,
answered (pushed to its submitter) or turned into a report, attendance, the outcomes, calling off one meeting
before it begins (after a confirmation; everyone who heard of it is told), and the settings (on / off, place,
capacity, day and time).

Pushed buttons (`mt:<action>:<id>[:<arg>]`, bot/features/meetings/tokens.py) start this flow from anywhere, and the
screens use the same tokens, so an old message's button still works. Tokens are parsed strictly; the services
re-check every right at every step, and a refusal changes nothing (the engine says it and ends the flow).
Diagram: meeting.mmd.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.flow import (
    ABANDON,
    Ctx,
    Flow,
    Goto,
    Retry,
    State,
    Transition,
    choices,
    confirm_abandon,
    photo_or_skip,
    say,
)
from bot.domain.messages import Button, Inbound, InboundKind, Reply
from bot.domain.people import Person
from bot.features.meetings import notices, service, store
from bot.features.meetings.model import ACTIONABLE, Meeting, MeetingStatus, TopicStatus
from bot.features.meetings.service import MeetingError
from bot.features.meetings.tokens import (
    DEFAULT_PLACE,
    MARK,
    NO_LIMIT,
    NUMBER,
    PRESS,
    RATE,
    RSVP,
    SET_CAPACITY,
    SET_CUTOFF,
    SET_DAY,
    SET_NOTICE,
    SET_PLACE,
    SKIP_COMMENT,
    SKIP_PHOTO,
    TURN_OFF,
    TURN_ON,
    WEEKDAY,
    Action,
    Mark,
    Number,
    Press,
    Weekday,
    press,
)
from bot.features.reports import store as issue_store
from bot.features.reports.notices import category_name
from bot.features.reports.tokens import CATEGORY, CategoryPick
from bot.i18n import t
from bot.storage import grid


@dataclass(slots=True)
class MeetingData:
    """What the flow keeps: the community, meeting and topic it is about (0 while none), the topic being written,
    the stars just given, and the weekday picked before the time is asked."""

    community: int = 0
    meeting: int = 0
    topic: int = 0
    text: str = ""
    voice: str = ""
    photo: str = ""
    stars: int = 0
    weekday: int = 0


Meet = Ctx[MeetingData]


def _me(ctx: Meet) -> Person:
    if ctx.person is None:
        raise MeetingError("auth.denied")
    return ctx.person


async def begin(ctx: Meet) -> Transition:
    token = ctx.entry.token
    return await (_open(ctx, token) if token else _first(ctx))


async def _first(ctx: Meet) -> Transition:
    """Residents start at their community's meeting; a chair who lives elsewhere goes straight to chairing."""
    person = _me(ctx)
    chaired = await service.chaired_by(ctx.tx, person)
    if await service.community_of(ctx.tx, person) is None and len(chaired) == 1:
        ctx.data.community = chaired[0]
        return Goto("chair")
    return Goto("home")


async def _open(ctx: Meet, token: str) -> Transition:
    """Act on a meeting token (pressed anywhere, or typed as a button's number)."""
    rsvp, rating, mark, pressed = RSVP.parse(token), RATE.parse(token), MARK.parse(token), PRESS.parse(token)
    if rsvp is None and rating is None and mark is None and pressed is None:
        return say(t("auth.denied"))
    person, tx, now, tz = _me(ctx), ctx.tx, ctx.now, ctx.timezone
    if rsvp is not None:
        answer = await service.rsvp(tx, rsvp.meeting, person, rsvp.choice.answer, now, tz)
        note = t(f"meeting.answered.{answer}", position=await service.waitlist_position(tx, rsvp.meeting, person.id))
        return _home_or_back(ctx, note)
    if rating is not None:
        await service.rate(tx, rating.meeting, person, rating.stars, "", now)
        ctx.data.meeting, ctx.data.stars = rating.meeting, rating.stars
        return Goto("comment")
    if mark is not None:
        return await _mark(ctx, person, mark)
    assert pressed is not None
    ident = pressed.id
    match pressed.action:
        case Action.ADD_TOPIC:
            await service.topics_open(tx, ident, person, now, tz)
            ctx.data.text = ctx.data.voice = ctx.data.photo = ""
            ctx.data.meeting = ident
            return Goto("topic_text")
        case Action.CHECK_IN:
            fresh = await service.check_in(tx, ident, person, now, tz)
            return say(t("meeting.checked_in" if fresh else "meeting.already_in"))
        case Action.MUTE | Action.UNMUTE:
            muted = pressed.action is Action.MUTE
            await service.set_muted(tx, ident, person, muted, now)
            return _home_or_back(ctx, t("meeting.muted" if muted else "meeting.unmuted"))
    return await _chair_action(ctx, person, pressed)


async def _mark(ctx: Meet, person: Person, mark: Mark) -> Transition:
    present = await service.mark_attendance(ctx.tx, mark.meeting, mark.person, person, ctx.now, ctx.timezone)
    meeting = await service.chair_meeting(ctx.tx, mark.meeting, person)
    ctx.data.meeting, ctx.data.community = meeting.id, meeting.community_id
    who = await notices.person_label(ctx.tx, mark.person)
    return Goto("attendance", (Reply(t("meeting.marked_in" if present else "meeting.marked_out", who=who)),))


async def _chair_action(ctx: Meet, person: Person, pressed: Press) -> Transition:
    tx, now, ident = ctx.tx, ctx.now, pressed.id
    match pressed.action:
        case Action.CHAIR | Action.SETTINGS:
            await service.settings_for(tx, ident, person)  # only the community's chair gets further
            ctx.data.community = ident
            return Goto("chair" if pressed.action is Action.CHAIR else "settings")
        case Action.AGENDA | Action.ATTENDANCE | Action.OUTCOME:
            meeting = await (service.outcome_meeting(tx, ident, person, now) if pressed.action is Action.OUTCOME
                             else service.chair_meeting(tx, ident, person))
            ctx.data.meeting, ctx.data.community = meeting.id, meeting.community_id
            return Goto({Action.AGENDA: "agenda", Action.ATTENDANCE: "attendance"}.get(pressed.action, "outcome"))
        case Action.CANCEL:
            meeting, _ = await service.cancellable(tx, ident, person, now)
            ctx.data.meeting, ctx.data.community = meeting.id, meeting.community_id
            return Goto("cancel")
        case Action.CANCEL_OK:
            meeting, told = await service.cancel(tx, ident, person, now, ctx.timezone)
            ctx.data.community = meeting.community_id
            note = t("meeting.cancelled_note", when=notices.when(meeting.starts_at, ctx.timezone, now), count=told)
            return Goto("chair", (Reply(note),))
        case Action.DISCUSSED:
            topic = await service.mark_discussed(tx, ident, person, now)
            ctx.data.meeting = topic.meeting_id
            return Goto("agenda", (Reply(t("meeting.discussed_note", topic=notices.topic_label(topic))),))
    acting = pressed.action in (Action.ANSWER, Action.REPORT)
    topic, meeting = await (service.actionable_topic(tx, ident, person) if acting
                            else service.chair_topic(tx, ident, person))
    ctx.data.topic, ctx.data.meeting, ctx.data.community = topic.id, meeting.id, meeting.community_id
    return Goto({Action.ANSWER: "answer", Action.REPORT: "category"}.get(pressed.action, "topic"))


def _home_or_back(ctx: Meet, note: str) -> Transition:
    """After a quick answer: the meeting's screen, or straight back to what a pushed button interrupted."""
    return say(note) if ctx.resuming else Goto("home", (Reply(note),))


async def on_pick(ctx: Meet, inbound: Inbound) -> Transition:
    """Screens whose buttons are all meeting tokens (typed numbers land here; pressed ones restart at begin)."""
    if not inbound.token.startswith(PRESS.head):
        return Retry("nav.use_buttons")
    return await _open(ctx, inbound.token)


# --------------------------------------------------------------------------------------------- residents


async def ask_home(ctx: Meet) -> Reply:
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
                            press(Action.UNMUTE if muted else Action.MUTE, community)),))
    for chaired in await service.chaired_by(ctx.tx, person):
        unit = await grid.by_id(ctx.tx, chaired)
        rows.append((Button(t("meeting.chair_of", community=unit.name if unit else ""), press(Action.CHAIR, chaired)),))
    return Reply("\n".join(lines), tuple(rows))


async def _resident_card(ctx: Meet, meeting: Meeting, person: Person) -> tuple[str, list[tuple[Button, ...]]]:
    tx, now, tz = ctx.tx, ctx.now, ctx.timezone
    place = await notices.place_of(tx, meeting)
    lines = [t("meeting.card", when=notices.when(meeting.starts_at, tz, ctx.now), place=await place())]
    if meeting.capacity is not None:
        counts = await store.answer_counts(tx, meeting.id)
        lines.append(t("meeting.seats", taken=counts.yes, capacity=meeting.capacity))
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
        rows.append(notices.rsvp_row(meeting.id))
    if now < meeting.topics_until:
        lines.append(t("meeting.topics_until", until=notices.when(meeting.topics_until, tz, ctx.now)))
        rows.append((Button(t("meeting.add_topic"), press(Action.ADD_TOPIC, meeting.id)),))
    if meeting.starts_at - service.CHECK_IN_EARLY <= now < meeting.ends_at and not present:
        rows.append((Button(t("meeting.check_in"), press(Action.CHECK_IN, meeting.id)),))
    return "\n".join(lines), rows


async def ask_topic_text(ctx: Meet) -> Reply:
    return Reply(t("meeting.topic_ask", limit=service.MAX_TOPIC))


async def on_topic_text(ctx: Meet, inbound: Inbound) -> Transition:
    if inbound.token.startswith(PRESS.head):
        return await _open(ctx, inbound.token)
    if inbound.kind is InboundKind.VOICE and inbound.media_ref:
        ctx.data.voice, ctx.data.text = inbound.media_ref, ""
    elif inbound.kind is InboundKind.TEXT and inbound.text.strip():
        if len(inbound.text.strip()) > service.MAX_TOPIC:
            return Retry("meeting.topic_too_long")
        ctx.data.text, ctx.data.voice = inbound.text.strip(), ""
    else:
        return Retry("meeting.topic_expected")
    return Goto("topic_photo")


async def ask_topic_photo(ctx: Meet) -> Reply:
    return Reply(t("meeting.topic_photo_ask"), choices([(t("meeting.skip_photo"), SKIP_PHOTO)]))


async def on_topic_photo(ctx: Meet, inbound: Inbound) -> Transition:
    photo = photo_or_skip(inbound, SKIP_PHOTO)
    if photo is None:
        return Retry("meeting.photo_expected")
    data = ctx.data
    data.photo = photo
    topic = await service.submit_topic(ctx.tx, data.meeting, _me(ctx), data.text, data.voice, data.photo, ctx.now,
                                       ctx.timezone)
    return say(t("meeting.topic_received", topic=notices.topic_label(topic)))


async def ask_comment(ctx: Meet) -> Reply:
    return Reply(t("meeting.comment_ask", stars="⭐" * ctx.data.stars),
                 choices([(t("meeting.skip_comment"), SKIP_COMMENT)]))


async def on_comment(ctx: Meet, inbound: Inbound) -> Transition:
    if inbound.token.startswith(PRESS.head):
        return await _open(ctx, inbound.token)
    if inbound.token == SKIP_COMMENT:
        return say(t("meeting.thanks"))
    if inbound.kind is not InboundKind.TEXT or not inbound.text.strip():
        return Retry("meeting.comment_expected")
    await service.rate(ctx.tx, ctx.data.meeting, _me(ctx), ctx.data.stars, inbound.text, ctx.now)
    return say(t("meeting.thanks"))


# ------------------------------------------------------------------------------------------------ chair


async def ask_chair(ctx: Meet) -> Reply:
    person, tx, now, tz = _me(ctx), ctx.tx, ctx.now, ctx.timezone
    community = ctx.data.community
    settings = await service.settings_for(tx, community, person)
    meeting = await service.focus_for_chair(tx, community, person, now)
    unit = await grid.by_id(tx, community)
    lines = [t("meeting.chair_title", community=unit.name if unit else "")]
    if settings is None or not settings.active:
        lines.append(t("meeting.chair_off"))
    rows: list[tuple[Button, ...]] = []
    if meeting is not None:
        place = await notices.place_of(tx, meeting)
        lines += [t("meeting.card", when=notices.when(meeting.starts_at, tz, ctx.now), place=await place()),
                  await notices.counts_text(tx, meeting)]
        work = [(t("meeting.agenda_open"), press(Action.AGENDA, meeting.id))]
        if meeting.starts_at - service.CHECK_IN_EARLY <= now < meeting.ends_at + service.MARKING_AFTER:
            work.append((t("meeting.attendance"), press(Action.ATTENDANCE, meeting.id)))
        if now >= meeting.starts_at:
            work.append((t("meeting.enter_outcome"), press(Action.OUTCOME, meeting.id)))
        else:
            work.append((t("meeting.cancel_meeting"), press(Action.CANCEL, meeting.id)))
        rows += choices(work)
    held = await store.latest_held(tx, community)
    if held is not None:
        summary = await service.poll_summary(tx, held.id)
        lines.append(t("meeting.last_rating", when=notices.when(held.starts_at, tz, ctx.now), count=summary.count,
                       average=f"{summary.average:.1f}") if summary.count else
                     t("meeting.last_unrated", when=notices.when(held.starts_at, tz, ctx.now)))
    rows += choices([(t("meeting.settings"), press(Action.SETTINGS, community))])
    return Reply("\n".join(lines), tuple(rows))


async def ask_agenda(ctx: Meet) -> Reply:
    meeting = await service.chair_meeting(ctx.tx, ctx.data.meeting, _me(ctx))
    topics = await store.topics_of(ctx.tx, meeting.id)
    text = "\n".join([t("meeting.agenda_header", when=notices.when(meeting.starts_at, ctx.timezone, ctx.now)),
                      await notices.agenda_text(ctx.tx, meeting)])
    items = [(f"{number}. {notices.topic_label(topic, 24)}", press(Action.TOPIC, topic.id))
             for number, topic in enumerate(topics, start=1)]
    return Reply(text, (*choices(items, per_row=1),
                        *choices([(t("meeting.back_to_chair"), press(Action.CHAIR, meeting.community_id))])))


async def ask_topic(ctx: Meet) -> Reply:
    topic, meeting = await service.chair_topic(ctx.tx, ctx.data.topic, _me(ctx))
    lines = [t("meeting.topic_card", who=await notices.person_label(ctx.tx, topic.submitter_id),
               topic=topic.text or t("meeting.voice_topic"),
               status=notices.topic_status(topic.status))]
    if topic.status in (TopicStatus.ANSWERED, TopicStatus.REPORTED):
        lines.append(await notices.decision_text(ctx.tx, topic))
    actions: list[tuple[str, str]] = []
    if meeting.status is MeetingStatus.SCHEDULED:
        if topic.status is TopicStatus.OPEN:
            actions.append((t("meeting.mark_discussed"), press(Action.DISCUSSED, topic.id)))
        if topic.status in ACTIONABLE:
            actions += [(t("meeting.answer_topic"), press(Action.ANSWER, topic.id)),
                        (t("meeting.to_report"), press(Action.REPORT, topic.id))]
    rows = (*choices(actions, per_row=1), *choices([(t("meeting.back_to_agenda"), press(Action.AGENDA, meeting.id))]))
    return Reply("\n".join(lines), rows, photo=topic.photo_ref, voice=topic.voice_ref)


async def ask_answer(ctx: Meet) -> Reply:
    topic = await store.topic(ctx.tx, ctx.data.topic)
    return Reply(t("meeting.answer_ask", topic=notices.topic_label(topic) if topic else ""))


async def on_answer(ctx: Meet, inbound: Inbound) -> Transition:
    if inbound.token.startswith(PRESS.head):
        return await _open(ctx, inbound.token)
    if inbound.kind is not InboundKind.TEXT or not inbound.text.strip():
        return Retry("meeting.answer_expected")
    topic = await service.answer_topic(ctx.tx, ctx.data.topic, _me(ctx), inbound.text, ctx.now, ctx.timezone)
    return Goto("agenda", (Reply(t("meeting.answered_note", topic=notices.topic_label(topic))),))


async def ask_category(ctx: Meet) -> Reply:
    items = [(category_name(category), CATEGORY.make(CategoryPick(category.code)))
             for category in await issue_store.categories(ctx.tx)]
    return Reply(t("meeting.category_ask"), choices(items))


async def on_category(ctx: Meet, inbound: Inbound) -> Transition:
    if inbound.token.startswith(PRESS.head):
        return await _open(ctx, inbound.token)
    picked = CATEGORY.parse(inbound.token)  # reports' category token, checked against the categories offered
    offered = {category.code for category in await issue_store.categories(ctx.tx)}
    if picked is None or picked.code not in offered:
        return Retry("nav.use_buttons")
    issue = await service.report_topic(ctx.tx, ctx.data.topic, _me(ctx), picked.code, ctx.now, ctx.timezone)
    return Goto("agenda", (Reply(t("meeting.reported_note", ref=issue.ref)),))


async def ask_attendance(ctx: Meet) -> Reply:
    meeting_id = ctx.data.meeting
    listed = await service.participants(ctx.tx, meeting_id, _me(ctx))
    present = sum(1 for someone in listed if someone.present)
    lines = [t("meeting.attendance_title", present=present, listed=len(listed))]
    items = []
    for someone in listed:
        mark = "✅" if someone.present else "⬜"
        answer = t(f"meeting.rsvp.{someone.answer}") if someone.answer else ""
        label = " ".join(part for part in (mark, someone.name or t("meeting.someone"), someone.room) if part)
        lines.append(f"{label} {answer}".rstrip())
        items.append((label, MARK.make(Mark(meeting_id, someone.person_id))))
    meeting = await store.meeting(ctx.tx, meeting_id)
    back = [(t("meeting.back_to_chair"), press(Action.CHAIR, meeting.community_id))] if meeting else []
    return Reply("\n".join(lines), (*choices(items), *choices(back)))


async def ask_cancel(ctx: Meet) -> Reply:
    meeting, told = await service.cancellable(ctx.tx, ctx.data.meeting, _me(ctx), ctx.now)
    text = t("meeting.cancel_ask", when=notices.when(meeting.starts_at, ctx.timezone, ctx.now), count=len(told))
    return Reply(text, choices([(t("meeting.cancel_confirm"), press(Action.CANCEL_OK, meeting.id)),
                                (t("meeting.cancel_keep"), press(Action.CHAIR, meeting.community_id))], per_row=1))


async def ask_outcome(ctx: Meet) -> Reply:
    meeting = await store.meeting(ctx.tx, ctx.data.meeting)
    when = notices.when(meeting.starts_at, ctx.timezone, ctx.now) if meeting else ""
    return Reply(t("meeting.outcome_ask", when=when))


async def on_outcome(ctx: Meet, inbound: Inbound) -> Transition:
    if inbound.token.startswith(PRESS.head):
        return await _open(ctx, inbound.token)
    if inbound.kind is not InboundKind.TEXT or not inbound.text.strip():
        return Retry("meeting.outcome_expected")
    told = await service.enter_outcome(ctx.tx, ctx.data.meeting, _me(ctx), inbound.text, ctx.now, ctx.timezone)
    return say(t("meeting.outcome_sent", count=told))


# --------------------------------------------------------------------------------------------- settings


async def ask_settings(ctx: Meet) -> Reply:
    community = ctx.data.community
    settings = await service.settings_for(ctx.tx, community, _me(ctx))
    back = choices([(t("meeting.back_to_chair"), press(Action.CHAIR, community))])
    if settings is None:
        return Reply(t("meeting.settings_none"), (*choices([(t("meeting.turn_on"), TURN_ON)]), *back))
    capacity = t("meeting.no_limit") if settings.capacity is None else str(settings.capacity)
    text = t("meeting.settings_card", state=t("meeting.state_on" if settings.active else "meeting.state_off"),
             weekday=t(f"meeting.weekday.{service.WEEKDAYS[settings.weekday]}"), time=settings.start_time,
             place=settings.place or t("meeting.place_unset"), capacity=capacity,
             announce=settings.announce_days_ahead, cutoff=settings.topic_cutoff_hours)
    toggle = (t("meeting.turn_off"), TURN_OFF) if settings.active else (t("meeting.turn_on"), TURN_ON)
    items = [(t("meeting.set_place"), SET_PLACE), (t("meeting.set_capacity"), SET_CAPACITY),
             (t("meeting.set_time"), SET_DAY), (t("meeting.set_notice"), SET_NOTICE),
             (t("meeting.set_cutoff"), SET_CUTOFF), toggle]
    return Reply(text, (*choices(items), *back))


async def on_settings(ctx: Meet, inbound: Inbound) -> Transition:
    if inbound.token.startswith(PRESS.head):
        return await _open(ctx, inbound.token)
    moves = {SET_PLACE: "set_place", SET_CAPACITY: "set_capacity", SET_DAY: "set_day", SET_NOTICE: "set_notice",
             SET_CUTOFF: "set_cutoff"}
    if inbound.token in moves:
        return Goto(moves[inbound.token])
    if inbound.token in (TURN_ON, TURN_OFF):
        return await _configure(ctx, active=inbound.token == TURN_ON)
    return Retry("nav.use_buttons")


async def _configure(ctx: Meet, **changes: object) -> Transition:
    """Save a setting and show the settings again, with what happened (or why it could not be saved: caught here,
    as the settings screen is shown, not the question asked again nor the flow ended)."""
    try:
        async with ctx.tx.savepoint():
            result = await service.configure(ctx.tx, ctx.data.community, _me(ctx), ctx.now, ctx.timezone,
                                             **changes)
    except MeetingError as error:
        return Goto("settings", (Reply(t(error.key, **error.params)),))
    return Goto("settings", (notices.settings_note(result),))


async def ask_set_place(ctx: Meet) -> Reply:
    return Reply(t("meeting.place_ask", limit=service.MAX_PLACE),
                 choices([(t("meeting.place_at_community"), DEFAULT_PLACE)]))


async def on_set_place(ctx: Meet, inbound: Inbound) -> Transition:
    if inbound.token == DEFAULT_PLACE:
        return await _configure(ctx, place="")
    text = " ".join(inbound.text.split()) if inbound.kind is InboundKind.TEXT else ""
    if not text:
        return Retry("meeting.place_expected")
    return await _configure(ctx, place=text)


async def ask_set_capacity(ctx: Meet) -> Reply:
    return Reply(t("meeting.capacity_ask"), choices([(t("meeting.no_limit"), NO_LIMIT)]))


async def on_set_capacity(ctx: Meet, inbound: Inbound) -> Transition:
    if inbound.token == NO_LIMIT:
        return await _configure(ctx, capacity=None)
    text = inbound.text.strip() if inbound.kind is InboundKind.TEXT else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= service.MAX_CAPACITY):
        return Retry("meeting.capacity_expected")
    return await _configure(ctx, capacity=int(text))


def _number_setting(field: str, ask: str, label: str, options: tuple[int, ...]) -> State[MeetingData]:
    """A setting picked from a few numbers (days, hours) with buttons."""

    async def prompt(ctx: Meet) -> Reply:
        return Reply(t(ask), choices([(t(label, n=n), NUMBER.make(Number(n))) for n in options],
                                     per_row=3))

    async def handle(ctx: Meet, inbound: Inbound) -> Transition:
        picked = NUMBER.parse(inbound.token)
        if picked is None or picked.n not in options:
            return Retry("nav.use_buttons")
        return await _configure(ctx, **{field: picked.n})

    return State(prompt, handle)


async def ask_set_day(ctx: Meet) -> Reply:
    items = [(t(f"meeting.weekday.{name}"), WEEKDAY.make(Weekday(number)))
             for number, name in enumerate(service.WEEKDAYS)]
    return Reply(t("meeting.day_ask"), choices(items, per_row=4))


async def on_set_day(ctx: Meet, inbound: Inbound) -> Transition:
    picked = WEEKDAY.parse(inbound.token)
    if picked is None:
        return Retry("nav.use_buttons")
    ctx.data.weekday = picked.day
    return Goto("set_time")


async def ask_set_time(ctx: Meet) -> Reply:
    return Reply(t("meeting.time_ask", weekday=t(f"meeting.weekday.{service.WEEKDAYS[ctx.data.weekday]}")))


async def on_set_time(ctx: Meet, inbound: Inbound) -> Transition:
    text = inbound.text if inbound.kind is InboundKind.TEXT else ""
    clock = service.parse_time(text)
    if clock is None:
        return Retry("meeting.time_expected")
    return await _configure(ctx, weekday=ctx.data.weekday, start_time=clock.strftime("%H:%M"))


# A typed (or spoken) topic is not dropped by one press of cancel: it asks first.
def _has_draft(ctx: Meet, state: str) -> bool:
    return state == "topic_photo"


ON_CANCEL, ASK_ABANDON = confirm_abandon(_has_draft, "meeting.topic_abandon_ask", "meeting.topic_abandoned")

FLOW = Flow(
    name="meeting",
    first="home",
    data=MeetingData,
    begin=begin,
    claims=(PRESS.head,),
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
