"""我的党员名片: a party member sees their card as their households read it, and the households it is shown to; they
change the name they are known by and write a short promise. Every step re-checks that they are a party member.
Diagram: card.mmd."""

from __future__ import annotations

from bot.conversations.flow import Ctx, Done, Flow, Goto, NoData, Retry, State, Transition, choices
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.features.contacts import notices, service
from bot.features.contacts.tokens import EDIT_NAME, EDIT_PROMISE
from bot.i18n import t

Member = Ctx[NoData]


async def begin(ctx: Member) -> Transition:
    if not service.is_member(ctx.person):
        return Done((Reply(t("auth.denied")),))
    return Goto("card")


async def ask_card(ctx: Member) -> Reply:
    card, households = await service.my_card(ctx.tx, ctx.person)
    text = "\n\n".join([t("contact.my_card"), await notices.card(ctx.tx, card),
                        await notices.households(ctx.tx, households)])
    return Reply(text, choices([(t("contact.edit_name"), EDIT_NAME), (t("contact.edit_promise"), EDIT_PROMISE)]))


async def on_card(ctx: Member, inbound: Inbound) -> Transition:
    if inbound.token == EDIT_NAME:
        return Goto("name")
    if inbound.token == EDIT_PROMISE:
        return Goto("promise")
    return Retry("nav.use_buttons")


async def ask_name(ctx: Member) -> Reply:
    return Reply(t("contact.ask_name", limit=service.NAME_MAX))


async def on_name(ctx: Member, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT:
        return Retry("contact.expect_text")
    await service.set_name(ctx.tx, ctx.person, inbound.text, ctx.now)
    return Goto("card", (Reply(t("contact.saved")),))


async def ask_promise(ctx: Member) -> Reply:
    return Reply(t("contact.ask_promise", limit=service.PROMISE_MAX))


async def on_promise(ctx: Member, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT:
        return Retry("contact.expect_text")
    await service.set_promise(ctx.tx, ctx.person, inbound.text, ctx.now)
    return Goto("card", (Reply(t("contact.saved")),))


FLOW = Flow(
    name="member_card",
    first="card",
    data=NoData,
    begin=begin,
    states={
        "card": State(ask_card, on_card, back=False),
        "name": State(ask_name, on_name),
        "promise": State(ask_promise, on_promise),
    },
)
