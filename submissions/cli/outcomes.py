"""What happened to a submission, in the same words everywhere, and the CLI's exit codes.

One table: the API's ``outcome`` object (``submissions.services.outcome``), the status page and the
CLI all take an outcome's title from here, and the CLI exits with its code. Django-free, so the
client-only install has it too. The README's exit-code table lists these rows.
"""

from __future__ import annotations

from dataclasses import dataclass

# Exit codes of the ``ipwboard`` command (README, "Exit codes").
ON_BOARD = 0
REJECTED = 1
LOCAL_ERROR = 2  # usage, a missing file, a local preflight that failed, ...
SERVER_UNREACHABLE = 3  # network down or the server erring, after the retries
FAILED = 4
HELD = 5
REFUSED_AT_UPLOAD = 6
OFF_BOARD = 7
NOT_FINAL = 8


@dataclass(frozen=True)
class Kind:
    code: str
    exit_code: int
    title: str  # what the status page, the API and the CLI say first


KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in (
        Kind("ranked", ON_BOARD, "On the board"),
        Kind("held", HELD, "Held for review: accepted, not on the board yet"),
        Kind("rejected", REJECTED, "Rejected: not on the board"),
        Kind("denied", REJECTED, "Not ranked after staff review"),
        Kind("hidden", REJECTED, "Hidden by staff: not on the board"),
        Kind("failed", FAILED, "Failed on our side: not your bundle's fault"),
        Kind("withdrawn", OFF_BOARD, "Withdrawn by its owner: off the board"),
        Kind("superseded", OFF_BOARD, "Replaced by a corrected submission"),
        Kind("pending", NOT_FINAL, "Not final yet"),
    )
}

# The README's table, as (exit code, meaning); a test holds the README equal to it.
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (ON_BOARD, "on the board: ranked; the pair's permalink is printed"),
    (
        REJECTED,
        "rejected by the checks (the error code and message are printed), or not ranked "
        "after staff review, or hidden by staff",
    ),
    (LOCAL_ERROR, "usage or local error: a bad option, a missing file, a local preflight failure"),
    (SERVER_UNREACHABLE, "the server could not be reached or kept failing (after retries)"),
    (FAILED, "failed on the server's side (crash, time limit): staff can re-queue it"),
    (
        HELD,
        "held for review: accepted but not on the board until staff decide; the reason and "
        "what happens next are printed",
    ),
    (
        REFUSED_AT_UPLOAD,
        "refused at upload (replay of an accepted run, too large, rate limited, bad token)",
    ),
    (
        OFF_BOARD,
        "no longer on the board by its owner's action: withdrawn, or superseded (the "
        "replacement's link is printed)",
    ),
    (NOT_FINAL, "not final yet: queued, running or judging (`--wait` gave up waiting)"),
)


def exit_code(outcome_code: str) -> int:
    kind = KINDS.get(outcome_code)
    return kind.exit_code if kind is not None else NOT_FINAL
