"""Identity writes: signing keys, API tokens and challenges."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from evaluator.keys import decode_public_key, fingerprint

from ..models import ApiToken, AuditLog, Challenge, SigningKey

TOKEN_PREFIX = "ipwb_"


class KeyRegistrationError(ValueError):
    """A public key the user tried to register is unusable; ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def register_signing_key(owner: AbstractBaseUser, public_key: str, name: str = "") -> SigningKey:
    try:
        raw = decode_public_key(public_key)
    except Exception as exc:  # the engine raises its own typed error; any failure means unusable
        raise KeyRegistrationError(
            "key.public.invalid",
            "The public key is not a base64 raw Ed25519 key or an 'ssh-ed25519' line.",
        ) from exc
    fp = fingerprint(raw)
    existing = SigningKey.objects.filter(fingerprint=fp).first()
    if existing is not None:
        if existing.owner_id != owner.pk:
            raise KeyRegistrationError(
                "key.public.taken", "This public key is registered to another account."
            )
        return existing
    import base64

    key = SigningKey.objects.create(
        owner=owner,
        name=name[:100] or f"key {fp[7:15]}",
        public_key=base64.b64encode(raw).decode(),
        fingerprint=fp,
    )
    AuditLog.objects.create(actor=owner, action="key.register", target=fp)
    return key


def retire_signing_key(key: SigningKey, actor: AbstractBaseUser) -> SigningKey:
    if key.state == SigningKey.State.ACTIVE:
        key.state = SigningKey.State.RETIRED
        key.retired_at = timezone.now()
        key.save(update_fields=["state", "retired_at"])
        AuditLog.objects.create(actor=actor, action="key.retire", target=key.fingerprint)
    return key


def revoke_signing_key(
    key: SigningKey, actor: AbstractBaseUser, compromised_at: datetime | None = None
) -> SigningKey:
    now = timezone.now()
    key.state = SigningKey.State.REVOKED
    key.revoked_at = now
    key.compromised_at = min(compromised_at or now, now)
    key.save(update_fields=["state", "revoked_at", "compromised_at"])
    AuditLog.objects.create(
        actor=actor,
        action="key.revoke",
        target=key.fingerprint,
        detail={"compromised_at": key.compromised_at.isoformat()},
    )
    return key


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(
    owner: AbstractBaseUser, name: str, scope: str = ApiToken.Scope.SUBMIT
) -> tuple[ApiToken, str]:
    """Create a token; the secret is returned once and only its hash is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        owner=owner,
        name=name[:100] or "token",
        scope=scope,
        prefix=secret[:12],
        token_hash=hash_token(secret),
    )
    AuditLog.objects.create(actor=owner, action="token.create", target=token.prefix)
    return token, secret


def authenticate_token(secret: str) -> ApiToken | None:
    token = (
        ApiToken.objects.select_related("owner")
        .filter(token_hash=hash_token(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.owner.is_active:
        return None
    now = timezone.now()
    # Write at most once a minute: the timestamp is for humans, not an audit trail.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def revoke_api_token(token: ApiToken, actor: AbstractBaseUser) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        AuditLog.objects.create(actor=actor, action="token.revoke", target=token.prefix)


def issue_challenge(owner: AbstractBaseUser) -> Challenge:
    ttl = timedelta(seconds=settings.IPWBOARD_CHALLENGE_TTL_SECONDS)
    return Challenge.objects.create(
        owner=owner, nonce=secrets.token_hex(16), expires_at=timezone.now() + ttl
    )


@transaction.atomic
def consume_challenge(nonce: str, owner_id: int, uploaded_at: datetime) -> Challenge:
    """Mark a challenge used, or raise BundleError with the reason it cannot be used."""
    from evaluator.errors import BundleError

    from .. import codes

    challenge = Challenge.objects.select_for_update().filter(nonce=nonce, owner_id=owner_id).first()
    if challenge is None:
        raise BundleError(
            codes.CHALLENGE_UNKNOWN,
            "The bundle's challenge nonce was not issued to your account by this server; "
            "fetch a new one with `ipwboard challenge` and re-pack.",
            file="manifest.json",
            field="challenge",
        )
    if challenge.used_at is not None:
        raise BundleError(
            codes.CHALLENGE_USED,
            "The bundle's challenge nonce was already used by another submission.",
            file="manifest.json",
            field="challenge",
        )
    if uploaded_at > challenge.expires_at:
        raise BundleError(
            codes.CHALLENGE_EXPIRED,
            f"The challenge expired at {challenge.expires_at.isoformat()}, before the upload.",
            file="manifest.json",
            field="challenge",
        )
    challenge.used_at = timezone.now()
    challenge.save(update_fields=["used_at"])
    return challenge
