"""Enabling modules in the facility file: ``[[modules]] use = …`` with options."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from queue_engine.config import ConfigError, parse_facility

from .domain.test_modules import Guestbook

BASE = """
[facility]
id = "pkm-test"
name = "Puskesmas Uji"
[[services]]
code = "A"
name = "Loket"
prefix = "A"
"""


class Configurable(Guestbook):
    """A module factory taking options from its ``[[modules]]`` table."""

    def __init__(self, title: str = "") -> None:
        self.title = title


def facility_with(modules: str) -> Any:
    return parse_facility(tomllib.loads(BASE + modules))


def test_a_module_is_enabled_by_reference_with_its_options() -> None:
    plain = facility_with('[[modules]]\nuse = "tests.domain.test_modules:Guestbook"\n')
    assert [type(m).__name__ for m in plain.modules] == ["Guestbook"]
    facility = facility_with('[[modules]]\nuse = "tests.test_config_modules:Configurable"\ntitle = "Buku tamu"\n')
    (module,) = facility.modules
    assert isinstance(module, Configurable) and module.title == "Buku tamu"


@pytest.mark.parametrize(
    "entry, error",
    [
        ('use = "nosuchmodule"', "cannot be loaded"),
        ('use = "tests.domain.test_modules:Nothing"', "cannot be loaded"),
        ('use = ""', "must name it"),
        ('use = "tests.domain.test_modules:Guestbook"\ncolour = "blue"', "takes no arguments"),
    ],
)
def test_a_module_that_cannot_be_loaded_is_a_configuration_error(entry: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        facility_with(f"[[modules]]\n{entry}\n")


def test_the_same_module_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match="unique"):
        facility_with('[[modules]]\nuse = "tests.domain.test_modules:Guestbook"\n' * 2)


def test_e_lampid_is_enabled_by_its_short_name() -> None:
    from modules.elampid import ElampidModule

    (module,) = facility_with('[[modules]]\nuse = "elampid"\n').modules
    assert isinstance(module, ElampidModule) and module.name == "elampid"
