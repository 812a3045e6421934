"""Every write to the domain goes through these functions (views and tasks stay thin)."""

from __future__ import annotations

from .accounts import (
    ActionError,
    add_organisation_member,
    create_organisation,
    email_verified,
    estimated_wait_seconds,
    leave_organisation,
    moderate_submission,
    queue_position,
    review_queue,
    send_verification_email,
    set_submission_organisation,
    upload_refusal,
    verify_email,
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
from .intake import check_upload, create_submission, queue_stored_bundle
from .pipeline import (
    fail_submission,
    process_submission,
    record_evaluation,
    reject_submission,
)
from .sweeper import sweep_stale_submissions

__all__ = [
    "ActionError",
    "add_organisation_member",
    "authenticate_token",
    "check_upload",
    "create_api_token",
    "create_organisation",
    "create_submission",
    "email_verified",
    "engine_dataset",
    "estimated_wait_seconds",
    "fail_submission",
    "issue_challenge",
    "leave_organisation",
    "moderate_submission",
    "process_submission",
    "queue_position",
    "queue_stored_bundle",
    "record_evaluation",
    "register_dataset_version",
    "register_signing_key",
    "reject_submission",
    "retire_signing_key",
    "review_queue",
    "revoke_api_token",
    "revoke_signing_key",
    "send_verification_email",
    "set_submission_organisation",
    "sweep_stale_submissions",
    "upload_refusal",
    "verify_email",
    "withdraw_submission",
]
