"""Configuration stays true: every variable is documented, production refuses to start unsafely."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _settings_vars() -> set[str]:
    text = (ROOT / "ipwboard" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', text))


def _example_vars() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


def test_every_setting_is_in_env_example() -> None:
    missing = _settings_vars() - _example_vars()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_every_setting_is_in_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = {name for name in _settings_vars() if f"`{name}`" not in readme}
    assert not missing, f"add to the README's configuration table: {sorted(missing)}"


def test_compose_is_wired_by_the_same_variables() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "postgres", "redis", "minio"} <= set(services)
    for name in ("postgres", "redis", "minio", "web"):
        assert "healthcheck" in services[name], f"{name} needs a healthcheck"
    app_env = set(services["web"]["environment"])
    assert app_env <= _example_vars() | {"POSTGRES_PASSWORD"}
    assert services["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    worker_cmd = services["worker"]["command"]
    assert "celery -A ipwboard worker" in worker_cmd


def _django_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "IPWBOARD_"))}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secret_key() -> None:
    result = _django_check(
        {"IPWBOARD_ENV": "production", "DATABASE_URL": "postgres://x@127.0.0.1/x"}
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production" in result.stderr


def test_production_settings_pass_check_deploy() -> None:
    result = _django_check(
        {
            "IPWBOARD_ENV": "production",
            "DJANGO_SECRET_KEY": "x" * 64 + "-a-long-random-production-secret-Q7",
            "DATABASE_URL": "postgres://x@127.0.0.1/x",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "DJANGO_ALLOWED_HOSTS": "ipwboard.example.org",
        }
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_board_version_is_shared_between_processes(tmp_path: Path) -> None:
    """In the embedded run the worker (one process) bumps the board version and the web server
    (another) must see it, or a newly scored submission never shows on the cached pages."""
    env = {
        **os.environ,
        "IPWBOARD_ENV": "embedded",
        "IPWBOARD_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "ipwboard.settings",
    }
    script = (
        "import sys, django; django.setup();"
        "from ipwboard.board import receivers;"
        "sys.argv[1] == 'bump' and receivers.bump();"
        "print(receivers.board_version())"
    )

    def run(action: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", script, action],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return int(done.stdout.strip().splitlines()[-1])

    before = run("read")
    assert run("read") == before  # one counter for every process, not one per process
    assert run("bump") == before + 1
    assert run("read") == before + 1
