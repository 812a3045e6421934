"""The submitter's claims (accuracy, IPW, IPJ) against the board's own figures.

Claims come from the manifest (``claimed``; the reference harness's ``ipw analyze`` results when
imported) and are never used for anything but this cross-check: a claim above ours by more than
the tolerance warns and holds the submission for review. First scoring and re-judging
(``evaluator.rejudge``) both call it.
"""

from __future__ import annotations

from evaluator.limits import Limits
from evaluator.manifest_model import Manifest
from evaluator.types import Check, Metrics

MANIFEST = "manifest.json"
# A claimed IPW or IPJ more than this above ours is flagged (held for review, never used). The
# harness's ``ipw analyze`` and the board define both the same way (accuracy over the mean of
# E_q / t_q, and over the mean E_q); on the reference runs the two differ by 0.1-1.6% (which
# queries had power but no energy), so 5% leaves room for that and catches a real overstatement.
EFFICIENCY_CLAIM_GAP = 0.05


def claim_checks(manifest: Manifest, metrics: Metrics, limits: Limits) -> list[Check]:
    """The submitter's claims (accuracy, IPW, IPJ) against ours: a claim above ours by more than
    the tolerance warns (held for review). Claims are never used for anything else."""
    checks: list[Check] = []
    claimed = manifest.claimed_accuracy
    if claimed is not None and claimed - metrics.accuracy > limits.claim_gap:
        checks.append(
            Check(
                "accuracy.claim_gap",
                "warn",
                f"the bundle claims accuracy {claimed:.3f}; re-scoring gives "
                f"{metrics.accuracy:.3f}",
                file=MANIFEST,
                field="claimed.accuracy",
            )
        )
    for name, theirs, ours in (
        ("ipw", manifest.claimed_ipw, metrics.ipw),
        ("ipj", manifest.claimed_ipj, metrics.ipj),
    ):
        if theirs is None:
            continue
        if theirs > ours * (1 + EFFICIENCY_CLAIM_GAP):
            checks.append(
                Check(
                    f"{name}.claim_gap",
                    "warn",
                    f"the bundle claims {name.upper()} {theirs:.4g}; the board computes "
                    f"{ours:.4g} (more than {EFFICIENCY_CLAIM_GAP:.0%} below the claim)",
                    file=MANIFEST,
                    field=f"claimed.{name}",
                )
            )
        else:
            checks.append(
                Check(
                    f"{name}.claim",
                    "pass",
                    f"claimed {name.upper()} {theirs:.4g}; the board computes {ours:.4g}",
                    file=MANIFEST,
                    field=f"claimed.{name}",
                )
            )
    return checks


def claim_labels(checks: list[Check]) -> list[str]:
    """The board's labels for ``claim_checks``' warnings."""
    codes = {check.code for check in checks if check.status == "warn"}
    labels = ["accuracy-claim-gap"] if "accuracy.claim_gap" in codes else []
    if codes & {"ipw.claim_gap", "ipj.claim_gap"}:
        labels.append("efficiency-claim-gap")
    return labels
