"""The board's look: WCAG AA contrast for every text colour on its background, sizes that follow the screen."""

from __future__ import annotations

import re

import pytest

from display_board.routes import STATIC

CSS = (STATIC / "board.css").read_text(encoding="utf-8")
VARS: dict[str, str] = dict(re.findall(r"--([a-z0-9-]+):\s*(#[0-9a-f]{6})", CSS))


def luminance(colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def colour(name: str) -> str:
    return VARS.get(name, name)


@pytest.mark.parametrize(
    ("text", "background"),
    [
        ("text", "bg"),
        ("text", "panel"),
        ("text", "panel-2"),
        ("muted", "panel"),
        ("muted", "panel-2"),
        ("muted", "bg"),
        ("accent", "panel"),
        ("accent", "panel-2"),
        ("text", "hero"),
        ("text", "hero-deep"),
        ("flash-text", "flash"),
        ("#ffffff", "open"),
        ("flash-text", "paused"),
        ("#ffffff", "closed"),
        ("#ffffff", "danger"),
        ("hero-deep", "#ffffff"),
        ("bg", "#ffffff"),
    ],
)
def test_text_colours_meet_wcag_aa(text: str, background: str) -> None:
    """Every pair the board uses has a contrast of at least 4.5:1 (AA for normal text)."""
    assert contrast(colour(text), colour(background)) >= 4.5


def test_sizes_follow_the_screen() -> None:
    """One root size from the viewport (clamped), everything else in rem: 1080p and 720p look alike."""
    assert re.search(r"font-size:\s*clamp\([^;]*vw[^;]*\)", CSS)
    assert not re.search(r"font-size:\s*\d+px", CSS)


def test_no_external_resources() -> None:
    """Works offline on a TV stick: no web fonts, CDNs or remote images."""
    for name in ("board.css", "board.js"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "@import" not in text
