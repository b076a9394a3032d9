"""The weekly report in the chat. A community's secretary: the draft's buttons (pushed at 08:00: `wr:edit:<id>:
<field>`, `wr:submit:<id>`) or menu → 📰 周报 open the report's page; ✏️ a text asks for it (showing what is there),
then the page again; ✅ 提交 submits once the three texts are there. A street administrator: menu → 📰 周报 shows
the latest roll-up and its 督查 list. Every step re-checks the person's rights in the service. Diagram: weekly.mmd.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.flow import Ctx, Done, Flow, Goto, Retry, State, Transition
from bot.domain.messages import Inbound, InboundKind, Reply
from bot.features.weekly import notices, service
from bot.features.weekly.model import MAX_TEXT, Field
from bot.features.weekly.service import WeeklyError
from bot.features.weekly.tokens import EDIT, SUBMIT
from bot.i18n import t


@dataclass(slots=True)
class WeeklyData:
    """The report being worked on, and the text being typed (a Field's value)."""

    report: int | None = None
    field: str | None = None


Weekly = Ctx[WeeklyData]


def _report_id(ctx: Weekly) -> int:
    assert ctx.data.report is not None
    return ctx.data.report


def _field(ctx: Weekly) -> Field:
    assert ctx.data.field is not None
    return Field(ctx.data.field)


async def begin(ctx: Weekly) -> Transition:
    if ctx.entry.token:
        return await _pressed(ctx, ctx.entry.token)
    if service.is_secretary(ctx.person):
        report = await service.current_for(ctx.tx, ctx.person)
        if report is None:
            return Done((Reply(t("weekly.no_report")),))
        ctx.data.report = report.id
        return Goto("page")
    if service.sees_rollup(ctx.person, ctx.is_admin):
        rollup = await service.latest_rollup(ctx.tx, ctx.person, ctx.is_admin)
        if rollup is None:
            return Done((Reply(t("weekly.no_rollup")),))
        return Done((Reply(await notices.rollup_text(ctx.tx, rollup, ctx.timezone)),))
    return Done((Reply(t("auth.denied")),))


async def _pressed(ctx: Weekly, token: str) -> Transition:
    """A pressed `wr:` button, on the draft push or the page."""
    if (edit := EDIT.parse(token)) is not None:
        await service.editable(ctx.tx, edit.report, ctx.person)
        ctx.data.report, ctx.data.field = edit.report, edit.field.value
        return Goto("text")
    if (submit := SUBMIT.parse(token)) is not None:
        try:
            report = await service.submit(ctx.tx, submit.id, ctx.person, ctx.now, ctx.timezone)
        except WeeklyError as error:
            if error.key != "weekly.error.incomplete":
                raise
            ctx.data.report = submit.id  # the page again, saying which texts are missing
            return Goto("page", (Reply(t(error.key, **error.params)),))
        return Done((notices.submitted(report),))
    return Done((Reply(t("auth.denied")),))


async def ask_page(ctx: Weekly) -> Reply:
    report = await service.own_report(ctx.tx, _report_id(ctx), ctx.person)
    return await notices.page(ctx.tx, report, ctx.now, ctx.timezone)


async def on_page(ctx: Weekly, inbound: Inbound) -> Transition:
    if not inbound.token.startswith("wr:"):
        return Retry("nav.use_buttons")
    return await _pressed(ctx, inbound.token)


async def ask_text(ctx: Weekly) -> Reply:
    report = await service.editable(ctx.tx, _report_id(ctx), ctx.person)
    field = _field(ctx)
    current = report.texts[field] or t("weekly.text_empty")
    return Reply(t("weekly.ask_text", field=t(f"weekly.field.{field.value}"), limit=MAX_TEXT,
                   current=current))


async def on_text(ctx: Weekly, inbound: Inbound) -> Transition:
    if inbound.kind is not InboundKind.TEXT:
        return Retry("weekly.expect_text")
    field = _field(ctx)
    await service.set_text(ctx.tx, _report_id(ctx), ctx.person, field, inbound.text)
    return Goto("page", (Reply(t("weekly.saved", field=t(f"weekly.field.{field.value}"))),))


FLOW = Flow(
    name="weekly",
    first="page",
    data=WeeklyData,
    begin=begin,
    claims=("wr:",),
    states={
        "page": State(ask_page, on_page, back=False),
        "text": State(ask_text, on_text),
    },
)
