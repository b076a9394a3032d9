"""Choosing the language (/language, the menu, or first contact from a non-Chinese device). Diagram: language.mmd."""

from __future__ import annotations

from bot.conversations.flow import Ctx, Done, Flow, Retry, Start, State, Transition, choices
from bot.domain.messages import Inbound, Reply
from bot.i18n import SUPPORTED, translate
from bot.storage import people

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


async def ask(ctx: Ctx) -> Reply:
    """The language question; written in both languages, since we do not know which one the person reads."""
    return Reply(translate(ctx.locale, "reg.language"),
                 choices([(name, f"lang:{code}") for code, name in LANGUAGE_NAMES.items()]))


def chosen(inbound: Inbound) -> str | None:
    """The supported locale a `lang:<code>` token names, if any."""
    code = inbound.token.removeprefix("lang:")
    return code if inbound.token.startswith("lang:") and code in SUPPORTED else None


async def on_choice(ctx: Ctx, inbound: Inbound) -> Transition:
    code = chosen(inbound)
    if code is None:
        return Retry("nav.use_buttons")
    ctx.locale = code
    if ctx.person is None:
        return Start("registration", {"language_chosen": True})
    await people.set_locale(ctx.tx, ctx.person.id, code)
    return Done((Reply(translate(code, "language.set", language=LANGUAGE_NAMES[code])),))


FLOW = Flow(name="language", first="choose", command="language",
            states={"choose": State(ask, on_choice, back=False)})
