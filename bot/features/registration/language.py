"""Choosing the language (/language, the menu, or first contact from a non-Chinese device). Diagram: language.mmd."""

from __future__ import annotations

from typing import Any

from bot.conversations.flow import Advertised, Ctx, Done, Flow, NoData, Retry, Start, State, Transition, choices
from bot.domain.messages import Inbound, Reply
from bot.features.registration.tokens import LANGUAGE, Language
from bot.i18n import translate
from bot.storage import people

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


async def ask(ctx: Ctx[Any]) -> Reply:
    """The language question (this flow's, and registration's first); written in both languages, since we do not
    know which one the person reads."""
    return Reply(translate(ctx.locale, "reg.language"),
                 choices([(name, LANGUAGE.make(Language(code))) for code, name in LANGUAGE_NAMES.items()]))


def chosen(inbound: Inbound) -> str | None:
    """The supported locale a pressed language button names, if any."""
    picked = LANGUAGE.parse(inbound.token)
    return None if picked is None else picked.code


async def on_choice(ctx: Ctx[NoData], inbound: Inbound) -> Transition:
    code = chosen(inbound)
    if code is None:
        return Retry("nav.use_buttons")
    ctx.locale = code
    if ctx.person is None:
        return Start("registration", {"language_chosen": True})
    await people.set_locale(ctx.tx, ctx.person.id, code)
    return Done((Reply(translate(code, "language.set", language=LANGUAGE_NAMES[code])),))


FLOW = Flow(name="language", first="choose", command="language", advertised=Advertised.EVERYONE, data=NoData,
            states={"choose": State(ask, on_choice, back=False)})
