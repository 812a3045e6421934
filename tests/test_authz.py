"""The authorisation matrix: anonymous, alice, bob and staff against every endpoint and page.

alice owns everything that is addressed; each row says which personas may read or change it and
checks, after every request, that a refused change changed nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from submissions import services
from submissions.models import ApiToken, DirectUpload, Organisation, SigningKey, Submission
from tests.conftest import Persona, make_signer
from tests.test_api_support import queued, scored

PERSONAS = ("anonymous", "alice", "bob", "staff")
LOGIN = "login"  # a redirect to the login page


@dataclass
class World:
    public: Submission  # alice's, ranked
    private: Submission  # alice's, queued
    key: SigningKey
    token: ApiToken
    org: Organisation
    upload: DirectUpload
    bob_public: Submission
    # alice's, scored but not public (Submission.objects.public(), the one rule): one per reason
    held: Submission  # pending staff review
    denied: Submission  # staff denied it
    hidden: Submission  # staff hid it
    withdrawn: Submission  # alice withdrew it (public tombstone)
    superseded: Submission  # replaced by ``replacement`` (its permalink leads there)
    replacement: Submission


@dataclass
class Case:
    name: str
    method: str
    url: Callable[[World], str]
    expect: dict[str, int | str]  # persona -> status code (or LOGIN)
    data: dict[str, Any] = field(default_factory=dict)
    via: str = "api"  # api: token client; web: session client
    changed: Callable[[World], bool] | None = None  # True once the change happened
    writers: tuple[str, ...] = ()  # personas allowed to make the change


def _all(code: int) -> dict[str, int | str]:
    return dict.fromkeys(PERSONAS, code)


def _owner_only(ok: int, anon: int | str = 401, others: int = 404) -> dict[str, int | str]:
    return {"anonymous": anon, "alice": ok, "bob": others, "staff": others}


def _reload(obj: Any) -> Any:
    return type(obj).objects.get(pk=obj.pk)


# Every endpoint that addresses one submission, for each way a scored one is not public: only its
# owner and staff see it through the API and its status page; its data are never downloadable.
NOT_PUBLIC = ("held", "denied", "hidden", "withdrawn", "superseded")
OWNER_AND_STAFF = {"anonymous": 404, "alice": 200, "bob": 404, "staff": 200}
STATUS_PAGE: dict[str, dict[str, int | str]] = {
    "held": OWNER_AND_STAFF,
    "denied": OWNER_AND_STAFF,
    "hidden": OWNER_AND_STAFF,
    # the permalink of a withdrawn result stays, as a tombstone without figures
    "withdrawn": {"anonymous": 410, "alice": 200, "bob": 410, "staff": 200},
    # and a superseded one's leads to its replacement
    "superseded": _all(302),
}


def _not_public_cases() -> list[Case]:
    cases = []
    for state in NOT_PUBLIC:

        def pk(w: World, state: str = state) -> str:
            return str(getattr(w, state).pk)

        cases += [
            Case(
                f"api {state} submission",
                "GET",
                lambda w, pk=pk: f"/api/v1/submissions/{pk(w)}/",
                OWNER_AND_STAFF,
            ),
            Case(
                f"page {state} status",
                "GET",
                lambda w, pk=pk: f"/submissions/{pk(w)}/",
                STATUS_PAGE[state],
                via="web",
            ),
            Case(
                f"{state} bundle",
                "GET",
                lambda w, pk=pk: f"/data/submissions/{pk(w)}/bundle.ipwb",
                _all(404),
                via="web",
            ),
            Case(
                f"{state} queries",
                "GET",
                lambda w, pk=pk: f"/data/submissions/{pk(w)}/queries.parquet",
                _all(404),
                via="web",
            ),
        ]
    return cases


CASES: list[Case] = [
    *_not_public_cases(),
    # --- API reads
    Case(
        "api list submissions",
        "GET",
        lambda w: "/api/v1/submissions/",
        {"anonymous": 401, "alice": 200, "bob": 200, "staff": 200},
    ),
    Case(
        "api public submission", "GET", lambda w: f"/api/v1/submissions/{w.public.pk}/", _all(200)
    ),
    Case(
        "api private submission",
        "GET",
        lambda w: f"/api/v1/submissions/{w.private.pk}/",
        {"anonymous": 404, "alice": 200, "bob": 404, "staff": 200},
    ),
    Case(
        "api keys",
        "GET",
        lambda w: "/api/v1/keys/",
        {"anonymous": 401, "alice": 200, "bob": 200, "staff": 200},
    ),
    Case(
        "api tokens",
        "GET",
        lambda w: "/api/v1/tokens/",
        {"anonymous": 403, "alice": 200, "bob": 200, "staff": 200},
        via="web",
    ),
    Case(
        "api upload config",
        "GET",
        lambda w: "/api/v1/uploads/",
        {"anonymous": 401, "alice": 200, "bob": 200, "staff": 200},
    ),
    Case("api upload detail", "GET", lambda w: f"/api/v1/uploads/{w.upload.pk}/", _owner_only(200)),
    Case("api datasets", "GET", lambda w: "/api/v1/datasets/", _all(200)),
    Case("api leaderboard", "GET", lambda w: "/api/v1/leaderboard/", _all(200)),
    Case("api schema", "GET", lambda w: "/api/v1/schema/", _all(200)),
    # --- pages
    Case(
        "page account",
        "GET",
        lambda w: "/account/",
        {"anonymous": LOGIN, "alice": 200, "bob": 200, "staff": 200},
        via="web",
    ),
    Case(
        "page review",
        "GET",
        lambda w: "/account/review/",
        {"anonymous": LOGIN, "alice": 403, "bob": 403, "staff": 200},
        via="web",
    ),
    Case(
        "page public status", "GET", lambda w: f"/submissions/{w.public.pk}/", _all(200), via="web"
    ),
    Case(
        "page private status",
        "GET",
        lambda w: f"/submissions/{w.private.pk}/",
        {"anonymous": 404, "alice": 200, "bob": 404, "staff": 200},
        via="web",
    ),
    Case("page downloads", "GET", lambda w: "/data/", _all(200), via="web"),
    Case(
        "public bundle",
        "GET",
        lambda w: f"/data/submissions/{w.public.pk}/bundle.ipwb",
        _all(200),
        via="web",
    ),
    Case(
        "public queries",
        "GET",
        lambda w: f"/data/submissions/{w.public.pk}/queries.parquet",
        _all(200),
        via="web",
    ),
    Case(
        "private bundle",
        "GET",
        lambda w: f"/data/submissions/{w.private.pk}/bundle.ipwb",
        _all(404),
        via="web",
    ),
    Case(
        "private queries",
        "GET",
        lambda w: f"/data/submissions/{w.private.pk}/queries.parquet",
        _all(404),
        via="web",
    ),
    Case(
        "admin",
        "GET",
        lambda w: "/admin/",
        {"anonymous": 302, "alice": 302, "bob": 302, "staff": 200},
        via="web",
    ),
    # --- writes: refused ones must change nothing
    Case(
        "api challenge",
        "POST",
        lambda w: "/api/v1/challenges/",
        {"anonymous": 401, "alice": 201, "bob": 201, "staff": 201},
    ),
    Case(
        "api retire key",
        "POST",
        lambda w: f"/api/v1/keys/{w.key.pk}/retire/",
        _owner_only(200),
        changed=lambda w: _reload(w.key).state != "active",
        writers=("alice",),
    ),
    Case(
        "web retire key",
        "POST",
        lambda w: f"/account/keys/{w.key.pk}/retire/",
        _owner_only(302, LOGIN),
        via="web",
        changed=lambda w: _reload(w.key).state != "active",
        writers=("alice",),
    ),
    Case(
        "api revoke key",
        "POST",
        lambda w: f"/api/v1/keys/{w.key.pk}/revoke/",
        _owner_only(200),
        changed=lambda w: _reload(w.key).state == "revoked",
        writers=("alice",),
    ),
    Case(
        "web revoke key",
        "POST",
        lambda w: f"/account/keys/{w.key.pk}/revoke/",
        _owner_only(302, LOGIN),
        via="web",
        changed=lambda w: _reload(w.key).state == "revoked",
        writers=("alice",),
    ),
    Case(
        "web org member",
        "POST",
        lambda w: f"/account/organisations/{w.org.slug}/members/",
        _owner_only(302, LOGIN),
        data={"username": "bob"},
        via="web",
        changed=lambda w: w.org.members.filter(username="bob").exists(),
        writers=("alice",),
    ),
    Case(
        "web credit org",
        "POST",
        lambda w: f"/account/submissions/{w.public.pk}/organisation/",
        _owner_only(302, LOGIN),
        data={"organisation": "heron"},
        via="web",
        changed=lambda w: _reload(w.public).organisation_id is not None,
        writers=("alice",),
    ),
    Case(
        "web credit org on bob's",
        "POST",
        lambda w: f"/account/submissions/{w.bob_public.pk}/organisation/",
        {"anonymous": LOGIN, "alice": 404, "bob": 404, "staff": 404},
        data={"organisation": "heron"},
        via="web",
        changed=lambda w: _reload(w.bob_public).organisation_id is not None,
    ),
    Case(
        "api upload finalise",
        "POST",
        lambda w: f"/api/v1/uploads/{w.upload.pk}/finalise/",
        _owner_only(201),
    ),
    Case(
        "api upload abort", "DELETE", lambda w: f"/api/v1/uploads/{w.upload.pk}/", _owner_only(204)
    ),
    Case(
        "staff hide",
        "POST",
        lambda w: f"/account/review/{w.public.pk}/",
        {"anonymous": LOGIN, "alice": 403, "bob": 403, "staff": 302},
        data={"action": "hide"},
        via="web",
        changed=lambda w: _reload(w.public).hidden,
        writers=("staff",),
    ),
    Case(
        "api withdraw",
        "POST",
        lambda w: f"/api/v1/submissions/{w.public.pk}/withdraw/",
        _owner_only(200),
        changed=lambda w: _reload(w.public).withdrawn_at is not None,
        writers=("alice",),
    ),
    Case(
        "web withdraw",
        "POST",
        lambda w: f"/account/submissions/{w.public.pk}/withdraw/",
        _owner_only(302, LOGIN),
        via="web",
        changed=lambda w: _reload(w.public).withdrawn_at is not None,
        writers=("alice",),
    ),
    Case(
        "web revoke token",
        "POST",
        lambda w: f"/account/tokens/{w.token.pk}/revoke/",
        _owner_only(302, LOGIN),
        via="web",
        changed=lambda w: _reload(w.token).revoked_at is not None,
        writers=("alice",),
    ),
    Case(
        "api revoke token",
        "DELETE",
        lambda w: f"/api/v1/tokens/{w.token.pk}/",
        _owner_only(204, 403),
        via="web",
        changed=lambda w: _reload(w.token).revoked_at is not None,
        writers=("alice",),
    ),
]


@pytest.fixture
def world(
    alice: Persona,
    bob: Persona,
    staff: Persona,
    alice_key: Any,
    demo_version: Any,
    make_bundle: Any,
) -> World:
    public = scored(alice, alice_key, demo_version, make_bundle)
    private = queued(alice, alice_key, demo_version, make_bundle)
    bob_public = scored(bob, make_signer(bob.user), demo_version, make_bundle)
    org = services.create_organisation(alice.user, "Heron")
    token, _ = services.create_api_token(alice.user, "spare")
    upload = DirectUpload.objects.create(
        owner=alice.user,
        key=f"bundles/{private.pk}.ipwb",
        s3_upload_id="x",
        size=private.bundle_size,
        part_size=5 * 1024**2,
        state=DirectUpload.State.COMPLETED,
        expires_at=timezone.now() + timedelta(hours=1),
        submission=private,
    )
    key = SigningKey.objects.get(fingerprint=alice_key.fingerprint)
    return World(
        public,
        private,
        key,
        token,
        org,
        upload,
        bob_public,
        **_not_public(alice, alice_key, staff, demo_version, make_bundle),
    )


def _not_public(
    alice: Persona, alice_key: Any, staff: Persona, version: Any, make_bundle: Any
) -> dict[str, Submission]:
    """alice's scored submissions that are not public, one per reason."""
    made = {
        name: scored(alice, alice_key, version, make_bundle)
        for name in (*NOT_PUBLIC, "replacement")
    }
    held = made["held"]
    held.review = Submission.Review.PENDING  # as the pipeline holds one
    held.save(update_fields=["review"])
    services.moderate_submission(made["denied"], staff.user, "deny")
    services.moderate_submission(made["hidden"], staff.user, "hide")
    services.withdraw_submission(made["withdrawn"], alice.user)
    superseded = made["superseded"]
    superseded.superseded_by = made["replacement"]
    superseded.save(update_fields=["superseded_by"])
    return {name: Submission.objects.get(pk=s.pk) for name, s in made.items()}


@pytest.mark.parametrize("who", PERSONAS)
def test_authorisation_matrix(who: str, world: World, request: pytest.FixtureRequest) -> None:
    persona: Persona = request.getfixturevalue(who)
    failures = []
    for case in CASES:
        before = case.changed(world) if case.changed else None
        client = persona.api if case.via == "api" else persona.client
        call = getattr(client, case.method.lower())
        kwargs = {"format": "json"} if case.via == "api" else {}
        response = call(case.url(world), case.data, **kwargs)
        expected = case.expect[who]
        if expected == LOGIN:
            ok = response.status_code == 302 and "/accounts/login/" in response["Location"]
        else:
            ok = response.status_code == expected
        if not ok:
            failures.append(f"{case.name}: expected {expected}, got {response.status_code}")
        if case.changed is not None and not before:
            changed = case.changed(world)
            if changed != (who in case.writers):
                failures.append(f"{case.name}: changed={changed} for {who}")
    assert not failures, "\n".join(failures)


def test_lists_show_only_your_own(
    world: World, alice: Persona, bob: Persona, staff: Persona
) -> None:
    def ids(persona: Persona) -> set[str]:
        return {row["id"] for row in persona.api.get("/api/v1/submissions/").json()["results"]}

    mine = {str(getattr(world, name).pk) for name in (*NOT_PUBLIC, "replacement")}
    assert ids(alice) == {str(world.public.pk), str(world.private.pk), *mine}
    assert ids(bob) == {str(world.bob_public.pk)}
    assert ids(staff) == {
        str(world.public.pk),
        str(world.private.pk),
        str(world.bob_public.pk),
        *mine,
    }
    assert {k["fingerprint"] for k in bob.api.get("/api/v1/keys/").json()}.isdisjoint(
        {world.key.fingerprint}
    )
    assert world.token.prefix not in bob.client.get("/account/").content.decode()
    assert {t["name"] for t in bob.client.get("/api/v1/tokens/").json()} == {"bob token"}
