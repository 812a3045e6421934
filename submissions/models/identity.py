"""Who submits: organisations, Ed25519 signing keys, API tokens and one-time challenges."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Organisation(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="organisations")

    def __str__(self) -> str:
        return self.name


class SigningKey(models.Model):
    """A submitter's Ed25519 public key.

    Retired keys still verify bundles signed before ``retired_at``; revoked keys verify nothing
    signed at or after ``compromised_at`` (the owner's estimate of when it leaked).
    """

    class State(models.TextChoices):
        ACTIVE = "active"
        RETIRED = "retired"
        REVOKED = "revoked"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signing_keys"
    )
    name = models.CharField(max_length=100)
    public_key = models.CharField(max_length=100, help_text="Base64 of the raw 32-byte key.")
    fingerprint = models.CharField(max_length=100, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    compromised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.fingerprint})"

    def valid_at(self, moment: timezone.datetime) -> bool:
        if self.state == self.State.ACTIVE:
            return True
        if self.state == self.State.RETIRED:
            return self.retired_at is not None and moment < self.retired_at
        return self.compromised_at is not None and moment < self.compromised_at


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the secret is shown once at creation."""

    class Scope(models.TextChoices):
        READ = "read"
        SUBMIT = "submit"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.SUBMIT)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise a token.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Challenge(models.Model):
    """A one-time server nonce a bundle can carry to prove it was made after we issued it."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="challenges"
    )
    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
