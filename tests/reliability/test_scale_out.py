"""Two worker processes on one queue, a burst of submissions: each is processed exactly once.

Every message is also published a second time (what a redelivery or an eager sweeper does), so
the two workers really do race for the same submissions; the conditional claim decides.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from submissions.models import Evaluation, Submission
from tests.conftest import Persona, Signer
from tests.perquery import query_rows
from tests.reliability.conftest import final_status, post_bundle, send_task, wait_for
from tests.reliability.servers import Redis

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BURST = 16


def test_two_workers_process_a_burst_exactly_once(
    web: str,
    broker: Redis,
    start_worker: Any,
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    bundle_factory: Any,
) -> None:
    bundles = [bundle_factory(alice_key) for _ in range(BURST)]
    with start_worker() as one, start_worker() as two:
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda b: post_bundle(web, alice, b), bundles))
        assert [r.status_code for r in responses] == [201] * BURST
        ids = [r.json()["id"] for r in responses]
        for pk in ids:  # duplicate deliveries
            send_task(broker.url(), "submissions.tasks.evaluate_submission", pk, queue="validation")
        assert {final_status(pk) for pk in ids} == {"scored"}
        logs = [Path(one.log_path), Path(two.log_path)]
        # Let the duplicates drain: each must be consumed (and found already done).
        wait_for(lambda: sum(_succeeded(log) for log in logs) >= 2 * BURST, 60, "duplicates")

    assert Submission.objects.filter(pk__in=ids).count() == BURST
    for pk in ids:
        submission = Submission.objects.get(pk=pk)
        assert submission.attempts == 1, "claimed once"
        assert Evaluation.objects.filter(submission_id=pk).count() == 1
    # Each evaluation's per-query file holds every item once (issue 13: rows became files).
    assert sum(len(query_rows(e)) for e in Evaluation.objects.filter(submission_id__in=ids)) == (
        BURST * demo_version.item_count
    )
    done = [_succeeded(log) for log in logs]
    assert sum(done) == 2 * BURST, done  # every message (original + duplicate) was consumed
    assert all(count > 0 for count in done), f"both workers took work: {done}"


def _succeeded(log: Path) -> int:
    return len(re.findall(r"evaluate_submission\[[^\]]+\] succeeded", log.read_text()))
