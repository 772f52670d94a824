"""The numbers behind the charts as CSV and XLSX: complete, consistent with the report, and readable."""

from __future__ import annotations

import csv
import io
import zipfile
from xml.etree import ElementTree

import pytest

from queue_engine.reports import Report, day_report, tables, to_csv, to_xlsx
from queue_engine.reports.xlsx import Sheet, column_letter, workbook

from .support import DAY, demo, simulated


@pytest.fixture(scope="module")
def report() -> Report:
    return day_report(demo(), simulated(1)[1], DAY)


def rows(report: Report) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(to_csv(report))))


def test_csv_is_long_with_one_number_per_line(report: Report) -> None:
    """``table,group,subgroup,metric,value``; each (table, group, subgroup, metric) once; every table there."""
    lines = rows(report)
    assert list(lines[0]) == ["table", "group", "subgroup", "metric", "value"]
    keys = [(r["table"], r["group"], r["subgroup"], r["metric"]) for r in lines]
    assert len(keys) == len(set(keys))
    assert {r["table"] for r in lines} == {t.key for t in tables(report)}
    value = {k: r["value"] for k, r in zip(keys, lines, strict=True)}
    assert value[("summary", "", "", "tickets")] == str(report.tickets)
    assert value[("waiting_time", "*", "*", "count")] == str(report.waiting[("*", "*")].count)
    assert value[("waiting_time", "LOKET", "umum", "median_min")] == str(
        round(report.waiting[("LOKET", "umum")].median or 0, 1)
    )
    assert value[("per_hour", "08", "", "calls")] == str(report.calls_per_hour[8])
    assert value[("counters", "apotek", "", "utilisation")] == str(round(report.counters[-1].utilisation or 0, 3))
    assert sum(int(r["value"]) for r in lines if r["table"] == "per_hour" and r["metric"] == "arrivals") == sum(
        report.arrivals_per_hour
    )


def test_xlsx_opens_and_holds_the_same_tables(report: Report) -> None:
    """Read back with openpyxl: one sheet per table, bilingual bold headers, the same numbers, rates as %."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(report, title="Puskesmas Uji")))
    expected = tables(report)
    assert book.sheetnames == [
        "Ringkasan",
        "Kanal",
        "Kunjungan",
        "Waktu tunggu",
        "Waktu layanan",
        "Per jam",
        "Per layanan",
        "Loket",
    ]
    summary = book["Ringkasan"]
    assert summary["A1"].value == "Ringkasan / Summary"
    assert "Puskesmas Uji" in summary["A2"].value
    assert [summary.cell(row=4, column=i).value for i in (1, 2)] == ["Ukuran / Measure", "Nilai / Value"]
    assert summary["B5"].value == report.tickets
    rate_row = 5 + [c.key for c in expected[0].values].index("eta_hit_rate")
    assert summary.cell(row=rate_row, column=2).number_format == "0.0%"
    for table, sheet in zip(expected[1:], book.worksheets[1:], strict=True):
        header = [c.value for c in sheet[4]]
        assert header == [f"{c.label_id} / {c.label_en}" for c in (*table.keys, *table.values)]
        assert sheet["A4"].font.b
        body = [[c.value for c in row] for row in sheet.iter_rows(min_row=5)]
        assert body == [[*keys, *values] for keys, values in table.rows]
    assert book["Loket"]["D5"].number_format == "0.0%"
    assert book["Waktu tunggu"]["D5"].number_format == "0.0"


def test_xlsx_is_deterministic_and_a_valid_package(report: Report) -> None:
    """Same report, same bytes; every part is well-formed XML named in the content types."""
    data = to_xlsx(report)
    assert data == to_xlsx(report)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert "[Content_Types].xml" in names and "xl/workbook.xml" in names
        types = archive.read("[Content_Types].xml").decode()
        for name in names:
            ElementTree.fromstring(archive.read(name))
            if name.startswith("xl/worksheets/"):
                assert f'PartName="/{name}"' in types


def test_the_writer_escapes_text_and_names_sheets_validly() -> None:
    """Markup, control characters and bad or duplicate sheet names still give a workbook that opens."""
    openpyxl = pytest.importorskip("openpyxl")
    sheets = [
        Sheet(
            "A/B: [x]?", ["<b>&amp; \x01 judul"], [["kolom <1>", "n"], ["a & b", 1.5], ["c", None]], ["text", "minutes"]
        ),
        Sheet("A B  x", [], [["x"]], ["text"]),
        Sheet("", [], [], []),
    ]
    book = openpyxl.load_workbook(io.BytesIO(workbook(sheets)))
    assert book.sheetnames == ["A B   x", "A B  x", "Sheet3"]
    first = book.worksheets[0]
    assert first["A1"].value == "<b>&amp;  judul"
    assert [first["A3"].value, first["B4"].value, first["B5"].value] == ["kolom <1>", 1.5, None]
    with pytest.raises(ValueError):
        workbook([])


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]
