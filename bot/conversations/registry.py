"""Every flow the engine can run, by name."""

from __future__ import annotations

from bot.conversations import (
    broadcast,
    invite_create,
    language,
    lecture,
    meeting,
    menu,
    my_reports,
    quiet,
    registration,
    report,
    tasks,
)
from bot.conversations.flow import Flow


def all_flows() -> dict[str, Flow]:
    flows = (registration.FLOW, menu.FLOW, language.FLOW, invite_create.FLOW, report.FLOW, my_reports.FLOW, tasks.FLOW,
             meeting.FLOW, lecture.FLOW, broadcast.FLOW, quiet.FLOW)
    return {flow.name: flow for flow in flows}
