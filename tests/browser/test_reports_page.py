"""The reports page in Chromium (zh-CN) on a running hub whose log holds a working morning of the district
(tests/browser/test_live_pages.py's ``MORNING``): the four charts drawn by ECharts from the report's figures (an
instance on each, its canvas painted), the figures on the page, and an export downloaded and opened as a person
would (the workbook with openpyxl, the CSV with the csv module); the screenshot docs/screenshots/report.png."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest
from playwright.async_api import Page, ViewportSize, expect

from tests.browser.conftest import OpenPage, Shot, running_web_hub
from tests.browser.test_live_pages import DAY, play_morning
from tests.support.hub_process import HubProcess

REPORT = f"/admin/reports?period=day&date={DAY}"
TALL = ViewportSize(width=1366, height=1400)
"""A hall PC's width, tall enough for the screenshot to hold the figures and the four charts."""

PAINTED = """element => {
  const chart = echarts.getInstanceByDom(element);
  const canvas = element.querySelector("canvas");
  if (!chart || !canvas || canvas.width === 0) return 0;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
  return painted;
}"""
"""How many pixels of a chart's canvas are painted (0: no ECharts instance or no canvas)."""


@pytest.fixture(scope="module")
def web_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    directory = tmp_path_factory.mktemp("hub")
    ready = HubProcess(directory)
    play_morning(ready.db_url)
    with running_web_hub(directory) as hub:
        yield hub


async def opened_report(page: Page, path: str = REPORT) -> None:
    await page.goto(path)
    await expect(page.locator("[data-chart][data-drawn=yes]")).to_have_count(4)


async def test_an_administrators_report_shows_its_four_charts_drawn_from_the_figures(
    signed_in: OpenPage, shot: Shot
) -> None:
    page = await signed_in("root", viewport=TALL)
    await page.get_by_role("link", name="统计报表").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("统计报表")

    await opened_report(page)

    for chart in await page.locator("[data-chart]").all():
        assert await chart.evaluate(PAINTED) > 1000, await chart.get_attribute("data-chart")
    hours = await page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('[data-chart=hours]')).getOption().series[0].data"
    )
    issued = int(await page.locator("[data-figure=issued]").inner_text())
    assert issued > 0 and sum(hours) == issued  # the chart's bars are the report's arrivals
    sites = await page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('[data-chart=sites]')).getOption().xAxis[0].data"
    )
    assert "雁塔区政务服务中心" in sites and len(sites) == 6
    first_group = page.locator("table[data-table=breakdown][data-group='1'] tbody tr")
    await expect(first_group).to_have_count(7)  # six sites and the total
    await shot(page, "report")


async def test_a_report_is_exported_downloaded_and_opened(signed_in: OpenPage, tmp_path: Path) -> None:
    page = await signed_in("root")
    await opened_report(page, REPORT + "&by=matter")
    issued = int(await page.locator("[data-figure=issued]").inner_text())

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="导出 Excel").click()
    workbook = await downloading.value
    assert workbook.suggested_filename == f"report-{DAY}-{DAY}-matter.xlsx"
    saved = tmp_path / workbook.suggested_filename
    await workbook.save_as(saved)
    book = openpyxl.load_workbook(saved)
    assert book.sheetnames == ["概况", "明细", "时段"]
    assert dict(book["概况"].iter_rows(min_row=2, values_only=True))["取号"] == issued
    assert next(book["明细"].iter_rows(values_only=True))[0] == "事项"

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="导出 CSV").click()
    table = await downloading.value
    assert table.suggested_filename.endswith(".csv")
    await table.save_as(saved := tmp_path / table.suggested_filename)
    with saved.open(encoding="utf-8-sig", newline="") as opened:
        lines = list(csv.reader(opened))
    summary = dict(line for line in lines[2 : lines.index([])] if len(line) == 2)
    assert int(summary["取号"]) == issued


async def test_a_managers_printable_report_has_no_navigation_and_no_form(signed_in: OpenPage) -> None:
    page = await signed_in("li")
    await opened_report(page, REPORT + "&print=1")
    await expect(page.locator("header.bar")).to_be_hidden()
    await expect(page.locator("form[data-report-form]")).to_be_hidden()
    sites = await page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('[data-chart=sites]')).getOption().xAxis[0].data"
    )
    assert sites == ["雁塔区政务服务中心"]
    await page.emulate_media(media="print")
    widths = await page.evaluate(
        "() => [Math.max(...[...document.querySelectorAll('table[data-table=breakdown]')].map((t) => t.scrollWidth)),"
        " document.querySelector('main').clientWidth]"
    )
    assert widths[0] <= widths[1] <= 1050  # the table fits A4 landscape less its margins (277 mm: 1047 px)
    await expect(page.locator(".print-tools")).to_be_hidden()
