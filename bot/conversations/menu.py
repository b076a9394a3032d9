"""The main menu: each person sees only what their roles allow. Diagram: menu.mmd."""

from __future__ import annotations

from bot.conversations.flow import Ctx, Done, Flow, Goto, Retry, Start, State, Transition, choices
from bot.domain.messages import Inbound, Reply
from bot.i18n import t
from bot.services import people as people_service


def _items(ctx: Ctx) -> list[tuple[str, str]]:
    items = [(t("menu.report"), "m:report"), (t("menu.mine"), "m:mine"), (t("menu.meeting"), "m:meeting")]
    if ctx.person is not None and ctx.person.is_grid_member:
        items.append((t("menu.tasks"), "m:tasks"))
    if ctx.is_admin or (ctx.person is not None and ctx.person.roles):
        items += [(t("menu.broadcast"), "m:broadcast"), (t("menu.lecture"), "m:lecture")]
    items += [(t("menu.me"), "m:me"), (t("menu.home"), "m:home")]
    if ctx.is_admin:
        items.append((t("menu.invite"), "m:invite"))
    return [*items, (t("menu.language"), "m:language"), (t("menu.help"), "m:help"), (t("menu.forget"), "m:forget")]


async def ask_main(ctx: Ctx) -> Reply:
    return Reply(t("menu.title"), choices(_items(ctx)))


async def on_main(ctx: Ctx, inbound: Inbound) -> Transition:
    allowed = {token for _, token in _items(ctx)}
    if inbound.token not in allowed:
        return Retry("auth.denied" if inbound.token.startswith("m:") else "nav.use_buttons")
    action = inbound.token.removeprefix("m:")
    if action == "me":
        return Goto("main", (Reply(await _profile(ctx)),))
    if action == "help":
        return Goto("main", (Reply(t("help.text")),))
    if action == "home":
        return Start("registration", {"move": True})
    if action == "invite":
        return Start("invite_create")
    flows = {"report": "report", "mine": "my_reports", "tasks": "tasks", "meeting": "meeting",
             "broadcast": "broadcast", "lecture": "lecture"}
    if action in flows:
        return Start(flows[action])
    if action == "forget":
        return Goto("forget")
    return Start("language")


async def _profile(ctx: Ctx) -> str:
    person = ctx.person
    assert person is not None
    lines = [t("me.home", place=await people_service.place_label(ctx.tx, person.building_id, person.room))]
    for grant in person.roles:
        lines.append(t("me.role", role=t(f"role.{grant.role.value}"),
                       place=await people_service.place_label(ctx.tx, grant.unit_id)))
    for duty in person.duties:
        lines.append(t("me.duty", duty=t(f"duty.{duty.duty.value}"),
                       place=await people_service.place_label(ctx.tx, duty.unit_id)))
    if ctx.is_admin:
        lines.append(t("me.admin"))
    return "\n".join(lines)


async def ask_forget(ctx: Ctx) -> Reply:
    return Reply(t("forget.confirm"), choices([(t("forget.yes"), "forget:yes")]))


async def on_forget(ctx: Ctx, inbound: Inbound) -> Transition:
    if inbound.token != "forget:yes" or ctx.person is None:
        return Retry("nav.use_buttons")
    await people_service.forget(ctx.tx, ctx.person, ctx.now)
    ctx.person = None
    return Done((Reply(t("forget.done")),), menu=False)


FLOW = Flow(name="menu", first="main", states={"main": State(ask_main, on_main, nav=False),
                                               "forget": State(ask_forget, on_forget)})
