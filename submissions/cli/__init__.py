"""The ``ipwboard`` command-line client (no Django imports)."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
