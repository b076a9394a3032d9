"""Every flow the engine can run, by name."""

from __future__ import annotations

from bot.conversations import invite_create, language, menu, registration
from bot.conversations.flow import Flow


def all_flows() -> dict[str, Flow]:
    return {flow.name: flow for flow in (registration.FLOW, menu.FLOW, language.FLOW, invite_create.FLOW)}
