"""The board's one column registry (``ipwboard/board/columns.py``, issue 14): a column is declared
once, and the table, its sort options and headers, the API row and its OpenAPI serializer, the
exports and their data dictionary, the pair page, compare and the per-query dictionary all come
from it. Nothing else lists a metric (the scan below fails if a template or module does).

Data go through the real pipeline (tests/browser/boarddata.py). The engine's per-query means are
set on the evaluations directly (an Evaluation is never rewritten in production; here the figures
stand in for the engine's).
"""

from __future__ import annotations

import ast
import csv
import re
import string
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from django.core.cache import cache

from evaluator import perquery
from ipwboard.board import api, columns, exports
from ipwboard.board.exports_columns import QUERY_COLUMNS, arrow_schema, board_columns
from ipwboard.board.pairs import PairKey
from submissions.models import Evaluation, Submission
from tests.browser.boarddata import SPECS, build_board
from tests.conftest import Persona

ROOT = Path(__file__).resolve().parent.parent

# What a newer harness run reports (issue 14), as the engine's per-query means.
MEANS: dict[str, float] = {
    "mean_input_tokens": 412.0,
    "mean_output_tokens": 230.0,
    "mean_reasoning_tokens": 1850.0,
    "mean_prefill_energy_j": 3.25,
    "mean_decode_energy_j": 41.5,
    "mean_prefill_s": 0.0625,
    "mean_decode_s": 2.5,
    "mean_cpu_energy_j": 6.5,
    "mean_ane_energy_j": 0.875,
    "mean_gpu_utilization_pct": 71.5,
    "mean_turns": 6.5,
    "mean_tool_calls": 4.25,
    "mean_tool_s": 1.5,
}
NONE: dict[str, None] = dict.fromkeys(MEANS)  # a run that reports none of them


def report(submission: Submission, **means: float | None) -> None:
    Evaluation.objects.filter(pk=submission.current_evaluation_id).update(**means)
    cache.clear()  # not a board write: nothing retires the cached pages by itself


@pytest.fixture
def two(alice: Persona, alice_key: Any, demo_version: Any, make_bundle: Any) -> list[Submission]:
    """Two pairs of one ranking: sparrow-1b and sparrow-3b on the laptop SoC."""
    return build_board(alice, alice_key, demo_version, make_bundle, SPECS[5:])


# --- the registry itself ------------------------------------------------------------------------


def test_the_registry_is_consistent() -> None:
    registry = columns.COLUMNS
    assert len({c.key for c in registry}) == len(registry), "a key declared twice"
    assert len({c.api_key for c in columns.on("api")}) == len(columns.on("api"))
    assert len(columns.sorts()) == sum(1 for c in registry if c.sort), "a sort key twice"
    by_key = columns.by_key()
    loaded = {c.key for c in columns.row_columns()}
    for c in registry:
        assert c.source or c.compute, f"{c.key}: neither a source nor a computation"
        assert c.help and c.label, f"{c.key}: say what it is"
        for part in (*c.note, *c.detail):
            parsed = [(key, spec) for _, key, spec, _ in string.Formatter().parse(part) if key]
            keys = [key for key, _ in parsed]
            assert keys and set(keys) <= set(by_key), f"{c.key}: {part!r} names no column"
            assert all(re.fullmatch(r"n?\d?", spec or "") for _, spec in parsed), part
            if part in c.note:  # a table cell's second line reads the row
                assert set(keys) <= loaded, f"{c.key}: the table row lacks {keys}"
        if c.places & {"table", "agentic", "figure", "history", "chart"}:
            assert c.kind == "metric", f"{c.key}: identity cells are the templates' own"
        if c.places & {"table", "agentic"}:
            assert c.sort, f"{c.key}: a table column sorts"
    for _, keys in (*columns.LEAD, *columns.TRAIL):
        assert set(keys) <= set(columns.sorts())
    assert columns.headline(), "the pair page has headline figures"
    assert {c.group for c in columns.on("figure")} <= {key for key, _ in columns.GROUPS}


def test_every_figure_of_an_evaluation_is_a_column() -> None:
    """A numeric Evaluation field (a migration adds one) cannot be left out of the board."""
    numeric = {
        f.name
        for f in Evaluation._meta.concrete_fields
        if f.get_internal_type() in ("FloatField", "PositiveIntegerField", "IntegerField")
    }
    assert numeric <= {c.source for c in columns.on("export")}, numeric - {
        c.source for c in columns.on("export")
    }


def test_evaluation_means_are_the_per_query_columns() -> None:
    """Each ``mean_<x>`` is the mean of the per-query file's column ``x``: one vocabulary."""
    means = {c.key.removeprefix("mean_") for c in columns.COLUMNS if c.key.startswith("mean_")}
    means -= {"power_w", "energy_j"}  # the headline means, of E_q / t_q and E_q
    assert means <= set(perquery.SCHEMA.names)
    assert means == {k.removeprefix("mean_") for k in MEANS}


def test_the_per_query_dictionary_is_the_files_schema() -> None:
    assert [c.name for c in QUERY_COLUMNS] == perquery.SCHEMA.names
    for column, field in zip(QUERY_COLUMNS, perquery.SCHEMA, strict=True):
        assert column.description, f"describe {column.name}"
        integer = pa.types.is_integer(field.type)
        assert (column.type == "int") == integer, column.name
    assert {"input_tokens", "reasoning_tokens"} <= {c.name for c in columns.DRILLDOWN}


def test_bad_places_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown places"):
        columns.Column("x", "X", "ipw", "float", on="api tabel")
    with pytest.raises(ValueError, match="unknown place"):
        columns.on("sidebar")


# --- nothing else lists a metric ---------------------------------------------------------------

IPW = frozenset({"ipw", "ipw_low", "ipw_high"})
# (files, metric keys they may name, why). Everything else iterates the registry.
ALLOWED: tuple[tuple[tuple[str, ...], frozenset[str], str], ...] = (
    (
        (
            "ipwboard/board/models.py",
            "ipwboard/board/readmodel.py",
            "ipwboard/board/queries.py",
            "ipwboard/board/pairs.py",
            "ipwboard/board/state.py",
            "ipwboard/board/exports.py",
            "ipwboard/board/views/pair.py",
            "ipwboard/board/charts.py",
        ),
        IPW,
        "IPW is the ranking rule, not a column choice: ranks and ties, each pair's best (the read "
        "model copies it), the default sort and the exports' order, the badge, the history chart",
    ),
    (
        ("ipwboard/board/charts.py",),
        frozenset({"accuracy", "n_scored"}),
        "per-domain accuracy is a key of Evaluation.per_domain (JSON), not the accuracy column",
    ),
    (
        (
            "ipwboard/board/trends.py",
            "ipwboard/board/views/pages.py",
            "templates/board/trends.html",
        ),
        frozenset({"ipw", "accuracy", "mean_energy_j"}),
        "the trends page is defined by these: IPW over time, the accuracy-energy frontier",
    ),
    (
        (
            "ipwboard/board/routing_view.py",
            "ipwboard/board/views/routing.py",
            "templates/board/routing.html",
        ),
        IPW
        | {"accuracy", "accuracy_low", "accuracy_high", "ipj", "ipj_low", "ipj_high"}
        | {"mean_energy_j", "mean_power_w", "total_energy_j", "n_queries"},
        "the routing analysis's own result layout (evaluator.routing policies), not board rows",
    ),
    (
        (
            "ipwboard/board/reasoning.py",
            "ipwboard/board/reasoning_api.py",
            "ipwboard/board/charts_reasoning.py",
            "templates/board/reasoning.html",
        ),
        IPW | {"accuracy", "mean_reasoning_tokens", "mean_tool_calls", "mean_turns"},
        "the reasoning chart is defined by what it plots: IPW against reasoning tokens and tool "
        "calls (its own points and API, a separate page)",
    ),
)


def _metric_keys() -> set[str]:
    return {c.key for c in columns.COLUMNS if c.kind == "metric"}


def _python_names(path: Path, keys: set[str]) -> set[str]:
    """Metric keys a module names in code: attributes, string literals (ORM paths included),
    keyword arguments, class-body fields. Docstrings and comments do not count."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str | None] = []
        if isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                names = [node.value.lstrip("-").split("__")[-1]]
        elif isinstance(node, ast.keyword):
            names = [node.arg]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        found |= {name for name in names if name in keys}
    return found


def _template_names(path: Path, keys: set[str]) -> set[str]:
    """Metric keys a template names: ``x.key``, ``"key"`` or an ORM-style ``__key``."""
    alternatives = "|".join(sorted(keys, key=len, reverse=True))
    pattern = rf"(?:\.|__|[\"'])({alternatives})\b"
    return set(re.findall(pattern, path.read_text()))


def _listed_by_hand() -> dict[str, set[str]]:
    keys = _metric_keys()
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "ipwboard" / "board").rglob("*.py")):
        if "migrations" in path.parts or path.name == "columns.py":
            continue
        found[str(path.relative_to(ROOT))] = _python_names(path, keys)
    for path in sorted((ROOT / "templates" / "board").glob("*.html")):
        found[str(path.relative_to(ROOT))] = _template_names(path, keys)
    return {name: hits for name, hits in found.items() if hits}


def test_no_template_or_module_lists_a_metric_by_hand() -> None:
    allowed: dict[str, set[str]] = {}
    for files, keys, _reason in ALLOWED:
        for name in files:
            allowed.setdefault(name, set()).update(keys)
    found = _listed_by_hand()
    offenders = {
        name: sorted(hits - allowed.get(name, set()))
        for name, hits in found.items()
        if hits - allowed.get(name, set())
    }
    assert not offenders, (
        f"metrics listed by hand (iterate ipwboard/board/columns.py instead): {offenders}"
    )
    # An allowance nothing needs any more goes.
    stale = [name for name in allowed if not (found.get(name, set()) & allowed[name])]
    assert not stale, f"allow-list entries no longer needed: {stale}"


def test_the_scan_finds_a_metric_listed_by_hand(tmp_path: Path) -> None:
    keys = _metric_keys()
    module = tmp_path / "m.py"
    module.write_text(
        '"""mean_power_w in a docstring does not count."""\n'
        "class S:\n    mean_energy_j = 1\n"
        "x = row.mean_turns\ny = qs.values('evaluation__mean_input_tokens')\nf(ipj=1)\n"
    )
    assert _python_names(module, keys) == {
        "mean_energy_j",
        "mean_turns",
        "mean_input_tokens",
        "ipj",
    }
    template = tmp_path / "t.html"
    template.write_text(
        '{{ row.mean_power_w|sig:3 }} {% if k == "latency_p50_s" %}Accuracy.{% endif %}'
    )
    assert _template_names(template, keys) == {"mean_power_w", "latency_p50_s"}


# --- the registry drives every output -----------------------------------------------------------

THROWAWAY = columns.Column(
    "throwaway_metric",
    "Throwaway figure",
    "mean_turns",  # read from an existing field
    "float",
    "widgets",
    "A column that exists only in this test.",
    "api export table figure",
    group="headline",
    suffix="wg",
)


def test_a_column_added_to_the_registry_reaches_every_output(
    two: list[Submission], anonymous: Persona, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    report(two[0], mean_turns=7.25)
    report(two[1], mean_turns=None)
    monkeypatch.setattr(columns, "COLUMNS", (*columns.COLUMNS, THROWAWAY))

    rows = anonymous.api.get("/api/v1/leaderboard/").json()
    assert {r["submission"]: r["throwaway_metric"] for r in rows} == {
        str(two[0].pk): 7.25,
        str(two[1].pk): None,
    }
    assert "throwaway_metric" in api.build_serializer()().fields

    exports.build_board_csv(tmp_path / "board.csv")
    with (tmp_path / "board.csv").open() as fh:
        header = next(csv.reader(fh))
    assert header[-1] == "throwaway_metric"
    assert header == [c.name for c in board_columns()] == arrow_schema().names
    dictionary = {c["name"]: c for c in exports.data_dictionary()}
    assert dictionary["throwaway_metric"]["unit"] == "widgets"

    page = anonymous.client.get("/").content.decode()
    assert "Throwaway figure" in page and "7.25\u00a0wg" in page
    pair = anonymous.client.get(PairKey.of(two[0]).url()).content.decode()
    assert "<dt>Throwaway figure</dt><dd>7.25 <small>wg</small>" in pair
