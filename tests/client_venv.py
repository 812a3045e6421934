"""A fresh virtual environment with the client alone: ``pip install ipwboard`` from a wheel built
out of this checkout (no Django). Built once per test session, shared by the tests that use it.

The wheel is built with build isolation (pip fetches setuptools>=77 as pyproject.toml asks) and
installed with its dependencies from the package index, as a submitter would; no system site
packages, so nothing of the server can leak in.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import REPO_ROOT

SERVER_PACKAGES = ("django", "rest_framework", "celery", "psycopg", "boto3", "gunicorn", "grpc")


@dataclass(frozen=True)
class ClientVenv:
    root: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a submitter's shell would have: this venv first on PATH, nothing of
        the test process's Django settings."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_", "IPWBOARD_", "PYTHON")) and k != "VIRTUAL_ENV"
        }
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(self.root))
        env.update(extra)
        return env


def _run(argv: list[str], cwd: Path | None = None) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def client_venv(base: Path) -> ClientVenv:
    """Build (or reuse, within the session's temp dir) the wheel and the client-only venv."""
    root, dist = base / "venv", base / "dist"
    marker = root / ".ready"
    if not marker.exists():
        dist.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
        _run([*pip, "wheel", str(REPO_ROOT), "--no-deps", "-q", "-w", str(dist)])
        venv.EnvBuilder(with_pip=True, clear=True).create(root)
        wheel = next(dist.glob("ipwboard-*.whl"))
        _run([str(root / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)])
        marker.write_text(wheel.name)
    return ClientVenv(root, dist / marker.read_text().strip())


@pytest.fixture(scope="session")
def client_only(tmp_path_factory: pytest.TempPathFactory) -> ClientVenv:
    # Session-wide directory: two modules importing this fixture share one build.
    return client_venv(tmp_path_factory.getbasetemp() / "client-venv")
