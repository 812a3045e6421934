"""Readers for the reference harness's run directories (HazyResearch/intelligence-per-watt).

``evaluator.harness_import.import_ipw_run`` is the entry point; these modules hold what differs
between the harness's generations (see docs/harness-formats.md):

- ``detect``: which generation wrote a run directory (chained ``ipw profile``, in-window
  ``ipw profile``, or an agentic ``ipw run`` / ``ipw bench`` directory with ``traces.jsonl``);
- ``profile``: one ``ipw profile`` row -> one queries.parquet row, for both profile generations;
- ``agentic``: one ``traces.jsonl`` task -> one queries.parquet row;
- ``claims``: the harness's own grades and metrics, carried as the submitter's claim.
"""
