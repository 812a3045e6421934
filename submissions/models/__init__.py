"""Domain models, split by concern; import them from here."""

from __future__ import annotations

from .catalog import (
    AIModel,
    BenchmarkDataset,
    CatalogAlias,
    DatasetVersion,
    Hardware,
)
from .identity import ApiToken, Challenge, Organisation, SigningKey
from .judging import JudgeVerdict
from .submission import AuditLog, Evaluation, Fingerprint, Submission, TracePreview
from .uploads import DirectUpload

__all__ = [
    "AIModel",
    "ApiToken",
    "AuditLog",
    "BenchmarkDataset",
    "CatalogAlias",
    "Challenge",
    "DatasetVersion",
    "DirectUpload",
    "Evaluation",
    "Fingerprint",
    "Hardware",
    "JudgeVerdict",
    "Organisation",
    "SigningKey",
    "Submission",
    "TracePreview",
]
