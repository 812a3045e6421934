"""Domain models, split by concern; import them from here."""

from __future__ import annotations

from .catalog import (
    AIModel,
    BenchmarkDataset,
    CatalogAlias,
    DatasetItem,
    DatasetVersion,
    Hardware,
)
from .identity import ApiToken, Challenge, Organisation, SigningKey
from .judging import JudgeVerdict
from .submission import AuditLog, Evaluation, Fingerprint, QueryResult, Submission, TracePreview
from .uploads import DirectUpload

__all__ = [
    "AIModel",
    "ApiToken",
    "AuditLog",
    "BenchmarkDataset",
    "CatalogAlias",
    "Challenge",
    "DatasetItem",
    "DatasetVersion",
    "DirectUpload",
    "Evaluation",
    "Fingerprint",
    "Hardware",
    "JudgeVerdict",
    "Organisation",
    "QueryResult",
    "SigningKey",
    "Submission",
    "TracePreview",
]
