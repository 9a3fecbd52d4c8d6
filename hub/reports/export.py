"""A report as tables (headline figures, the breakdown, the hours), and those tables as CSV or XLSX.

The page, the CSV and the workbook show the same numbers: ``tables`` makes them once. Times are in minutes (one
decimal), shares in percent (one decimal), an empty cell where nothing was counted. The CSV is UTF-8 with a BOM so
that Excel opens its Chinese right; the workbook (openpyxl) has one sheet per table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]  # no type hints
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from hub.reports.model import Breakdown, Durations, Figures, Report

Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    zh: str
    en: str
    value: Callable[[Figures], Cell]

    def header(self, english: bool) -> str:
        return self.en if english else self.zh


@dataclass(frozen=True)
class Table:
    name: str
    """The sheet's name (and the CSV's section title)."""
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _duration(pick: Callable[[Figures], Durations], part: str) -> Callable[[Figures], Cell]:
    return lambda figures: minutes(getattr(pick(figures), part))


def _follow_up(part: str, share: bool = False) -> Callable[[Figures], Cell]:
    def value(figures: Figures) -> Cell:
        if figures.follow_ups is None:
            return None
        found = getattr(figures.follow_ups, part)
        return percent(found) if share else found

    return value


COLUMNS: tuple[Column, ...] = (
    Column("取号", "Issued", lambda f: f.issued),
    Column("已办结", "Served", lambda f: f.served),
    Column("过号", "No-shows", lambda f: f.no_shows),
    Column("转移", "Transfers", lambda f: f.transfers),
    Column("挂起", "Parked", lambda f: f.parked),
    Column("取消", "Cancelled", lambda f: f.cancelled),
    Column("预约", "Booked", lambda f: f.appointments_booked),
    Column("预约到场", "Kept", lambda f: f.appointments_kept),
    Column("预约爽约", "Missed", lambda f: f.appointments_missed),
    Column("平均等候(分钟)", "Mean wait (min)", _duration(lambda f: f.wait, "mean")),
    Column("等候中位数(分钟)", "Median wait (min)", _duration(lambda f: f.wait, "median")),
    Column("等候95分位(分钟)", "95th pct wait (min)", _duration(lambda f: f.wait, "p95")),
    Column("平均办理(分钟)", "Mean service (min)", _duration(lambda f: f.service, "mean")),
    Column("办理中位数(分钟)", "Median service (min)", _duration(lambda f: f.service, "median")),
    Column("办理95分位(分钟)", "95th pct service (min)", _duration(lambda f: f.service, "p95")),
    Column("目标时间内叫号(%)", "Called within target (%)", lambda f: percent(f.within_target)),
    Column("评价数", "Ratings", lambda f: f.ratings.count),
    Column("平均评分", "Average rating", lambda f: None if f.ratings.average is None else round(f.ratings.average, 2)),
    Column("满意率(%)", "Satisfied (%)", lambda f: percent(f.ratings.satisfied)),
    Column("整改事项", "Follow-ups opened", _follow_up("opened")),
    Column("已办结整改", "Follow-ups closed", _follow_up("closed")),
    Column("按时整改率(%)", "Closed on time (%)", _follow_up("on_time", share=True)),
    Column("逾期未整改", "Overdue", _follow_up("overdue")),
)
"""The figures of a report, in the order every table shows them."""

COLUMN_GROUPS: tuple[tuple[str, str, int], ...] = (
    ("取号与办理", "Tickets", 6),
    ("预约", "Appointments", 3),
    ("等候与办理时长", "Waiting and service times", 7),
    ("评价与整改", "Ratings and follow-ups", 7),
)
"""The breakdown's neighbouring columns in groups (Chinese, English, how many), each shown as a table of its own with
the row labels again, so the page reads on a 1366-pixel screen and prints on A4; the exports keep one table."""
assert sum(count for _zh, _en, count in COLUMN_GROUPS) == len(COLUMNS)

BREAKDOWN_NAMES = {
    Breakdown.SITE: ("站点", "Site"),
    Breakdown.MATTER: ("事项", "Matter"),
    Breakdown.WINDOW: ("窗口", "Window"),
    Breakdown.STAFF: ("人员", "Clerk"),
    Breakdown.DAY: ("日期", "Day"),
}


def headline(report: Report, english: bool = False) -> Table:
    """The report's period and sites, then each figure of the whole report, one per line."""
    query = report.query
    about: list[tuple[Cell, Cell]] = [
        ("Period" if english else "统计期间", f"{query.start.isoformat()} – {query.end.isoformat()}"),
        ("Sites" if english else "站点", "、".join(row.label_en if english else row.label_zh for row in report.sites)),
        ("Generated" if english else "生成时间", report.generated_at.isoformat(timespec="seconds")),
        ("Peak hours" if english else "高峰时段", "、".join(f"{hour:02d}:00" for hour in report.peak_hours)),
    ]
    figures: list[tuple[Cell, Cell]] = [(column.header(english), column.value(report.total)) for column in COLUMNS]
    return Table(
        "Summary" if english else "概况",
        ("Figure", "Value") if english else ("指标", "数值"),
        tuple(about + figures),
    )


def breakdown(report: Report, english: bool = False) -> Table:
    """One line per row of the report's breakdown, with every figure, then the whole report's total."""
    zh, en = BREAKDOWN_NAMES[report.query.by]
    lines = [
        (row.label_en if english else row.label_zh, *(column.value(row.figures) for column in COLUMNS))
        for row in report.rows
    ]
    total = ("Total" if english else "合计", *(column.value(report.total) for column in COLUMNS))
    return Table(
        "Breakdown" if english else "明细",
        (en if english else zh, *(column.header(english) for column in COLUMNS)),
        (*lines, total),
    )


def breakdown_groups(report: Report, english: bool = False) -> tuple[Table, ...]:
    """The breakdown cut into ``COLUMN_GROUPS``, each with the row labels (and the total) again."""
    whole = breakdown(report, english)
    groups, start = [], 1
    for zh, en, count in COLUMN_GROUPS:
        cut = slice(start, start + count)
        headers = (whole.headers[0], *whole.headers[cut])
        groups.append(Table(en if english else zh, headers, tuple((row[0], *row[cut]) for row in whole.rows)))
        start += count
    return tuple(groups)


def hours(report: Report, english: bool = False) -> Table:
    rows = tuple((f"{hour.hour:02d}:00", hour.arrivals, minutes(hour.mean_wait)) for hour in report.hours)
    headers = ("Hour", "Arrivals", "Mean wait (min)") if english else ("时段", "取号", "平均等候(分钟)")
    return Table("Hours" if english else "时段", headers, rows)


def tables(report: Report, english: bool = False) -> tuple[Table, ...]:
    return headline(report, english), breakdown(report, english), hours(report, english)


def to_csv(report: Report, english: bool = False) -> bytes:
    """The three tables one after the other, each under its name, a blank line between them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for index, table in enumerate(tables(report, english)):
        if index:
            writer.writerow([])
        writer.writerow([table.name])
        writer.writerow(table.headers)
        writer.writerows(["" if cell is None else cell for cell in row] for row in table.rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(report: Report, english: bool = False) -> bytes:
    """A workbook with a sheet per table, headers bold, columns wide enough for their text."""
    book = Workbook()
    book.remove(book.active)
    for table in tables(report, english):
        sheet = book.create_sheet(table.name)
        sheet.append(list(table.headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(list(row))
        _fit(sheet, table)
        sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fit(sheet: Any, table: Table) -> None:
    for index in range(len(table.headers)):
        cells: Sequence[Cell] = [table.headers[index], *(row[index] for row in table.rows if index < len(row))]
        width = max(_width(cell) for cell in cells)
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(60, width + 2)


def _width(cell: Cell) -> int:
    text = "" if cell is None else str(cell)
    return sum(2 if ord(char) > 0x2E80 else 1 for char in text)  # a Chinese character is two columns wide


def file_name(report: Report, extension: str) -> str:
    query = report.query
    return f"report-{query.start.isoformat()}-{query.end.isoformat()}-{query.by.value}.{extension}"
