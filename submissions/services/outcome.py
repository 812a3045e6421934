"""A submission's outcome for people: what happened, why, and what happens next.

The API (``SubmissionSerializer.outcome``), the status page and the CLI say the same words: the
titles and exit codes come from ``submissions.cli.outcomes`` (Django-free, shipped with the client);
the reason and next step are worded here, once, from the row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.urls import reverse

from ..cli.outcomes import KINDS
from ..models import Submission

_NOT_FINAL = {
    Submission.Status.QUEUED: "Queued: waiting for a worker.",
    Submission.Status.RUNNING: "A worker is verifying the signature and re-scoring the responses.",
    Submission.Status.JUDGING: "Accepted: an LLM judge is scoring the open-ended answers; it is "
    "ranked once that is done.",
}


@dataclass(frozen=True)
class Outcome:
    code: str
    title: str
    reason: str
    next_step: str
    exit_code: int
    pair_path: str | None = None  # the pair's page when the submission is on the board
    replacement: str | None = None  # superseded: the id of the submission that replaced it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pair_path(submission: Submission) -> str | None:
    """The pair page's path (model, hardware, dataset version, ranking class), as the board
    names it (``ipwboard.board.pairs.PairKey``, which this app may not import)."""
    if not (submission.model_id and submission.hardware_id and submission.dataset_version_id):
        return None
    dv = submission.dataset_version
    return reverse(
        "board:pair",
        args=(
            submission.model.slug,
            submission.hardware.slug,
            dv.dataset.slug,
            dv.version,
            submission.ranking_class or submission.measurement_scope,
        ),
    )


def _held_reasons(submission: Submission) -> str:
    reasons = [
        f"{check['code']}: {check['message']}"
        for check in (submission.report or {}).get("checks", [])
        if check.get("status") == "warn"
    ]
    if submission.catalog_pending:
        reasons.append(
            "the model or hardware name is not in the board's catalog yet; staff map it to an "
            "entry (or add one)"
        )
    return "; ".join(reasons) or "staff review every result the checks flag"


def _make(code: str, reason: str, next_step: str, **extra: Any) -> Outcome:
    kind = KINDS[code]
    return Outcome(code, kind.title, reason, next_step, kind.exit_code, **extra)


def outcome(submission: Submission) -> Outcome:
    s = submission
    if s.superseded_by_id:
        return _make(
            "superseded",
            "Its owner re-submitted the same measured run with corrected metadata.",
            f"See the replacement, submission {s.superseded_by_id}; this permalink leads there.",
            replacement=str(s.superseded_by_id),
        )
    if s.withdrawn_at:
        return _make(
            "withdrawn",
            f"Withdrawn by its owner on {s.withdrawn_at:%Y-%m-%d}.",
            "Its run id is spent: the same run cannot be submitted again; measure a new run.",
        )
    if s.status in _NOT_FINAL:
        return _make(
            "pending", _NOT_FINAL[s.status], f"Wait: `ipwboard status {s.pk} --watch` follows it."
        )
    if s.status == Submission.Status.REJECTED:
        error = (s.report or {}).get("error") or {}
        return _make(
            "rejected",
            f"{error.get('code', s.error_code)}: {error.get('message', '')}".strip(": "),
            "Fix what the message names and submit again; a replay needs a new run.",
        )
    if s.status == Submission.Status.FAILED:
        return _make(
            "failed",
            (s.report or {}).get("error", {}).get("message", "The server failed."),
            "Nothing to do: staff are notified and can re-queue it.",
        )
    if s.hidden:
        return _make("hidden", "Staff hid it from the board.", "Ask staff if you disagree.")
    if s.review == Submission.Review.DENIED:
        return _make(
            "denied",
            _held_reasons(s),
            "Staff reviewed the flagged checks and did not rank it; measure a new run.",
        )
    if s.review == Submission.Review.PENDING or s.catalog_pending:
        return _make(
            "held",
            _held_reasons(s),
            f"Staff review it; this page and `ipwboard status {s.pk}` show the decision. To "
            f"correct metadata of the same run, re-submit it with `--supersedes {s.pk}`.",
        )
    return _make(
        "ranked",
        "Accepted: verified, re-scored and ranked.",
        "Share the pair's permalink.",
        pair_path=pair_path(s),
    )
