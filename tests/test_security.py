"""Security, across the whole site: headers, production settings, CSRF on every form, hostile text
escaped in every output (pages, chart JSON, badges, CSV), secrets never logged or stored in clear.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from evaluator.bundle import pack_bundle, sign_bundle
from ipwboard.board.pairs import PairKey
from submissions import demo, services
from submissions.models import Submission
from tests.conftest import ROOT, Persona, Signer, upload

SCRIPT = '<script>alert("x")</script>'
DDE = "=cmd|' /C calc'!A0"
HOSTILE_MODEL = f"demo/{SCRIPT}"
HOSTILE_SYSTEM = f"{SCRIPT} {DDE}"
HOSTILE_RESPONSES = (f"{SCRIPT} The answer is B", f"{DDE} B", "@SUM(1+1) </textarea><svg onload=x>")


# --- a board holding a submission made of hostile text ------------------------------------------


def _hostile_bundle(path: Path, version: Any, signer: Signer) -> Path:
    manifest, queries, trace = demo.synth_run(
        services.engine_dataset(version),
        demo.find_model("demo/heron-8b"),
        demo.find_hardware("Demo Workstation GPU"),
        run_date="2025-06-01",
        seed=4242,
    )
    manifest["model"]["id"] = HOSTILE_MODEL
    manifest["model"]["engine"] = DDE
    manifest["system"] = {"os": HOSTILE_SYSTEM, "note": SCRIPT}
    responses = queries.column("response").to_pylist()
    responses[: len(HOSTILE_RESPONSES)] = HOSTILE_RESPONSES
    queries = queries.set_column(queries.column_names.index("response"), "response", [responses])
    pack_bundle(path, manifest, queries, trace)
    sign_bundle(path, signer.key)
    return path


@pytest.fixture
def hostile(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any, tmp_path: Path
) -> Submission:
    response = upload(alice, _hostile_bundle(tmp_path / "hostile.ipwb", demo_version, alice_key))
    assert response.status_code == 201, response.content
    services.process_submission(response.json()["id"])
    # A second, ordinary row so compare/trend pages have two series.
    other = upload(alice, make_bundle(demo_version, alice_key, model="demo/sparrow-3b")).json()
    services.process_submission(other["id"])
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.status == Submission.Status.SCORED, submission.report
    for held in Submission.objects.filter(pk__in=[submission.pk, other["id"]]):
        held.review = Submission.Review.NONE  # released, as staff would: a save (the board's
        held.save(update_fields=["review"])  # read model follows saves, not raw updates)
    submission.refresh_from_db()
    return submission


def _public_urls(submission: Submission) -> list[str]:
    key = PairKey.of(submission)
    other = Submission.objects.exclude(pk=submission.pk).get()
    return [
        "/",
        key.url(),
        key.badge_url(),
        f"/compare/?pairs={key.token},{PairKey.of(other).token}",
        "/trends/",
        f"/models/{key.model}/",
        f"/hardware/{key.hardware}/",
        f"/submissions/{submission.pk}/",
        "/methodology/",
        "/data/",
        "/api/v1/leaderboard/",
        f"/api/v1/submissions/{submission.pk}/",
        "/accounts/login/",
        "/account/signup/",
    ]


def test_untrusted_text_is_escaped_in_every_output(hostile: Submission, anonymous: Persona) -> None:
    for url in _public_urls(hostile):
        response = anonymous.client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode()
        if response["Content-Type"].startswith("application/json"):
            # JSON carries the text as data; nosniff keeps a browser from rendering it as HTML.
            assert response["X-Content-Type-Options"] == "nosniff"
            json.loads(text)
            continue
        assert "<script>alert" not in text, url
        assert "<svg onload" not in text and "</textarea><svg" not in text, url
        # Chart data blocks are JSON the browser never executes; nothing in them may close the
        # block or open a tag.
        for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', text, re.S):
            assert "<" not in block and ">" not in block, url
            json.loads(block)
    # The pair page shows the hostile responses and system description, escaped.
    pair = anonymous.client.get(PairKey.of(hostile).url()).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in pair
    # The badge is SVG: XML-escaped, no script element, no event handler.
    badge = anonymous.client.get(PairKey.of(hostile).badge_url())
    assert badge["Content-Type"].startswith("image/svg+xml")
    assert "<script" not in badge.content.decode() and "onload" not in badge.content.decode()


def test_csv_exports_defuse_formulas(hostile: Submission, anonymous: Persona) -> None:
    from ipwboard.board import exports

    exports.regenerate_exports()
    response = anonymous.client.get("/data/exports/board.csv")
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert rows
    for row in rows:
        for value in row.values():
            # No text cell may start a spreadsheet formula (numbers like -1.5 are numbers).
            if value and value[0] in "=+-@\t\r":
                float(value)  # raises for a text cell: a formula would run
    hostile_row = next(r for r in rows if r["submission_id"] == str(hostile.pk))
    assert hostile_row["model"] == HOSTILE_MODEL  # kept, and harmless in a spreadsheet
    assert DDE not in {v for v in hostile_row.values()}


# --- headers ------------------------------------------------------------------------------------


def test_pages_send_security_headers(hostile: Submission, anonymous: Persona) -> None:
    for url in _public_urls(hostile):
        response = anonymous.client.get(url)
        csp = response.headers.get("Content-Security-Policy", "")
        directives = dict(
            [*part.strip().split(" ", 1), ""][:2] for part in csp.split(";") if part.strip()
        )
        # No inline script, no eval: script-src (or its fallback, default-src) is 'self' or
        # 'none' (badges are SVG served with default-src 'none').
        script_src = directives.get("script-src", directives.get("default-src"))
        assert script_src in ("'self'", "'none'"), (url, csp)
        if "default-src" in directives and directives["default-src"] != "'none'":
            assert directives.get("object-src") == "'none'" and "frame-ancestors" in directives
        assert response.headers["X-Frame-Options"] == "DENY", url
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.inline.append(str(attrs))
        self.handlers += [f"{tag} {k}" for k, _ in attrs if k.startswith("on")]
        self.handlers += [f"{tag} {k}" for k, v in attrs if (v or "").startswith("javascript:")]


TEMPLATES = sorted(
    path
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/**/templates/**/*.html")]
    if ".venv" not in path.parts
)
# Templates known to break the CSP (none now: account/settings.html's confirm() moved to
# static/js/account.js). Strict: a fix is noticed.
KNOWN_INLINE: set[str] = set()


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            path,
            marks=pytest.mark.xfail(
                str(path.relative_to(ROOT)) in KNOWN_INLINE, reason="inline onclick", strict=True
            ),
        )
        for path in TEMPLATES
    ],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_templates_have_no_inline_script_or_handlers(path: Path) -> None:
    """What the CSP blocks: inline scripts and on* handlers silently stop working."""
    parser = _Scripts()
    parser.feed(path.read_text())
    assert not parser.inline, parser.inline
    assert not parser.handlers, parser.handlers


# --- production -----------------------------------------------------------------------------------

PRODUCTION = {
    "IPWBOARD_ENV": "production",
    "DJANGO_SECRET_KEY": "x" * 64 + "-a-long-random-production-secret-Q7",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_ALLOWED_HOSTS": "testserver,ipwboard.example.org",
    "AWS_STORAGE_BUCKET_NAME": "ipwboard-bundles",
}

_PROBE = """
import json
import django
django.setup()
from django.conf import settings as s
from django.test import Client
c = Client()
secure = c.get("/healthz", secure=True)
plain = c.get("/healthz")
print(json.dumps({
    "session_secure": s.SESSION_COOKIE_SECURE, "csrf_secure": s.CSRF_COOKIE_SECURE,
    "session_httponly": s.SESSION_COOKIE_HTTPONLY, "hsts": s.SECURE_HSTS_SECONDS,
    "hsts_sub": s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "debug": s.DEBUG, "sts": secure.headers.get("Strict-Transport-Security"),
    "secure_status": secure.status_code, "plain_status": plain.status_code,
    "plain_location": plain.headers.get("Location"),
}))
"""


def _production_env(db_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "IPWBOARD_"))}
    return {
        **clean,
        **PRODUCTION,
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "ipwboard.settings",
    }


@pytest.mark.django_db
def test_production_cookies_hsts_and_https() -> None:
    from django.db import connection

    from tests.services import database_url

    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=_production_env(database_url(connection.settings_dict)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["session_secure"] and probe["csrf_secure"] and probe["session_httponly"]
    assert probe["hsts"] >= 31536000 and probe["hsts_sub"] and not probe["debug"]
    assert probe["secure_status"] == 200
    assert probe["sts"].startswith("max-age=31536000") and "includeSubDomains" in probe["sts"]
    assert probe["plain_status"] == 301 and probe["plain_location"].startswith("https://")


def test_check_deploy_is_clean_with_s3_production_settings() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env("postgres://x@127.0.0.1/x"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- CSRF ------------------------------------------------------------------------------------------


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "form":
            self.forms.append({"method": (names.get("method") or "get").lower(),
                               "action": names.get("action") or "", "fields": []})  # fmt: skip
        elif tag == "input" and self.forms:
            self.forms[-1]["fields"].append(names.get("name"))


def test_every_post_form_carries_and_needs_a_csrf_token(
    hostile: Submission, alice: Persona, staff: Persona
) -> None:
    """Find the forms by crawling the pages people see, then post to each without a token."""
    pages = {
        None: ["/accounts/login/", "/account/signup/", "/accounts/password_reset/"],
        "alice": [
            "/account/",
            "/account/tokens/",
            "/account/keys/",
            "/account/organisations/",
            f"/submissions/{hostile.pk}/",
            "/accounts/password_change/",
        ],
        "staff": [f"/submissions/{hostile.pk}/", f"/account/review/{hostile.pk}/"],
    }
    users = {"alice": alice.user, "staff": staff.user}
    posted = 0
    for who, urls in pages.items():
        browser = Client()
        if who:
            browser.force_login(users[who])
        for url in urls:
            page = browser.get(url, follow=True)
            if page.status_code != 200:
                continue
            parser = _Forms()
            parser.feed(page.content.decode())
            for form in parser.forms:
                if form["method"] != "post":
                    continue
                assert "csrfmiddlewaretoken" in form["fields"], (url, form)
                strict = Client(enforce_csrf_checks=True)
                if who:
                    strict.force_login(users[who])
                action = form["action"] or page.request["PATH_INFO"]
                assert strict.post(action, {"name": "x"}).status_code == 403, (url, action)
                posted += 1
    assert posted >= 5, f"only {posted} forms found: the crawl lost its way"


# --- secrets --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_tokens_and_keys_never_logged_or_stored_in_clear(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cryptography.hazmat.primitives import serialization
    from django.apps import apps
    from rest_framework.test import APIClient

    monkeypatch.setattr("submissions.services.intake.enqueue", lambda pk: None)
    caplog.set_level(logging.DEBUG)
    _, token = services.create_api_token(alice.user, "secret test")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with make_bundle(demo_version, alice_key).open("rb") as fh:
        created = api.post("/api/v1/submissions/", {"bundle": fh}, format="multipart")
    assert created.status_code == 201
    services.process_submission(created.json()["id"])
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION=f"Token {token}x")
    assert wrong.get("/api/v1/submissions/").status_code == 401
    private_pem = alice_key.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    private_raw = alice_key.key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    ).hex()
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    for secret in (token, alice.token, private_raw, private_pem.splitlines()[1]):
        assert secret not in logged

    # Nothing in the database holds a token or a key in clear: scan every text column.
    for model in apps.get_models():
        text_fields = [
            f.attname
            for f in model._meta.concrete_fields
            if f.get_internal_type() in ("CharField", "TextField", "JSONField")
        ]
        if not text_fields:
            continue
        for row in model.objects.values_list(*text_fields):
            dump = json.dumps(row, default=str)
            assert token not in dump and alice.token not in dump, model
            assert private_raw not in dump, model


def test_cli_keygen_encrypts_the_private_key_and_never_prints_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "IPWBOARD_CONFIG_DIR": str(tmp_path / "cfg"),
        "IPWBOARD_KEY_PASSPHRASE": "correct horse battery staple",
    }
    result = subprocess.run(
        [sys.executable, "-m", "submissions.cli.main", "keygen", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    path = Path(json.loads(result.stdout)["private_key"])
    pem = path.read_text()
    assert "BEGIN ENCRYPTED PRIVATE KEY" in pem and "BEGIN PRIVATE KEY" not in pem
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    body = "".join(pem.splitlines()[1:-1])
    assert body[:40] not in result.stdout + result.stderr
