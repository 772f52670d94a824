"""A minimal XLSX (Office Open XML SpreadsheetML) writer: enough for tables of text and numbers.

No dependency: an ``.xlsx`` file is a zip of a few XML parts. Each sheet gets a caption (two lines),
a bold header row frozen in place, column widths from its content, and number formats (``0.0`` for
minutes, ``0.0%`` for rates). Strings are written inline (no shared-strings part), which Excel,
LibreOffice and openpyxl all read. The output is deterministic: fixed zip timestamps, no document
properties carrying a date.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

Cell = str | int | float | None

#: cellXfs indices in STYLES
PLAIN, BOLD, PERCENT, DECIMAL, TITLE = 0, 1, 2, 3, 4
_NUMBER_STYLE = {"rate": PERCENT, "minutes": DECIMAL}
#: characters XML 1.0 cannot hold
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Sheet:
    """One worksheet: caption lines, then ``rows`` (the first is the header).

    ``kinds`` (per column: "text", "count", "minutes", "rate" or "mixed") chooses number formats;
    ``percent_rows`` are body rows (1-based, after the header) whose numbers are rates.
    """

    name: str
    caption: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    kinds: Sequence[str]
    percent_rows: frozenset[int] = frozenset()


XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"

CONTENT_TYPES = (
    XML
    + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    + '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    + '<Default Extension="xml" ContentType="application/xml"/>'
    + f'<Override PartName="/xl/workbook.xml" ContentType="{SPREADSHEET}.sheet.main+xml"/>'
    + f'<Override PartName="/xl/styles.xml" ContentType="{SPREADSHEET}.styles+xml"/>'
    + "{sheets}</Types>"
)
SHEET_TYPE = f'<Override PartName="/xl/worksheets/sheet{{n}}.xml" ContentType="{SPREADSHEET}.worksheet+xml"/>'
ROOT_RELS = (
    XML
    + f'<Relationships xmlns="{PKG_RELS}">'
    + f'<Relationship Id="rId1" Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/>'
    + "</Relationships>"
)
WORKBOOK = XML + f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>{{sheets}}</sheets></workbook>'
WORKBOOK_RELS = (
    XML
    + f'<Relationships xmlns="{PKG_RELS}">{{sheets}}'
    + f'<Relationship Id="rIdStyles" Type="{DOC_RELS}/styles" Target="styles.xml"/>'
    + "</Relationships>"
)
SHEET_REL = f'<Relationship Id="rId{{n}}" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet{{n}}.xml"/>'
FONT = '<font>{bold}<sz val="{size}"/><name val="Calibri"/></font>'
XF = '<xf numFmtId="{fmt}" fontId="{font}" fillId="0" borderId="0" xfId="0"{apply}/>'
STYLES = (
    XML
    + f'<styleSheet xmlns="{MAIN}">'
    + '<numFmts count="2"><numFmt numFmtId="164" formatCode="0.0%"/><numFmt numFmtId="165" formatCode="0.0"/></numFmts>'
    + '<fonts count="3">'
    + FONT.format(bold="", size=11)
    + FONT.format(bold="<b/>", size=11)
    + FONT.format(bold="<b/>", size=13)
    + "</fonts>"
    + '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    + '<fill><patternFill patternType="gray125"/></fill></fills>'
    + '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    + '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    + '<cellXfs count="5">'
    + XF.format(fmt=0, font=0, apply="")  # PLAIN
    + XF.format(fmt=0, font=1, apply=' applyFont="1"')  # BOLD
    + XF.format(fmt=164, font=0, apply=' applyNumberFormat="1"')  # PERCENT
    + XF.format(fmt=165, font=0, apply=' applyNumberFormat="1"')  # DECIMAL
    + XF.format(fmt=0, font=2, apply=' applyFont="1"')  # TITLE
    + "</cellXfs>"
    + '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    + "</styleSheet>"
)


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _cell(ref: str, value: Cell, style: int) -> str:
    s = f' s="{style}"' if style else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    text = escape(_CONTROL.sub("", value))
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _sheet_xml(sheet: Sheet) -> str:
    top = len(sheet.caption) + 1  # caption lines, a blank line, then the header
    lines: list[str] = []
    for i, text in enumerate(sheet.caption):
        lines.append(f'<row r="{i + 1}">{_cell(f"A{i + 1}", text, TITLE if i == 0 else PLAIN)}</row>')
    for i, row in enumerate(sheet.rows):
        r = top + 1 + i
        cells = []
        for j, value in enumerate(row):
            kind = sheet.kinds[j] if j < len(sheet.kinds) else "text"
            if i == 0:
                style = BOLD
            elif kind == "mixed":
                style = PERCENT if i in sheet.percent_rows else DECIMAL if isinstance(value, float) else PLAIN
            else:
                style = _NUMBER_STYLE.get(kind, PLAIN)
            cells.append(_cell(f"{column_letter(j)}{r}", value, style))
        lines.append(f'<row r="{r}">{"".join(cells)}</row>')
    widths = [
        min(max((len(str(row[j])) for row in sheet.rows if j < len(row) and row[j] is not None), default=8), 60)
        for j in range(max((len(row) for row in sheet.rows), default=0))
    ]
    cols = "".join(
        f'<col min="{j + 1}" max="{j + 1}" width="{max(w, 6) + 2}" customWidth="1"/>' for j, w in enumerate(widths)
    )
    pane = (
        f'<pane ySplit="{top}" topLeftCell="A{top + 1}" activePane="bottomLeft" state="frozen"/>' if sheet.rows else ""
    )
    return (
        XML + f'<worksheet xmlns="{MAIN}">'
        f'<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>'
        f"{f'<cols>{cols}</cols>' if cols else ''}"
        f"<sheetData>{''.join(lines)}</sheetData>"
        "</worksheet>"
    )


def _sheet_names(sheets: Sequence[Sheet]) -> list[str]:
    """Valid, unique sheet names (at most 31 characters, none of ``[]:*?/\\``)."""
    names: list[str] = []
    for i, sheet in enumerate(sheets):
        name = _SHEET_NAME_BAD.sub(" ", sheet.name).strip()[:31] or f"Sheet{i + 1}"
        base, n = name, 2
        while name.lower() in (x.lower() for x in names):
            suffix = f" ({n})"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        names.append(name)
    return names


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """The bytes of an ``.xlsx`` file holding ``sheets`` (at least one)."""
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    names = _sheet_names(sheets)
    parts = {
        "[Content_Types].xml": CONTENT_TYPES.format(
            sheets="\n".join(SHEET_TYPE.format(n=i + 1) for i in range(len(sheets)))
        ),
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK.format(
            sheets="".join(
                f'<sheet name={quoteattr(name)} sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, name in enumerate(names)
            )
        ),
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS.format(
            sheets="".join(SHEET_REL.format(n=i + 1) for i in range(len(sheets)))
        ),
        "xl/styles.xml": STYLES,
    }
    for i, sheet in enumerate(sheets):
        parts[f"xl/worksheets/sheet{i + 1}.xml"] = _sheet_xml(sheet)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()
