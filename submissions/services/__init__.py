"""Every write to the domain goes through these functions (views and tasks stay thin)."""

from __future__ import annotations

from .catalog import engine_dataset, register_dataset_version
from .identity import (
    authenticate_token,
    create_api_token,
    issue_challenge,
    register_signing_key,
    retire_signing_key,
    revoke_api_token,
    revoke_signing_key,
)
from .pipeline import (
    create_submission,
    fail_submission,
    process_submission,
    record_evaluation,
    reject_submission,
    sweep_stale_submissions,
)

__all__ = [
    "authenticate_token",
    "create_api_token",
    "create_submission",
    "engine_dataset",
    "fail_submission",
    "issue_challenge",
    "process_submission",
    "record_evaluation",
    "register_dataset_version",
    "register_signing_key",
    "reject_submission",
    "retire_signing_key",
    "revoke_api_token",
    "revoke_signing_key",
    "sweep_stale_submissions",
]
