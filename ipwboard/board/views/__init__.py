"""Board pages. One view and one template serve a page and its htmx fragment."""

from __future__ import annotations

from .compare import compare
from .leaderboard import agentic_page, hardware_page, leaderboard, model_page
from .pages import methodology, submission_status, trends_page
from .pair import badge, pair
from .reasoning import reasoning_page
from .routing import routing_page

__all__ = [
    "agentic_page",
    "badge",
    "compare",
    "hardware_page",
    "leaderboard",
    "methodology",
    "model_page",
    "pair",
    "reasoning_page",
    "routing_page",
    "submission_status",
    "trends_page",
]
