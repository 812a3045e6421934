"""Issue 12, finding 6: the per-IP limits do not trust ``X-Forwarded-For`` from anyone, sign-up
has its own per-IP limit, and production requires a verified email address before uploads."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from submissions.api.throttles import client_ip
from submissions.models import Submission
from tests.conftest import ROOT, Persona, Signer, upload

RELAXED = "100000/hour"


def _rates(settings: Any, **tight: str) -> None:
    rates = dict.fromkeys(settings.IPWBOARD_THROTTLE_RATES, RELAXED)
    settings.IPWBOARD_THROTTLE_RATES = {**rates, **tight}


def test_a_forged_forwarded_for_does_not_pick_another_bucket(
    settings: Any, alice: Persona, bob: Persona
) -> None:
    """Two accounts, one address, each request claiming another X-Forwarded-For: still one
    per-IP bucket (old code keyed the bucket on the header)."""
    _rates(settings, challenges_ip="2/hour")
    statuses = [
        persona.api.post("/api/v1/challenges/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n, persona in enumerate((alice, bob, alice))
    ]
    assert statuses == [201, 201, 429]
    refused = bob.api.post("/api/v1/challenges/", HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused["Retry-After"].isdigit()


def test_behind_a_trusted_proxy_the_forwarded_client_counts(
    settings: Any, alice: Persona, bob: Persona
) -> None:
    _rates(settings, challenges_ip="1/hour")
    settings.IPWBOARD_TRUSTED_PROXIES = ["127.0.0.0/8"]  # the test client's REMOTE_ADDR
    ok_a = alice.api.post("/api/v1/challenges/", HTTP_X_FORWARDED_FOR="203.0.113.5")
    ok_b = bob.api.post("/api/v1/challenges/", HTTP_X_FORWARDED_FOR="203.0.113.6")
    # A client prepending its own entry still lands in the bucket of the address the proxy saw.
    again = bob.api.post("/api/v1/challenges/", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.5")
    assert (ok_a.status_code, ok_b.status_code, again.status_code) == (201, 201, 429)


def test_client_ip_reads_the_header_only_from_trusted_proxies(settings: Any) -> None:
    factory = RequestFactory()

    def ip(peer: str, forwarded: str) -> str:
        return client_ip(factory.get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded))

    settings.IPWBOARD_TRUSTED_PROXIES = []
    assert ip("192.0.2.1", "203.0.113.9") == "192.0.2.1"
    settings.IPWBOARD_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert ip("192.0.2.1", "203.0.113.9") == "192.0.2.1"  # the peer is no proxy of ours
    assert ip("10.0.0.2", "203.0.113.9") == "203.0.113.9"
    assert ip("10.0.0.2", "6.6.6.6, 203.0.113.9, 10.0.0.7") == "203.0.113.9"  # two proxies
    assert ip("10.0.0.2", "not-an-ip") == "10.0.0.2"
    assert ip("10.0.0.2", "") == "10.0.0.2"


def _signup(client: Client, n: int) -> Any:
    return client.post(
        "/account/signup/",
        {
            "username": f"newcomer{n}",
            "email": f"newcomer{n}@example.org",
            "password1": "a long and unusual passphrase 42",
            "password2": "a long and unusual passphrase 42",
        },
    )


def test_sign_up_has_its_own_per_ip_limit(settings: Any, db: None) -> None:
    from django.contrib.auth import get_user_model

    _rates(settings, signups_ip="2/hour")
    statuses = [_signup(Client(), n).status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    assert get_user_model().objects.filter(username__startswith="newcomer").count() == 2
    refused = _signup(Client(HTTP_X_FORWARDED_FOR="198.51.100.1"), 9)  # no way around it
    assert refused.status_code == 429 and refused["Retry-After"].isdigit()
    assert "Too many sign-ups" in refused.content.decode()


def _link(message: Any) -> str:
    found = re.search(r"https?://\S+/account/verify-email/\S+/", message.body)
    assert found, message.body
    return found.group(0)


def test_uploads_need_a_verified_email_when_required(
    settings: Any, alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    settings.IPWBOARD_REQUIRE_VERIFIED_EMAIL = True
    refused = upload(alice, make_bundle(demo_version, alice_key))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "auth.email_unverified"
    assert "alice@example.org" in refused.json()["error"]["message"]
    assert not Submission.objects.exists()

    # The link is mailed on request (and at sign-up); opening it is the proof.
    assert alice.client.post("/account/verify-email/").status_code == 302
    (message,) = mail.outbox
    assert message.to == ["alice@example.org"]
    assert Client().get(_link(message)).status_code == 302

    assert upload(alice, make_bundle(demo_version, alice_key)).status_code == 201


def test_sign_up_mails_the_verification_link(settings: Any, db: None) -> None:
    from submissions import services

    settings.IPWBOARD_REQUIRE_VERIFIED_EMAIL = True
    client = Client()
    assert _signup(client, 1).status_code == 302
    (message,) = mail.outbox
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="newcomer1")
    assert not services.email_verified(user)
    assert "not verified" in client.get("/account/").content.decode()
    client.get(_link(message))
    assert services.email_verified(user)
    user.email = "elsewhere@example.org"  # a new address needs a new proof
    user.save()
    assert not services.email_verified(user)
    assert client.get(_link(message)).status_code == 302  # refused: names the old address
    assert not services.email_verified(user)


def test_verification_is_off_in_embedded_and_test_unless_asked(
    settings: Any, alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    assert settings.IPWBOARD_REQUIRE_VERIFIED_EMAIL is False  # this (test) profile's default
    assert upload(alice, make_bundle(demo_version, alice_key)).status_code == 201


def _profile_setting(profile: str, name: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "IPWBOARD_"))}
    clean.pop("DATABASE_URL", None)
    env = {**clean, "IPWBOARD_ENV": profile, "DJANGO_SETTINGS_MODULE": "ipwboard.settings"}
    if profile == "production":
        env |= {
            "DJANGO_SECRET_KEY": "x" * 64,
            "DATABASE_URL": "postgres://x@127.0.0.1/x",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    else:
        env["IPWBOARD_DATA_DIR"] = str(Path(os.environ.get("IPWBOARD_DATA_DIR", "/tmp")) / "p")
    code = (
        f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("profile", "required"), [("production", "True"), ("embedded", "False"), ("test", "False")]
)
def test_verified_email_default_per_profile(profile: str, required: str) -> None:
    assert _profile_setting(profile, "IPWBOARD_REQUIRE_VERIFIED_EMAIL") == required
    assert _profile_setting(profile, "IPWBOARD_TRUSTED_PROXIES") == "[]"


def test_a_read_token_is_told_it_cannot_register_a_key(alice: Persona) -> None:
    """Finding 12: the refusal names what was refused, not "to upload"."""
    from submissions import services
    from tests.conftest import make_signer

    _, secret = services.create_api_token(alice.user, "reader", scope="read")
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    response = reader.post("/api/v1/keys/", {"public_key": make_signer().public}, format="json")
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert "register a signing key" in message and "upload" not in message
