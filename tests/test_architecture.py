"""The cut between the apps (design guide section 2), enforced on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(package: Path) -> set[tuple[str, str]]:
    found = set()
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("evaluator", ("django", "rest_framework", "celery", "submissions", "ipwboard")),
        ("submissions/cli", ("django", "rest_framework", "celery", "ipwboard")),
        ("submissions", ("ipwboard",)),
    ],
)
def test_imports_flow_one_way(package: str, forbidden: tuple[str, ...]) -> None:
    bad = sorted(
        f"{path} imports {module}"
        for path, module in _imports(ROOT / package)
        if module.split(".")[0] in forbidden
    )
    assert not bad, "\n".join(bad)


def test_modules_stay_small() -> None:
    too_big = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for top in ("evaluator", "submissions", "ipwboard")
        for path in (ROOT / top).rglob("*.py")
        if "migrations" not in path.parts and (n := len(path.read_text().splitlines())) > 500
    ]
    assert not too_big, too_big


def test_services_send_tasks_by_name_from_one_module() -> None:
    """Services never import the task layer: ``submissions/services/queue.py`` sends by name."""
    offenders = []
    for path in (ROOT / "submissions" / "services").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                relative_tasks = node.level > 0 and module.split(".")[-1] == "tasks"
                if relative_tasks or module in ("submissions.tasks", "celery"):
                    offenders.append(f"{path.relative_to(ROOT)} imports {'.' * node.level}{module}")
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") in (
                "delay",
                "apply_async",
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} calls .{node.func.attr}")
    allowed = {"submissions/services/queue.py imports celery"}
    assert set(offenders) <= allowed, offenders
