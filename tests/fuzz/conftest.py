"""Bounded fuzzing (hypothesis): hostile input reaches the engine only as typed errors.

Every test has a fixed ``max_examples`` and a generous per-example deadline that only a
pathological case (catastrophic regex backtracking, a symbolic blow-up) would hit; the whole
directory runs in well under a minute. ``IPWBOARD_FUZZ_EXAMPLES`` scales the budget for a longer
run (e.g. nightly): ``IPWBOARD_FUZZ_EXAMPLES=5000 pytest tests/fuzz``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("IPWBOARD_FUZZ_EXAMPLES", "150"))

settings.register_profile(
    "fuzz",
    max_examples=EXAMPLES,
    deadline=10_000,  # ms per example: only a hang or an exponential blow-up gets near it
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("CI", "") not in ("", "0", "false"),  # CI: reproducible
    print_blob=True,
)
FUZZ = settings.get_profile("fuzz")
