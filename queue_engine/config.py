"""Facility configuration from TOML (see ``demo/puskesmas.toml`` for a complete example)."""

from __future__ import annotations

import importlib
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from .domain.ids import CounterId, FacilityId, ServiceCode
from .domain.model import Counter, Display, Facility, Policy, Quota, Service, Window
from .domain.modules import Module

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class ConfigError(ValueError):
    """The facility file is not valid; the message says where."""


#: the bundled demos, by the name ``demo:<name>`` gives them
DEMOS = ("puskesmas", "kelurahan")


def demo_path(name: str = "puskesmas") -> Path:
    """A bundled demo: the puskesmas (default), or the kelurahan office with e-Lampid."""
    if name not in DEMOS:
        raise ConfigError(f"no demo called {name!r}; there are {', '.join(DEMOS)}")
    return Path(str(resources.files("queue_engine") / "demo" / f"{name}.toml"))


def facility_file(path: str | Path | None) -> Path:
    """The facility file a setting names: a path, ``demo:<name>``, or None for the demo puskesmas."""
    if path is None:
        return demo_path()
    text = str(path)
    if text.startswith("demo:"):
        return demo_path(text.removeprefix("demo:"))
    return Path(path)


def is_demo(path: str | Path | None) -> bool:
    return path is None or str(path).startswith("demo:")


def load_facility(path: str | Path | None = None) -> Facility:
    """Read a facility from a TOML file (``demo:<name>`` for a bundled demo; the puskesmas when None)."""
    file = facility_file(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{file}: {exc}") from None
    return parse_facility(data, source=str(file))


def parse_facility(data: dict[str, Any], *, source: str = "<config>") -> Facility:
    """Build a :class:`Facility` from parsed TOML data."""
    try:
        head = data["facility"]
        services = [_service(s) for s in data.get("services", [])]
        counters = [_counter(c) for c in data.get("counters", [])]
        displays = tuple(
            Display(id=d["id"], name=d["name"], services=tuple(ServiceCode(s) for s in d.get("services", ())))
            for d in data.get("displays", [])
        )
        policy = _policy(data.get("policy", {}))
        modules = tuple(_module(m) for m in data.get("modules", []))
        return Facility(
            id=FacilityId(head["id"]),
            name=head["name"],
            timezone=head.get("timezone", "Asia/Jakarta"),
            services={s.code: s for s in services},
            counters={c.id: c for c in counters},
            displays=displays,
            policy=policy,
            modules=modules,
        )
    except KeyError as exc:
        raise ConfigError(f"{source}: missing key {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _module(raw: dict[str, Any]) -> Module:
    """A ``[[modules]]`` entry: ``use = "elampid"`` (the package ``modules.elampid``, its ``MODULE``)
    or ``use = "package.path:factory"``; every other key is an option passed to the factory."""
    options = dict(raw)
    use = options.pop("use")
    if not isinstance(use, str) or not use:
        raise ValueError("a module's 'use' must name it")
    path, _, attribute = use.partition(":") if ":" in use else (f"modules.{use}", ":", "MODULE")
    try:
        target = getattr(importlib.import_module(path), attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"module {use!r} cannot be loaded: {exc}") from None
    module: Module = target(**options) if callable(target) else target
    if options and not callable(target):
        raise ValueError(f"module {use!r} takes no options")
    return module


def _service(raw: dict[str, Any]) -> Service:
    prefix = raw["prefix"]
    if not (isinstance(prefix, str) and len(prefix) == 1 and prefix.isalpha() and prefix.isupper()):
        raise ValueError(f"service {raw.get('code')}: prefix must be one capital letter")
    quota = raw.get("quota", {})
    return Service(
        code=ServiceCode(raw["code"]),
        name=raw["name"],
        prefix=prefix,
        quota=Quota(total=quota.get("total"), jkn=quota.get("jkn"), non_jkn=quota.get("non_jkn")),
        hours=parse_hours(raw.get("hours", {})),
        next_stages=tuple(ServiceCode(s) for s in raw.get("next_stages", ())),
        service_min=float(raw.get("service_min", 5.0)),
    )


def _counter(raw: dict[str, Any]) -> Counter:
    services = tuple(ServiceCode(s) for s in raw["services"])
    if not services:
        raise ValueError(f"counter {raw['id']}: serves no service")
    return Counter(id=CounterId(raw["id"]), name=raw["name"], services=services, kind=raw.get("kind", "loket"))


def _policy(raw: dict[str, Any]) -> Policy:
    default = Policy()
    ratio = raw.get("priority_ratio", default.priority_ratio)
    return Policy(
        priority_ratio=(int(ratio[0]), int(ratio[1])),
        checkin_grace_min=int(raw.get("checkin_grace_min", default.checkin_grace_min)),
        requeue_places=int(raw.get("requeue_places", default.requeue_places)),
        undo_window_s=int(raw.get("undo_window_s", default.undo_window_s)),
        eta_alpha=float(raw.get("eta_alpha", default.eta_alpha)),
        eta_coverage=float(raw.get("eta_coverage", default.eta_coverage)),
    )


def parse_hours(raw: dict[str, str]) -> dict[int, tuple[Window, ...]]:
    """``{"mon-thu": "07:30-12:00, 13:00-15:00", "sat": "08:00-11:00"}`` -> weekday windows."""
    hours: dict[int, list[Window]] = {}
    for days, spans in raw.items():
        first, _, last = days.lower().partition("-")
        start_day, end_day = DAYS.index(first), DAYS.index(last or first)
        windows = [_window(span.strip()) for span in spans.split(",")]
        for day in range(start_day, end_day + 1):
            hours.setdefault(day, []).extend(windows)
    return {day: tuple(sorted(ws)) for day, ws in hours.items()}


def _window(span: str) -> Window:
    match = _RANGE.match(span)
    if match is None:
        raise ValueError(f"bad opening hours {span!r}, expected HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not 0 <= start < end <= 24 * 60:
        raise ValueError(f"bad opening hours {span!r}")
    return (start, end)
