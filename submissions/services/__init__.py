"""Every write to the domain goes through these functions (views and tasks stay thin)."""

from __future__ import annotations

from .accounts import (
    ActionError,
    add_organisation_member,
    create_organisation,
    estimated_wait_seconds,
    leave_organisation,
    moderate_submission,
    queue_position,
    review_queue,
    set_submission_organisation,
    withdraw_submission,
)
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
    check_upload,
    create_submission,
    fail_submission,
    process_submission,
    queue_stored_bundle,
    record_evaluation,
    reject_submission,
    sweep_stale_submissions,
)

__all__ = [
    "ActionError",
    "add_organisation_member",
    "check_upload",
    "create_organisation",
    "estimated_wait_seconds",
    "leave_organisation",
    "moderate_submission",
    "queue_position",
    "queue_stored_bundle",
    "review_queue",
    "set_submission_organisation",
    "withdraw_submission",
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
