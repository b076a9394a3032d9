"""我的党员联系人: a resident sees the card of the party member who looks after their home and leaves them a message
(words or a voice note), relayed as a push with a ↩️ 回复 button; either side's reply button (`ct:re:<id>`) starts
this flow from wherever they are, and the answer goes back the same way. Neither side sees the other's phone or
channel ids. The services re-check at every step that the two are still the household and its contact.
Diagram: contact.mmd."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.flow import Ctx, Done, Flow, Goto, Retry, State, Transition, choices
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.features.contacts import notices, service
from bot.features.contacts.tokens import REPLY, WRITE
from bot.i18n import t


@dataclass(slots=True)
class ContactData:
    reply_to: int | None = None  # the message being answered (None: a new message to the home's contact)


Talk = Ctx[ContactData]


async def begin(ctx: Talk) -> Transition:
    if ctx.entry.token:
        pressed = REPLY.parse(ctx.entry.token)
        if pressed is None:
            return Done((Reply(t("auth.denied")),))
        ctx.data.reply_to = (await service.reply_target(ctx.tx, ctx.person, pressed.id)).id
        return Goto("write")
    await service.my_contact(ctx.tx, ctx.person)
    return Goto("card")


async def ask_card(ctx: Talk) -> Reply:
    card = await service.my_contact(ctx.tx, ctx.person)
    text = f"{t('contact.yours')}\n\n{await notices.card(ctx.tx, card)}"
    return Reply(text, choices([(t("contact.write"), WRITE)]))


async def on_card(ctx: Talk, inbound: Inbound) -> Transition:
    if inbound.token != WRITE:
        return Retry("nav.use_buttons")
    ctx.data.reply_to = None
    return Goto("write")


async def ask_write(ctx: Talk) -> Reply:
    key = "contact.ask_message" if ctx.data.reply_to is None else "contact.ask_reply"
    return Reply(t(key, limit=service.MESSAGE_MAX))


async def on_write(ctx: Talk, inbound: Inbound) -> Transition:
    if inbound.kind is InboundKind.TEXT:
        text, voice = inbound.text, ""
    elif inbound.kind is InboundKind.VOICE and inbound.media_ref:
        text, voice = "", inbound.media_ref
    else:
        return Retry("contact.expect_message")
    await service.send(ctx.tx, ctx.person, text, voice, ctx.data.reply_to, ctx.now)
    return Done((Reply(t("contact.sent")),))


FLOW = Flow(
    name="contact",
    first="card",
    data=ContactData,
    begin=begin,
    claims=(REPLY.head,),
    states={
        "card": State(ask_card, on_card, back=False),
        "write": State(ask_write, on_write),
    },
)
