"""Helpers shared by the issue-6 tests (accounts, API, authz, downloads, S3, CLI). No tests here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import cache

from submissions import services
from submissions.models import Submission
from tests.conftest import Persona, Signer, upload


def scored(
    persona: Persona, signer: Signer, version: Any, make_bundle: Any, **kw: Any
) -> Submission:
    """Upload a fresh bundle as ``persona`` and run the worker's logic in-process."""
    response = upload(persona, make_bundle(version, signer, **kw))
    assert response.status_code == 201, response.content
    services.process_submission(response.json()["id"])
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.status == Submission.Status.SCORED, submission.report
    return submission


def queued(persona: Persona, signer: Signer, version: Any, make_bundle: Any) -> Submission:
    response = upload(persona, make_bundle(version, signer))
    assert response.status_code == 201, response.content
    return Submission.objects.get(pk=response.json()["id"])


@contextmanager
def s3_settings(moto: Any, bucket: str) -> Iterator[dict[str, Any]]:
    """STORAGES pointing the default storage at ``bucket`` on the moto server (over HTTP).

    override_settings(STORAGES=...) fires setting_changed, and Django's own receiver resets the
    storages handler and ``default_storage``; nothing here patches boto3.
    """
    import boto3
    from django.test import override_settings

    options = {
        "bucket_name": bucket,
        "endpoint_url": moto.endpoint_url,
        "region_name": moto.region,
        "access_key": moto.access_key,
        "secret_key": moto.secret_key,
        "default_acl": None,
        "file_overwrite": False,
        "querystring_auth": True,
        "addressing_style": "path",
        "signature_version": "s3v4",
    }
    boto3.client(
        "s3",
        endpoint_url=moto.endpoint_url,
        region_name=moto.region,
        aws_access_key_id=moto.access_key,
        aws_secret_access_key=moto.secret_key,
    ).create_bucket(Bucket=bucket)
    from django.conf import settings

    storages = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }
    with override_settings(STORAGES=storages):
        cache.clear()  # the export manifest is cached per storage
        yield options
    cache.clear()
