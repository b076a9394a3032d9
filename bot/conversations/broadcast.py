"""Placeholder: being written."""

from __future__ import annotations

from bot.conversations.flow import Ctx, Done, Flow, State, Transition
from bot.domain.messages import Inbound, Reply


async def _ask(ctx: Ctx) -> Reply:
    return Reply("")


async def _on(ctx: Ctx, inbound: Inbound) -> Transition:
    return Done()


FLOW = Flow(name="broadcast", first="start", states={"start": State(_ask, _on)})
