"""The README's path from sign-up to a ranked row, followed literally.

Sign-up and the token come from the web pages the README names (sign-up page, account page);
then the README's code block runs line by line in a shell whose ``pip``/``ipwboard`` are a fresh
client-only virtual environment, against ``live_server`` and a real Celery worker. Only what a
reader must substitute is substituted: the server URL, the token and the run directory (and
``pip install ipwboard`` installs the wheel built from this checkout).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from submissions import services
from submissions.cli import outcomes
from submissions.models import Submission
from tests.client_venv import (
    ClientVenv,
    client_only,  # noqa: F401 - the session's client-only venv
)
from tests.conftest import HARNESS_RUN, ROOT, Persona

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### From sign-up to a ranked row", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "no ```sh block under 'From sign-up to a ranked row'"
    return [line for line in block.group(1).splitlines() if line.strip()]


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def sign_up_and_get_token(server: str) -> str:
    """README step 1: the sign-up page, then a 'submit' token on the account page."""
    with httpx.Client(base_url=server, follow_redirects=True) as browser:
        login = browser.get("/accounts/login/")
        assert "/account/signup/" in login.text  # the login page links to the sign-up page
        form = browser.get("/account/signup/")
        password = "a sturdy test passphrase 42"
        account = browser.post(
            "/account/signup/",
            data={
                "csrfmiddlewaretoken": _csrf(form),
                "username": "newcomer",
                "email": "newcomer@example.org",
                "password1": password,
                "password2": password,
            },
        )
        assert account.url.path == "/account/", account.text[:2000]
        created = browser.post(
            "/account/tokens/",
            data={"csrfmiddlewaretoken": _csrf(account), "name": "gpu box", "scope": "submit"},
        )
        secret = re.search(r"<code data-token-secret>([^<]+)</code>", created.text)
        assert secret is not None, created.text[:2000]
        return secret.group(1)


def test_the_readme_path_from_sign_up_to_a_ranked_row(
    worker: Any,
    live_server: Any,
    client_only: ClientVenv,  # noqa: F811
    mixed_version: Any,
    staff: Persona,
    tmp_path: Path,
) -> None:
    token = sign_up_and_get_token(live_server.url)
    substitutions = {
        "pip install ipwboard": f"pip install -q {client_only.wheel}",
        "https://board.example": live_server.url,
        "ipwb_...": token,
        "runs/profile_X": str(HARNESS_RUN),
    }
    script = []
    commands = readme_commands()
    assert commands[-1].startswith("ipwboard submit --from-ipw-run"), commands
    for index, line in enumerate(commands):
        for placeholder, value in substitutions.items():
            line = line.replace(placeholder, value)
        script += [line, f'echo "__rc__ {index} $?"']
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        env=client_only.env(IPWBOARD_CONFIG_DIR=str(tmp_path / "config"), HOME=str(tmp_path)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    codes = dict(re.findall(r"^__rc__ (\d+) (\d+)$", done.stdout, re.M))
    log = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert len(codes) == len(commands), log
    assert all(codes[str(i)] == "0" for i in range(len(commands) - 1)), log

    # The harness's sample run echoes the references (a stand-in server): held, with the reason.
    submitted = int(codes[str(len(commands) - 1)])
    submission = Submission.objects.get(owner__username="newcomer")
    if submitted == outcomes.HELD:
        assert "Held for review" in done.stdout and "responses.copy_reference" in done.stdout, log
        services.moderate_submission(submission, staff.user, "approve")
    else:
        assert submitted == outcomes.ON_BOARD, log

    # Ranked: the board lists it, and its pair's permalink answers.
    status = subprocess.run(
        ["ipwboard", "status", str(submission.pk)],
        env=client_only.env(IPWBOARD_CONFIG_DIR=str(tmp_path / "config")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == outcomes.ON_BOARD, status.stdout + status.stderr
    pair_url = status.stdout.strip().splitlines()[-1].strip()
    assert "/pairs/" in pair_url and httpx.get(pair_url).status_code == 200
    board = httpx.get(f"{live_server.url}/api/v1/leaderboard/").json()
    assert [str(row["submission"]) for row in board] == [str(submission.pk)], board
