"""The server's own flags on a result, and why they survive judging and re-scoring.

The engine flags what it can see in one bundle (warnings, labels). Some suspicions need the other
submissions, which only the server has: a trace shaped like an accepted one's
(``replay.trace_similar``), the same answers with copied energies (``replay.content_similar``).
They are folded into the engine's ``EvaluationResult`` (``flagged``) before anything is recorded,
so the Evaluation, the submission's labels, its report and its review state all carry them.

Judging and re-scoring run the engine again and record a new Evaluation; the engine cannot
recompute these flags, so every recording path passes its result through ``carry_server_flags``,
which adds the flags found at first scoring. (Admission is not re-litigated on re-scoring, see
``.rescore``: the flags are kept, not searched for again.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from evaluator.content import (
    TOLERANCE,
    parse_content_fingerprint,
    parse_sketch,
    sketches_similar,
)
from evaluator.types import BundleInfo, Check, EvaluationResult

from .. import codes
from ..models import Fingerprint, Submission

# check code -> the label the board shows for it. Every check the server adds is listed here.
SERVER_FLAGS: dict[str, str] = {
    "replay.trace_similar": "trace-replay-suspect",
    "replay.content_similar": "content-replay-suspect",
}
PROVISIONAL = "provisional"  # the engine's label for "some check warned"
_ACCEPTED = (Submission.Status.SCORED, Submission.Status.JUDGING)


def flagged(result: EvaluationResult, flags: Iterable[Check]) -> EvaluationResult:
    """``result`` with the server's ``flags`` appended (once each) and their labels added."""
    known = {(check.code, check.message) for check in result.checks}
    new = [check for check in flags if (check.code, check.message) not in known]
    if not new:
        return result
    labels = list(result.labels)
    for check in new:
        label = SERVER_FLAGS.get(check.code)
        if label and label not in labels:
            labels.append(label)
    if any(check.status == "warn" for check in new) and PROVISIONAL not in labels:
        labels.append(PROVISIONAL)
    return dataclasses.replace(result, checks=(*result.checks, *new), labels=tuple(labels))


def server_flags(submission: Submission) -> list[Check]:
    """The server flags recorded for ``submission`` (from its report's checks)."""
    checks: list[dict[str, Any]] = (submission.report or {}).get("checks") or []
    return [
        Check(
            code=check["code"],
            status=check["status"],
            message=check["message"],
            file=check.get("file"),
            row=check.get("row"),
            field=check.get("field"),
        )
        for check in checks
        if isinstance(check, dict) and check.get("code") in SERVER_FLAGS
    ]


def carry_server_flags(submission: Submission, result: EvaluationResult) -> EvaluationResult:
    """A later recording of ``submission`` (judging, re-scoring) keeps its server flags."""
    return flagged(result, server_flags(submission))


# -- the flags --------------------------------------------------------------------------------


def trace_flags(similar: str | None) -> list[Check]:
    if similar is None:
        return []
    return [
        Check(
            "replay.trace_similar",
            "warn",
            f"The telemetry trace is near-identical in shape to submission {similar}'s: "
            "held for staff review.",
            file="trace.parquet",
        )
    ]


def content_claims(info: BundleInfo) -> list[tuple[str, str, str]]:
    """The unique fingerprint of the measured content: (kind, value, code) for the claim loop."""
    if not info.content_fingerprint:
        return []
    digest = parse_content_fingerprint(info.content_fingerprint).content
    return [(Fingerprint.Kind.CONTENT, digest, codes.REPLAY_CONTENT)]


def content_flags(submission: Submission, info: BundleInfo) -> list[Check]:
    """Store the run's answers digest and energy sketch; flag an accepted submission with the same
    answers whose energies and latencies agree within ``evaluator.content.TOLERANCE``."""
    if not info.content_fingerprint:
        return []
    ours = parse_content_fingerprint(info.content_fingerprint)
    Fingerprint.objects.get_or_create(  # taken over already when this one supersedes another
        kind=Fingerprint.Kind.RESPONSES,
        value=ours.responses,
        submission=submission,
        defaults={"detail": ours.sketch_text},
    )
    candidates = (
        Fingerprint.objects.filter(kind=Fingerprint.Kind.RESPONSES, value=ours.responses)
        .exclude(submission=submission)
        .filter(submission__status__in=_ACCEPTED, submission__superseded_by__isnull=True)
        .order_by("submission__created_at")
        .values_list("submission_id", "detail")
    )
    for other, detail in candidates.iterator():
        if sketches_similar(ours, parse_sketch(detail)):
            return [
                Check(
                    "replay.content_similar",
                    "warn",
                    f"Every response is the same as in submission {other}, and the energies and "
                    f"latencies agree within {TOLERANCE:.1%}: a copy of its measurements? Held "
                    "for staff review.",
                    file="queries.parquet",
                )
            ]
    return []
