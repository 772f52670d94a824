"""Small server-rendered SVG charts: grouped bars, stacked bars, percentile bars and meters.

Each chart is one ``<svg role="img">`` whose ``<title>`` and ``<desc>`` name it for screen readers
(the numbers are also in the table beside it), with a ``<title>`` on every bar for a tooltip. The
SVG scales to its box (``viewBox``, no fixed size); text is drawn in viewBox units. Colours come
from the Okabe-Ito palette, which stays distinguishable with the common colour-vision
deficiencies, and every colour also has a text label. No script, no CDN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Okabe-Ito, and the shades of Antre's brand teal
BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION = "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"
TEAL, TEAL_LIGHT, INK, MUTED, GRID, TRACK = "#00695c", "#8fd3c8", "#14202b", "#4a5866", "#dfe5ea", "#eef2f5"
#: a target band (pale amber) and its dashed edges
BAND, BAND_EDGE = "#fde7a7", "#8a6100"
WIDTH = 640
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Noto Sans, sans-serif"'


@dataclass(frozen=True, slots=True)
class Series:
    """One coloured set of values (a legend entry)."""

    label: str
    color: str
    values: Sequence[float]


@dataclass(frozen=True, slots=True)
class Spread:
    """One row of a percentile chart: median, p90 and max (None: no data); ``group`` rows are headings."""

    label: str
    median: float | None = None
    p90: float | None = None
    max: float | None = None
    count: int = 0
    group: bool = False


def nice_max(value: float, ticks: int = 4) -> tuple[float, float]:
    """A round axis maximum at or above ``value`` and its tick step (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0, 0.25
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return step * math.ceil(value / step - 1e-9), step


def fit(label: str, width: float, size: int = 12) -> str:
    """``label`` cut with an ellipsis to about ``width`` viewBox units of text at ``size``."""
    chars = max(int(width / (size * 0.56)), 4)
    return label if len(label) <= chars else label[: chars - 1].rstrip() + "…"


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def _svg(chart_id: str, height: float, title: str, desc: str, body: list[str]) -> Markup:
    head = (
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-t" aria-describedby="{escape(chart_id)}-d" '
        f'xmlns="http://www.w3.org/2000/svg" {FONT}>'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title><desc id="{escape(chart_id)}-d">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")  # every interpolated text is escaped above and below


def _text(
    x: float, y: float, text: str, *, size: int = 12, anchor: str = "start", color: str = INK, bold: bool = False
) -> str:
    weight = ' font-weight="700"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{color}"{weight}>'
        f"{escape(text)}</text>"
    )


def _rect(x: float, y: float, w: float, h: float, color: str, tip: str = "") -> str:
    title = f"<title>{escape(tip)}</title>" if tip else ""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{color}">{title}</rect>'
    )


def legend(items: Sequence[tuple[str, str]], y: float, x: float = 0) -> list[str]:
    """Colour swatches and labels in a row."""
    out = []
    for label, color in items:
        out.append(_rect(x, y - 10, 12, 12, color))
        out.append(_text(x + 17, y, label, size=12))
        x += 30 + 7 * len(label)
    return out


def grouped_bars(
    chart_id: str, title: str, desc: str, categories: Sequence[str], series: Sequence[Series], *, unit: str = ""
) -> Markup:
    """Vertical bars per category (e.g. per hour), one bar per series side by side."""
    top, bottom, left, right = 34, 30, 40, 8
    plot_h = 200
    height = top + plot_h + bottom
    peak = max((v for s in series for v in s.values), default=0)
    axis_max, step = nice_max(peak)
    body = legend([(s.label, s.color) for s in series], 16)
    plot_w = WIDTH - left - right
    tick = 0.0
    while tick <= axis_max + 1e-9:
        y = top + plot_h - plot_h * tick / axis_max
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, _num(tick), size=11, anchor="end", color=MUTED))
        tick += step
    slot = plot_w / max(len(categories), 1)
    bar_w = slot * 0.8 / max(len(series), 1)
    for i, category in enumerate(categories):
        x0 = left + i * slot + slot * 0.1
        for j, s in enumerate(series):
            value = s.values[i]
            h = plot_h * value / axis_max
            tip = f"{category}: {s.label} {_num(value)}{unit}"
            body.append(_rect(x0 + j * bar_w, top + plot_h - h, bar_w - 1, h, s.color, tip))
        body.append(_text(left + i * slot + slot / 2, top + plot_h + 16, category, size=11, anchor="middle"))
    body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{MUTED}"/>')
    return _svg(chart_id, height, title, desc, body)


def stacked_bars(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    segments: Sequence[tuple[str, str]],
) -> Markup:
    """Horizontal bars, one per row, split into coloured segments (label, colour); the total at the end."""
    label_w, row_h, top = 150, 30, 34
    bar_max = WIDTH - label_w - 50
    height = top + row_h * max(len(rows), 1) + 8
    peak = max((sum(values) for _, values in rows), default=0) or 1
    body = legend(segments, 16)
    for i, (label, values) in enumerate(rows):
        y = top + i * row_h
        body.append(_text(label_w - 8, y + 18, fit(label, label_w - 12), anchor="end"))
        x = float(label_w)
        for (name, color), value in zip(segments, values, strict=True):
            w = bar_max * value / peak
            body.append(_rect(x, y + 4, w, row_h - 10, color, f"{label}: {name} {_num(value)}"))
            x += w
        body.append(_text(x + 6, y + 18, _num(sum(values)), bold=True))
    return _svg(chart_id, height, title, desc, body)


def spread_bars(chart_id: str, title: str, desc: str, rows: Sequence[Spread], *, unit: str = "mnt") -> Markup:
    """Percentile bars: a light bar to p90, a dark bar to the median, a tick at the maximum."""
    label_w, row_h, top, right = 170, 28, 40, 118
    bar_max = WIDTH - label_w - right
    height = top + row_h * max(len(rows), 1) + 24
    peak = max((r.max or 0 for r in rows), default=0)
    axis_max, step = nice_max(peak)
    body = legend([("median", TEAL), ("p90", TEAL_LIGHT), ("maks / max", INK)], 16)
    bottom = top + row_h * len(rows)
    tick = 0.0
    while tick <= axis_max + 1e-9:
        x = label_w + bar_max * tick / axis_max
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{bottom}" stroke="{GRID}"/>')
        body.append(_text(x, bottom + 14, _num(tick), size=11, anchor="middle", color=MUTED))
        tick += step
    for i, row in enumerate(rows):
        y = top + i * row_h
        if row.group:
            body.append(_text(8, y + 18, row.label, bold=True, color=MUTED))
            continue
        body.append(_text(label_w - 8, y + 17, fit(row.label, label_w - 12), anchor="end"))
        if row.median is None or row.p90 is None or row.max is None:
            body.append(_text(label_w + 4, y + 17, "—", color=MUTED))
            continue
        scale = bar_max / axis_max
        tip = (
            f"{row.label}: median {_num(row.median)}, p90 {_num(row.p90)}, maks {_num(row.max)} {unit} (n={row.count})"
        )
        body.append(_rect(label_w, y + 5, row.p90 * scale, row_h - 12, TEAL_LIGHT, tip))
        body.append(_rect(label_w, y + 5, row.median * scale, row_h - 12, TEAL, tip))
        mx = label_w + row.max * scale
        body.append(
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{y + 3}" y2="{y + row_h - 5}" stroke="{INK}" stroke-width="2"/>'
        )
        summary = f"{_num(row.median)} · {_num(row.p90)} · {_num(row.max)}"
        body.append(_text(WIDTH - right + 8, y + 17, summary, size=11, color=MUTED))
    body.append(_text(WIDTH - 4, top - 8, f"median · p90 · maks ({unit})", size=10, anchor="end", color=MUTED))
    return _svg(chart_id, height, title, desc, body)


def meters(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, float | None, str]],
    *,
    color: str = GREEN,
    band: tuple[float, float] | None = None,
    band_label: str = "",
) -> Markup:
    """Horizontal 0-100% bars (label, share or None, text after the bar); ``band`` shades a target range."""
    label_w, row_h, top, right = 170, 28, 34 if band else 12, 110
    bar_max = WIDTH - label_w - right
    bottom = top + row_h * max(len(rows), 1)
    height = bottom + 22
    body: list[str] = []
    for pct in (0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + bar_max * pct
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{bottom}" stroke="{GRID}"/>')
        body.append(_text(x, bottom + 14, f"{pct:.0%}", size=11, anchor="middle", color=MUTED))
    for i, (label, _, _) in enumerate(rows):
        y = top + i * row_h
        body.append(_text(label_w - 8, y + 17, fit(label, label_w - 12), anchor="end"))
        body.append(_rect(label_w, y + 5, bar_max, row_h - 12, TRACK))
    if band is not None:  # over the tracks, under the bars; its edges dashed on top
        x0, x1 = label_w + bar_max * band[0], label_w + bar_max * band[1]
        body.append(_rect(x0, top - 4, x1 - x0, bottom - top + 4, BAND, band_label))
        body += legend([(band_label, BAND)], 16)
    for i, (label, share, note) in enumerate(rows):
        y = top + i * row_h
        if share is not None:
            tip = f"{label}: {share:.1%}"
            body.append(_rect(label_w, y + 5, bar_max * min(max(share, 0.0), 1.0), row_h - 12, color, tip))
        body.append(_text(WIDTH - right + 8, y + 17, note, size=12, bold=share is not None))
    if band is not None:
        for x in (x0, x1):
            body.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{bottom}" stroke="{BAND_EDGE}" '
                'stroke-width="1.5" stroke-dasharray="4 3"/>'
            )
    return _svg(chart_id, height, title, desc, body)
