"""The import directions of ../shared/DESIGN.md and the size of modules, read off the sources."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The folders of each package (agents/ and envs/ install as rlbox.agents and rlbox.envs).
PACKAGES = {
    "rlbox.agents": ROOT / "agents",
    "rlbox.envs": ROOT / "envs",
    "rlbox.nn": ROOT / "rlbox" / "nn",
    "rlbox.report": ROOT / "rlbox" / "report",
    "rlbox.config": ROOT / "rlbox" / "config",
    "rlbox.run": ROOT / "rlbox" / "run",
}
IMPORT = re.compile(r"^\s*(?:from|import)\s+(rlbox(?:\.\w+)*)", re.M)

# (package, the rlbox modules it must never import, why)
FORBIDDEN = [
    ("rlbox.agents", ("rlbox.run", "rlbox.grid", "rlbox.report", "rlbox.cli"),
     "agents are driven by the runner, never the other way round"),
    ("rlbox.envs", ("rlbox.config", "rlbox.nn", "rlbox.agents", "rlbox.run"),
     "envs know only envs.base and errors"),
    ("rlbox.nn", ("rlbox.envs", "rlbox.agents", "rlbox.run", "rlbox.config"),
     "backbones see observation spaces, not envs or agents"),
    ("rlbox.report", ("rlbox.run.runner", "rlbox.run.build", "rlbox.grid", "rlbox.agents"),
     "reports read run directories through rlbox.run.rundir only"),
    ("rlbox.config", ("rlbox.run", "rlbox.grid", "rlbox.agents", "rlbox.envs"),
     "configs are plain data"),
]  # fmt: skip


def imports_of(package: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(ROOT)): set(IMPORT.findall(path.read_text()))
        for path in sorted(PACKAGES[package].rglob("*.py"))
    }


@pytest.mark.parametrize(("package", "forbidden", "why"), FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_import_directions(package, forbidden, why):
    found = {
        (path, module)
        for path, modules in imports_of(package).items()
        for module in modules
        if module.startswith(forbidden) and not module.startswith(package)
    }
    assert not found, f"{why}: {sorted(found)}"


def test_reports_read_runs_only_through_rundir():
    run_modules = {m for ms in imports_of("rlbox.report").values() for m in ms if "rlbox.run" in m}
    assert run_modules <= {"rlbox.run.rundir"}


def test_the_checker_sees_imports():
    modules = imports_of("rlbox.run")["rlbox/run/runner.py"]
    assert "rlbox.run.rundir" in modules and "rlbox.config.experiment" in modules


def test_no_module_is_over_about_400_lines():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for folder in ("rlbox", "agents", "envs")
        for path in (ROOT / folder).rglob("*.py")
    }
    assert not {path: n for path, n in sizes.items() if n > 450}
