"""Human output by default (rich), JSON with --json; errors always go to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table


class Output:
    def __init__(self, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        self.console = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def result(self, data: Any, human: str) -> None:
        if self.json_mode:
            print(json.dumps(data, indent=2, default=str))
        else:
            self.console.print(human, markup=False)

    def progress(self, message: str) -> None:
        if not self.json_mode:
            self.err.print(message, markup=False)

    def table(self, rows: list[dict[str, Any]], columns: list[str]) -> None:
        if self.json_mode:
            print(json.dumps(rows, indent=2, default=str))
            return
        table = Table(*columns)
        for row in rows:
            table.add_row(*(str(row.get(col, "")) for col in columns))
        self.console.print(table)

    def submission(self, s: dict[str, Any]) -> None:
        """A submission and its outcome, in the status page's words (``outcomes``)."""
        outcome = s.get("outcome") or {}
        lines = [f"Submission {s['id']}: {outcome.get('title') or s['status']}"]
        if outcome.get("reason"):
            lines.append(f"  {outcome['reason']}")
        error = (s.get("report") or {}).get("error")
        if error and error["code"] not in outcome.get("reason", ""):
            lines.append(f"  error [{error['code']}]: {error['message']}")
        evaluation = s.get("evaluation")
        if evaluation:
            lines.append(
                f"  IPW {evaluation['ipw']:.5f} /W  accuracy {evaluation['accuracy']:.3f}  "
                f"IPJ {evaluation['ipj']:.5f} /J"
            )
        if outcome.get("next_step"):
            lines.append(f"  Next: {outcome['next_step']}")
        # On the board: the pair's permalink (what to share); otherwise the submission's page.
        lines.append(f"  {outcome.get('pair_url') or s['permalink']}")
        self.result(s, "\n".join(lines))

    def error(self, code: str, message: str) -> None:
        if self.json_mode:
            print(json.dumps({"error": {"code": code, "message": message}}), file=sys.stderr)
        else:
            self.err.print(f"error [{code}]: {message}", markup=False)
