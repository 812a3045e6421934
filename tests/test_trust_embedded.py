"""Issue 12, finding 11: the embedded run (``make run``) keeps Django's debug pages off unless
asked for. The web server is started exactly as ``scripts/run`` configures it (``embedded_env``
in ``scripts/lib.sh``); a 404 must not be the technical page listing every URL pattern."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.services import REPO_ROOT, free_port, run_process, wait_for_port

pytestmark = pytest.mark.services

TECHNICAL = ("Using the URLconf defined in", "DEBUG = True", "technical_404")


def _embedded_404(tmp_path: Path, **extra: str) -> tuple[httpx.Response, httpx.Response]:
    port = free_port()
    # Nothing of the test profile leaks in: the embedded defaults are what is under test.
    env: dict[str, str | None] = {
        k: None
        for k in os.environ
        if k.startswith(("DJANGO_", "IPWBOARD_")) or k in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {"CELERY_BROKER_URL": None, "IPWBOARD_DATA_DIR": str(tmp_path / "var"), **extra}
    script = (
        f'. scripts/lib.sh && embedded_env && exec "$IPW_PY" manage.py runserver '
        f"127.0.0.1:{port} --noreload"
    )
    with run_process(["bash", "-c", script], env, tmp_path / "web.log", cwd=REPO_ROOT) as proc:
        wait_for_port("127.0.0.1", port, timeout=60, proc=proc)
        base = f"http://127.0.0.1:{port}"
        return httpx.get(base + "/no-such-page/"), httpx.get(base + "/api/v1/no-such-thing/")


def test_embedded_run_404_is_not_the_technical_page(tmp_path: Path) -> None:
    page, api = _embedded_404(tmp_path)
    assert page.status_code == 404
    shown = [marker for marker in TECHNICAL if marker in page.text]
    assert not shown, f"Django's debug 404 page in the embedded run: {shown}"
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_debug_is_there_when_asked_for(tmp_path: Path) -> None:
    """DJANGO_DEBUG=1 still turns it on (and shows the markers above are the right ones)."""
    page, _ = _embedded_404(tmp_path, DJANGO_DEBUG="1")
    assert page.status_code == 404
    assert "Using the URLconf defined in" in page.text
