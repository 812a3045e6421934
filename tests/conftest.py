"""Shared fixtures: personas (alice, bob, staff, anonymous), datasets, keys and signed bundles.

The suite runs on a real PostgreSQL (``make test`` starts a throwaway one when DATABASE_URL is not
set); SQLite is only for the embedded run, so a test run on SQLite stops here with a clear message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_DATASET = ROOT / "data" / "datasets" / "ipwboard-demo" / "1.jsonl"
MIXED_DATASET = ROOT / "data" / "datasets" / "ipw-mixed" / "1.jsonl"
HARNESS_RUN = ROOT / "tests" / "fixtures" / "ipw-harness-runs" / "profile_H10080GB_llama3_2_1b"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("IPWBOARD_ENV", "test")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Iterator[None]:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.exit("The suite needs PostgreSQL: run `make test` (it starts one for you).", 2)
    yield


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The board caches pages keyed by a version counter; tests must not see each other's pages."""
    from django.conf import settings

    if not settings.configured:  # engine-only runs (-p no:django) have no cache to clear
        yield
        return
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@dataclass
class Persona:
    user: Any
    client: Any  # django.test.Client, logged in (anonymous: not)
    api: Any  # rest_framework.test.APIClient with a submit token (anonymous: none)
    token: str


def _persona(username: str, *, staff: bool = False) -> Persona:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.test import APIClient

    from submissions import services

    user = get_user_model().objects.create_user(
        username, f"{username}@example.org", "correct horse battery staple", is_staff=staff
    )
    client = Client()
    client.force_login(user)
    _, token = services.create_api_token(user, f"{username} token")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return Persona(user, client, api, token)


@pytest.fixture
def alice(db: None) -> Persona:
    return _persona("alice")


@pytest.fixture
def bob(db: None) -> Persona:
    return _persona("bob")


@pytest.fixture
def staff(db: None) -> Persona:
    return _persona("staff", staff=True)


@pytest.fixture
def anonymous(db: None) -> Persona:
    from django.contrib.auth.models import AnonymousUser
    from django.test import Client
    from rest_framework.test import APIClient

    return Persona(AnonymousUser(), Client(), APIClient(), "")


@pytest.fixture
def demo_version(db: None) -> Any:
    from submissions import services

    return services.register_dataset_version(DEMO_DATASET, name="demo", license="CC0-1.0")


@pytest.fixture
def mixed_version(db: None) -> Any:
    from submissions import services

    return services.register_dataset_version(MIXED_DATASET, name="ipw mixed", license="fixture")


@dataclass
class Signer:
    key: Any  # Ed25519PrivateKey
    public: str
    fingerprint: str


def make_signer(owner: Any | None = None) -> Signer:
    from evaluator.keys import (
        encode_public_key,
        fingerprint,
        generate_private_key,
        public_key_bytes,
    )

    key = generate_private_key()
    raw = public_key_bytes(key)
    signer = Signer(key, encode_public_key(raw), fingerprint(raw))
    if owner is not None:
        from submissions import services

        services.register_signing_key(owner, signer.public, "test key")
    return signer


@pytest.fixture
def alice_key(alice: Persona) -> Signer:
    return make_signer(alice.user)


BundleFactory = Callable[..., Path]


@pytest.fixture
def make_bundle(tmp_path: Path) -> BundleFactory:
    """Build a signed synthetic bundle: ``make_bundle(version, signer, **synth_run kwargs)``."""
    from evaluator.bundle import pack_bundle, sign_bundle
    from submissions import demo, services

    counter = iter(range(10_000))

    def build(
        version: Any,
        signer: Signer,
        *,
        model: str = "demo/heron-8b",
        hardware: str = "Demo Workstation GPU",
        seed: int | None = None,
        mutate_manifest: Callable[[dict[str, Any]], None] | None = None,
        with_trace: bool = True,
        **kwargs: Any,
    ) -> Path:
        n = next(counter)
        manifest, queries, trace = demo.synth_run(
            services.engine_dataset(version),
            demo.find_model(model),
            demo.find_hardware(hardware),
            run_date=kwargs.pop("run_date", "2025-06-01"),
            seed=seed if seed is not None else 7000 + n,
            **kwargs,
        )
        if mutate_manifest:
            mutate_manifest(manifest)
        path = tmp_path / f"bundle-{n}.ipwb"
        pack_bundle(path, manifest, queries, trace if with_trace else None)
        sign_bundle(path, signer.key)
        return path

    return build


def upload(persona: Persona, path: Path) -> Any:
    """POST a bundle through the API as ``persona``; returns the DRF response."""
    with path.open("rb") as fh:
        return persona.api.post("/api/v1/submissions/", {"bundle": fh}, format="multipart")


WorkerFactory = Callable[..., Any]


@pytest.fixture
def worker_factory(tmp_path: Path, settings: Any) -> Iterator[WorkerFactory]:
    """Start real Celery worker processes on the test database and Redis:
    ``worker_factory(queues=(...), **extra_env)``; each is stopped after the test."""
    from contextlib import ExitStack

    from django.db import connection

    from ipwboard.celery import app
    from tests.services import database_url, start_celery_worker

    if not os.environ.get("REDIS_URL"):
        pytest.fail("REDIS_URL is not set: run the suite with `make test`")
    app.control.purge()  # messages left by other tests' on_commit hooks are not ours
    stack = ExitStack()
    count = iter(range(100))

    def start(queues: tuple[str, ...] = ("validation", "scoring", "exports"), **extra: str) -> Any:
        env = {
            "DATABASE_URL": database_url(connection.settings_dict),
            "IPWBOARD_DATA_DIR": str(settings.DATA_DIR),
            "REDIS_URL": os.environ["REDIS_URL"],
            "IPWBOARD_ENV": "test",
            **extra,
        }
        log = tmp_path / f"worker-{next(count)}.log"
        proc = stack.enter_context(start_celery_worker(env, list(queues), log))
        proc.log_path = log
        return proc

    with stack:
        yield start


@pytest.fixture
def worker(worker_factory: WorkerFactory) -> Any:
    """One real Celery worker process on the validation, scoring and exports queues."""
    return worker_factory()
