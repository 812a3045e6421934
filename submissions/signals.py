"""Signals the read side listens to (the board may import submissions, never the reverse)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after commit whenever what the board shows may have changed (scored, withdrawn, hidden ...).
# kwargs: submission_id
board_changed = Signal()
