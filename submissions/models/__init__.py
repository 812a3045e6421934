"""Domain models, split by concern; import them from here."""

from __future__ import annotations

from .catalog import AIModel, BenchmarkDataset, DatasetItem, DatasetVersion, Hardware
from .identity import ApiToken, Challenge, Organisation, SigningKey
from .submission import AuditLog, Evaluation, Fingerprint, QueryResult, Submission

__all__ = [
    "AIModel",
    "ApiToken",
    "AuditLog",
    "BenchmarkDataset",
    "Challenge",
    "DatasetItem",
    "DatasetVersion",
    "Evaluation",
    "Fingerprint",
    "Hardware",
    "Organisation",
    "QueryResult",
    "SigningKey",
    "Submission",
]
