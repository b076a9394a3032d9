"""`/quiet HH:MM-HH:MM` (or `/quiet off`): a street administrator sets the quiet hours in which reports' reminders
and nudges wait; `/quiet` alone shows them. Re-checked as an admin on every use. Diagram: quiet.mmd."""

from __future__ import annotations

from bot.conversations.flow import Ctx, Flow, NoData, Transition, say
from bot.features.reports import timers
from bot.i18n import t


async def begin(ctx: Ctx[NoData]) -> Transition:
    if not ctx.is_admin:
        return say(t("auth.denied"))
    args = ctx.entry.args.strip()
    if not args:
        stored = await timers.stored_quiet_hours(ctx.tx)
        current = t("tasks.quiet_default") if stored is None else _shown(stored)
        return say(t("tasks.quiet_current", hours=current))
    try:
        quiet = await timers.set_quiet_hours(ctx.tx, args)
    except ValueError:
        return say(t("tasks.quiet_usage"))
    return say(t("tasks.quiet_saved", hours=_shown("off" if quiet is None else str(quiet))))


def _shown(stored: str) -> str:
    return t("tasks.quiet_off") if stored == "off" else stored


FLOW = Flow(name="quiet", first="", data=NoData, begin=begin, command="quiet", states={})
