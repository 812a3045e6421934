"""Bad cases: the optional per-query columns (``evaluator.bundle.tables.OPTIONAL_QUERY_COLUMNS``).

Every rule of ``tables._check_optional`` and the type check has a case here: a negative value in
each optional column (one case per column, derived from the table: a new column gets its case),
utilisation above 100 %, reasoning tokens above output tokens, phase energies above the query's
energy, NaN and infinity, a wrong type and a duplicated column. The valid corpus bundle gains one
sane optional column of that kind and one bad value at ``BAD_ROW``. ``EXPECTED_WHERE`` says which
field and row each error must name (checked by ``test_bad_bundles``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from badbundles.rewrite import CASES, BadCase, case, mutate
from evaluator.bundle.tables import OPTIONAL_QUERY_COLUMNS

BAD_ROW = 2
# case name -> (field, row) the error must name
EXPECTED_WHERE: dict[str, tuple[str, int | None]] = {}


def _sane(name: str, table: pa.Table) -> list[Any]:
    """Plausible values of an optional column for the corpus queries."""
    energy = table.column("energy_j").to_pylist()
    output = table.column("output_tokens").to_pylist()
    if name == "reasoning_tokens":
        return [tokens // 2 for tokens in output]
    if name in ("prefill_energy_j", "decode_energy_j"):
        return [e * 0.4 for e in energy]  # the two phases together: 80 % of the query
    if name == "gpu_utilization_pct":
        return [55.0] * table.num_rows
    return [1] * table.num_rows if name in ("turns", "tool_calls") else [0.5] * table.num_rows


def with_column(
    name: str, bad: Any, kind: pa.DataType | None = None
) -> Callable[[pa.Table], pa.Table]:
    """The queries with optional column ``name`` added, ``bad`` at BAD_ROW."""

    def change(table: pa.Table) -> pa.Table:
        column = next(c for c in OPTIONAL_QUERY_COLUMNS if c.name == name)
        values = _sane(name, table)
        values[BAD_ROW] = bad(table) if callable(bad) else bad
        return table.append_column(
            pa.field(name, kind or column.type), pa.array(values, kind or column.type)
        )

    return change


def _register(name: str, code: str, where: tuple[str, int | None], change: Any) -> None:
    def build(valid: Path, tmp: Path) -> Path:
        return mutate(valid, tmp, queries=change)

    build.__name__ = name
    CASES.append(BadCase(name, build, code))
    EXPECTED_WHERE[name] = where


for _column in OPTIONAL_QUERY_COLUMNS:
    _register(
        f"optional_{_column.name}_negative",
        "bundle.queries.optional_invalid",
        (_column.name, BAD_ROW),
        with_column(_column.name, -1),
    )

for _name, _value in (("nan", float("nan")), ("infinite", float("inf"))):
    _register(
        f"optional_prefill_s_{_name}",
        "bundle.queries.non_finite",
        ("prefill_s", BAD_ROW),
        with_column("prefill_s", _value),
    )


@case("bundle.queries.optional_invalid")
def optional_gpu_utilization_above_100(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=with_column("gpu_utilization_pct", 140.0))


@case("bundle.queries.optional_invalid")
def optional_reasoning_above_output_tokens(valid: Path, tmp: Path) -> Path:
    more = lambda t: t.column("output_tokens")[BAD_ROW].as_py() + 1  # noqa: E731
    return mutate(valid, tmp, queries=with_column("reasoning_tokens", more))


@case("bundle.queries.phase_energy")
def optional_decode_energy_above_the_query(valid: Path, tmp: Path) -> Path:
    def over(table: pa.Table) -> pa.Table:
        table = with_column("prefill_energy_j", lambda t: t.column("energy_j")[BAD_ROW].as_py())(
            table
        )
        # Prefill alone is the whole query: any decode energy on top exceeds it.
        return with_column("decode_energy_j", lambda t: t.column("energy_j")[BAD_ROW].as_py())(
            table
        )

    return mutate(valid, tmp, queries=over)


@case("bundle.queries.schema")
def optional_turns_written_as_float(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=with_column("turns", 1.5, pa.float64()))


@case("bundle.queries.schema")
def optional_cpu_energy_written_as_text(valid: Path, tmp: Path) -> Path:
    def text(table: pa.Table) -> pa.Table:
        values = [str(v) for v in _sane("cpu_energy_j", table)]
        return table.append_column(pa.field("cpu_energy_j", pa.string()), pa.array(values))

    return mutate(valid, tmp, queries=text)


@case("bundle.queries.schema")
def optional_tool_s_twice(valid: Path, tmp: Path) -> Path:
    def twice(table: pa.Table) -> pa.Table:
        return with_column("tool_s", 0.5)(with_column("tool_s", 0.5)(table))

    return mutate(valid, tmp, queries=twice)


EXPECTED_WHERE.update(
    optional_gpu_utilization_above_100=("gpu_utilization_pct", BAD_ROW),
    optional_reasoning_above_output_tokens=("reasoning_tokens", BAD_ROW),
    optional_decode_energy_above_the_query=("prefill_energy_j", BAD_ROW),
    optional_turns_written_as_float=("turns", None),
    optional_cpu_energy_written_as_text=("cpu_energy_j", None),
    optional_tool_s_twice=("tool_s", None),
)
