"""What a benchmark reports about the machine it ran on, and how busy that machine was."""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libs": ", ".join(f"{name} {version(name)}" for name in ("sortedcontainers", "orjson")),
    }


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


class CpuWatch:
    """How much CPU *other* processes took while we ran (they make the figures noisy).

    /proc/stat busy time (user, nice, system, irq, softirq, steal) minus our own CPU time,
    as a share of all cores over the wall time. None where /proc/stat is missing.
    """

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        except OSError:
            return None
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
        busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
        mine = os.times()
        return busy, mine.user + mine.system, time.monotonic()

    def others_pct(self) -> float | None:
        end = self._sample()
        if self.start is None or end is None:
            return None
        busy, mine, wall = (b - a for a, b in zip(self.start, end, strict=True))
        return round(100 * max(0.0, busy - mine) / (wall * (os.cpu_count() or 1)), 1)


def tmp_fs(path: Path) -> str:
    """The filesystem type under ``path`` (from /proc/mounts), to tell a real fsync from tmpfs."""
    best, fstype = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _dev, mount, kind, *_ = line.split()
            if str(path.resolve()).startswith(mount) and len(mount) > len(best):
                best, fstype = mount, kind
    except OSError:
        pass
    return fstype


def report_fields(info: dict[str, Any], others_cpu_pct: float | None, seconds: float) -> dict[str, Any]:
    """The machine and run fields every benchmark's last JSON line ends with."""
    return {
        "python": info["python"],
        "machine": f"{info['cpu']}, {info['cores']} cores, {info['platform']}",
        "cpu": info["cpu"],
        "cores": info["cores"],
        "platform": info["platform"],
        "others_cpu_pct": others_cpu_pct,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "seconds": round(seconds, 1),
    }
