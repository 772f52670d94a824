"""Browser tests' fixtures: one headless Chromium per module, and servers stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.board.support import LiveServer

from .test_flow import ARGS, CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def servers() -> Iterator[list[LiveServer]]:
    """Servers the test starts; any still running at the end is stopped."""
    started: list[LiveServer] = []
    yield started
    for server in started:
        server.stop()
