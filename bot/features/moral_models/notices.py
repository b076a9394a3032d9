"""The wording of 道德模范评选: the pushes (consent, phases, objections, bursts, 表彰), their buttons, and how a
campaign and a nomination read. Services decide; these render, in the current locale."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.conversations.tokens import Ref
from bot.domain.messages import Button, Reply
from bot.domain.people import Person
from bot.features.moral_models.model import Campaign, Category, Nomination, Phase, Status
from bot.features.moral_models.tokens import (
    BALLOT,
    CONSENT,
    EXAMINE,
    NOMINATE,
    PUBLIC,
    RESULTS,
    REVIEW,
    Consent,
)
from bot.i18n import t
from bot.services.dates import local_time
from bot.services.people import place_label
from bot.storage.db import Tx

Buttons = tuple[tuple[Button, ...], ...]


def category(value: Category) -> str:
    return {Category.IN_LAWS: t("moral.cat.in_laws"), Category.HOUSEKEEPER: t("moral.cat.housekeeper"),
            Category.FAMILY: t("moral.cat.family"), Category.NEIGHBOUR: t("moral.cat.neighbour"),
            Category.VOLUNTEER: t("moral.cat.volunteer")}[value]


def phase(value: Phase) -> str:
    return {Phase.NOMINATING: t("moral.phase.nominating"), Phase.REVIEWING: t("moral.phase.reviewing"),
            Phase.PUBLICIZING: t("moral.phase.publicizing"), Phase.VOTING: t("moral.phase.voting"),
            Phase.CLOSED: t("moral.phase.closed"), Phase.HONOURED: t("moral.phase.honoured")}[value]


def status(value: Status) -> str:
    return {Status.AWAITING_CONSENT: t("moral.status.awaiting_consent"), Status.DECLINED: t("moral.status.declined"),
            Status.CONSENTED: t("moral.status.consented"), Status.APPROVED: t("moral.status.approved"),
            Status.REJECTED: t("moral.status.rejected"), Status.WITHDRAWN: t("moral.status.withdrawn"),
            Status.REMOVED: t("moral.status.removed")}[value]


def day(moment: datetime, timezone: str, now: datetime) -> str:
    return local_time(moment, timezone, now, weekday=True)


async def card(tx: Tx, campaign: Campaign, timezone: str, now: datetime) -> str:
    """The campaign: its scope, where it stands and its dates."""
    return t("moral.card", title=campaign.title, scope=await place_label(tx, campaign.unit_id),
             phase=phase(campaign.phase), nominate=day(campaign.nominate_until, timezone, now),
             review=day(campaign.review_until, timezone, now), publicize=day(campaign.publicize_until, timezone, now),
             vote=day(campaign.vote_until, timezone, now))


def story(nomination: Nomination, name: str) -> str:
    """A nomination as people read it: category, nominee, story."""
    return t("moral.story", category=category(nomination.category), name=name, story=nomination.story)


def consent_buttons(nomination: Nomination) -> Buttons:
    """同意 / 不同意 while unanswered; once consented, the way to take it back."""
    if nomination.status is Status.AWAITING_CONSENT:
        return ((Button(t("moral.consent_yes"), CONSENT.make(Consent(nomination.id, True))),
                 Button(t("moral.consent_no"), CONSENT.make(Consent(nomination.id, False)))),)
    if nomination.status in (Status.CONSENTED, Status.APPROVED):
        return ((Button(t("moral.consent_withdraw"), CONSENT.make(Consent(nomination.id, False))),),)
    return ()


def consent_request(campaign: Campaign, nomination: Nomination, nominator: Person, timezone: str,
                    now: datetime) -> Reply:
    """To the nominee: who nominated them and with what story; nothing is shown to anyone before they agree."""
    text = t("moral.consent_ask", title=campaign.title, nominator=nominator.display_name,
             category=category(nomination.category), story=nomination.story,
             until=day(campaign.nominate_until, timezone, now))
    return Reply(text, consent_buttons(nomination), photo=nomination.photo_ref)


def answered(kind: str, name: str) -> Reply:
    """To the nominator: the nominee agreed, declined, or took their consent back."""
    return Reply({"consented": t("moral.told.consented", name=name), "declined": t("moral.told.declined", name=name),
                  "withdrawn": t("moral.told.withdrawn", name=name)}[kind])


def objection(campaign: Campaign, nomination: Nomination, name: str, text: str) -> Reply:
    return Reply(t("moral.objection_push", title=campaign.title, name=name, category=category(nomination.category),
                   text=text), _examine(nomination))


def burst(campaign: Campaign, nomination: Nomination, name: str, votes: int) -> Reply:
    return Reply(t("moral.burst_push", title=campaign.title, name=name, category=category(nomination.category),
                   votes=votes), _examine(nomination))


def _examine(nomination: Nomination) -> Buttons:
    return ((Button(t("moral.examine"), EXAMINE.make(Ref(nomination.id))),),)


async def phase_push(tx: Tx, campaign: Campaign, what: str, timezone: str, now: datetime) -> Reply:
    """To residents in scope: nominations open, 公示, the vote opens, the vote closes tomorrow."""
    scope = await place_label(tx, campaign.unit_id)
    ref = Ref(campaign.id)
    if what == "announce":
        text = t("moral.push.announce", title=campaign.title, scope=scope,
                 until=day(campaign.nominate_until, timezone, now))
        return Reply(text, ((Button(t("moral.nominate"), NOMINATE.make(ref)),),))
    if what == "publicize":
        text = t("moral.push.publicize", title=campaign.title, until=day(campaign.publicize_until, timezone, now))
        return Reply(text, ((Button(t("moral.public"), PUBLIC.make(ref)),),))
    key = "moral.push.vote" if what == "vote" else "moral.push.remind"
    text = t(key, title=campaign.title, until=day(campaign.vote_until, timezone, now))
    return Reply(text, ((Button(t("moral.vote"), BALLOT.make(ref)),),))


async def review_due(campaign: Campaign, waiting: int) -> Reply:
    return Reply(t("moral.push.review", title=campaign.title, count=waiting),
                 ((Button(t("moral.review"), REVIEW.make(Ref(campaign.id))),),))


async def closed(campaign: Campaign) -> Reply:
    return Reply(t("moral.push.closed", title=campaign.title),
                 ((Button(t("moral.results"), RESULTS.make(Ref(campaign.id))),),))


def results(nominations: Sequence[Nomination], names: dict[int, str], tally: dict[int, int]) -> str:
    """The counts per category, most votes first; ⭐ marks the 表彰 list."""
    lines = []
    for value in Category:
        listed = sorted((item for item in nominations if item.category is value),
                        key=lambda item: (-tally.get(item.id, 0), item.id))
        if listed:
            lines.append(t("moral.results_category", category=category(value)))
            lines += [t("moral.results_line", mark="⭐" if item.honoured else "·", name=names[item.id],
                        votes=tally.get(item.id, 0)) for item in listed]
    return "\n".join(lines) or t("moral.none_approved")


def honours(campaign: Campaign, honoured: Sequence[Nomination], names: dict[int, str],
            tally: dict[int, int]) -> Reply:
    """The 表彰 broadcast."""
    return Reply(f"{t('moral.push.honours', title=campaign.title)}\n{results(honoured, names, tally)}")
