"""The ``ipwboard`` command-line client (no Django imports)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    # Imported lazily so `python -m submissions.cli.main` runs without runpy's double-import warning.
    from .main import main as run

    return run(argv)


__all__ = ["main"]
