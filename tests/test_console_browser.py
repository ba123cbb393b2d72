"""The console in a real browser: headless Chromium (Debian's /usr/bin/chromium, installed by
``make test``) driven by Playwright, against the app served by uvicorn on a loopback port
with a real worker on the time-skipping server and the demo-seconds policy.

The time-skipping server's clock runs at wall speed while nobody asks it to skip, so a
demo clock of 6 s breaches in 6 real seconds while the browser watches the board.
Screenshots go to tests/artifacts/ (git-ignored; CI keeps them as the run's artifacts).
"""

from __future__ import annotations

import asyncio
import re
import socket
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from conftest import DEMO_POLICY
from console_session import console
from playwright.async_api import async_playwright, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE_ERROR_ZH = "不是有效的中国大陆电话号码"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def served(app):
    """The app on a loopback port, in this event loop (where the worker and Temporal's
    client live). No access log: URLs are not logged anywhere."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


@asynccontextmanager
async def chromium():
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
            page.set_default_timeout(15_000)
            yield page
        finally:
            await browser.close()


async def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


async def test_a_desk_agent_opens_a_case_watches_it_breach_and_acts(env, pg_url, executor, db):
    async with console(env, pg_url, executor, policy=DEMO_POLICY) as c, served(c.app) as base, chromium() as page:
        # Signing in: the console sends a stranger to the sign-in form.
        await page.goto(f"{base}/console")
        await expect(page).to_have_url(f"{base}/console/sign-in")
        await page.fill("input[name=token]", "t-agent")
        await page.click("button[type=submit]")
        await expect(page.locator("h1")).to_have_text("工单看板")

        # The intake form: a wrong phone is named next to the field, the rest kept as typed.
        await page.click("nav >> text=新建工单")
        await page.select_option("select[name=kind]", "repair")
        await page.select_option("select[name=channel]", "hotline")
        await page.fill("input[name=customer_name]", "王女士")
        await page.fill("input[name=phone]", "12345")
        await page.fill("input[name=address]", "上海市浦东新区锦绣路100弄5号1201")
        await page.fill("textarea[name=description]", "卫生间墙面瓷砖空鼓开裂")
        await page.click("#new-case button[type=submit]")
        await expect(page.locator("[data-field=phone] .field-error")).to_contain_text(PHONE_ERROR_ZH)
        await expect(page.locator("textarea[name=description]")).to_have_value("卫生间墙面瓷砖空鼓开裂")
        await shot(page, "1-intake-error")
        await page.fill("input[name=phone]", "138 1234 5678")
        await page.click("#new-case button[type=submit]")
        await page.wait_for_url(f"{base}/console/cases/AS*")
        case_no = page.url.rsplit("/", 1)[-1]
        await expect(page.locator("h1")).to_contain_text(case_no)

        # The board: the case with its countdown, red once its 6 s response clock breaches,
        # without anyone reloading the page.
        await page.click("nav >> text=工单看板")
        row = page.locator(f"tr[data-case='{case_no}']")
        await expect(row).to_be_visible()
        await expect(row.locator("time.countdown")).to_have_text(re.compile(r"^−?\d\d:\d\d:\d\d$"))  # ticking
        await shot(page, "2-board")
        await expect(row).to_have_class(re.compile(r"\bbreached\b"), timeout=20_000)
        await expect(row.locator(".mark.breach")).to_be_visible()
        await expect(row.locator("time.countdown")).to_have_class(re.compile("overdue"))
        await shot(page, "3-board-breached")

        # The case page: the breach on the clock and the timeline, then an action taken.
        await row.locator("a").click()
        await expect(page.locator("tr[data-clock=response]")).to_have_class(re.compile("status-breached"))
        await expect(page.locator("#temporal-link")).to_have_attribute("href", re.compile("/workflows/case-"))
        respond = page.locator("details[data-action=respond]")
        await respond.locator("summary").click()
        await respond.locator("textarea[name=note]").fill("已回电，客户发来照片")
        await respond.locator("button[type=submit]").click()
        await expect(page.locator("#stage")).to_have_text("诊断中")
        await expect(page.locator("ol.timeline")).to_contain_text("响应客户")
        await expect(page.locator("ol.timeline")).to_contain_text("超时后完成")  # the breached clock, met late
        await expect(page.locator("details[data-action=book_survey]")).to_be_visible()
        await shot(page, "4-case-responded")

        # The same page in English.
        await page.click("text=English")
        await expect(page.locator("#stage")).to_have_text("diagnosing")
        await shot(page, "5-case-english")
