"""The weekly report in the console demo, as the issue's "done when" plays it: `/later` to Saturday 08:00 brings the
secretary the draft with its chart and spreadsheet; they add the three texts with the push's buttons and submit; at
12:00 the admin gets the roll-up with its chart, and the community that did not submit is on the 督查 list the admin
sees (menu → 📰 周报)."""

from __future__ import annotations

from pathlib import Path

from tests.cli_harness import console_demo


async def test_a_week_of_weekly_reports_in_the_console(tmp_path: Path) -> None:
    async with console_demo(tmp_path) as console:
        await console.expect("同意吗？")
        await console.type("/as secretary C01")
        await console.expect("—— 现在您是 community-C01 ——")
        await console.type("/later sat 08:30")
        await console.expect("📨 发给 community-C01 的消息：\n[照片 ")
        draft = await console.expect("[d] ✅ 提交周报", timeout=30)
        assert "📊 幸福社区 周报 · " in draft and "[文件 " in draft and ".xlsx]" in draft
        assert "[a] ✏️ 本周重点工作   [b] ✏️ 需街道协调   [c] ✏️ 下周计划" in draft
        await console.type("d")  # 提交 before the texts: refused, saying what is missing
        await console.expect("还不能提交：请先填好 本周重点工作、需街道协调、下周计划。")
        await console.type("a")
        await console.expect("请输入“本周重点工作”（最多 1000 字）。")
        await console.type("走访独居老人 12 户。")
        await console.expect("已保存“本周重点工作”。")
        await console.type("2")  # the page's ✏️ 需街道协调
        await console.expect("请输入“需街道协调”")
        await console.type("请协调 1 号楼屋顶维修。")
        await console.type("3")  # ✏️ 下周计划
        await console.expect("请输入“下周计划”")
        await console.type("组织消防演练。")
        page = await console.expect("[4] ✅ 提交周报")
        assert "✏️ 需街道协调：请协调 1 号楼屋顶维修。" in page and "✏️ 下周计划：组织消防演练。" in page
        await console.type("4")
        await console.expect("✅ 周报已提交，谢谢！")

        await console.type("/as admin")
        await console.type("/later 4h")  # past 12:00: 和谐社区 did not submit
        rollup = await console.expect("🔔 督查（12 点前未提交）：和谐社区", timeout=30)
        assert "📊 各社区周报汇总 · " in rollup and "[照片 " in rollup and "[文件 " in rollup
        assert "幸福社区（已提交）：新增 0，办结 0，超期 0，积压 0" in rollup and "和谐社区（逾期未交）" in rollup
        assert "重点工作：走访独居老人 12 户。" in rollup
        await console.type("/menu")
        await console.expect("📰 周报")
        await console.type("📰 周报")
        await console.expect("🔔 督查（12 点前未提交）：和谐社区")
        await console.type("/quit")
