"""Benchmark: what the chart pages (pair, compare, trends) cost a phone to load (issue 13).

Starts the throwaway stack of the load scripts (``bench/_stack.py``: PostgreSQL, Redis, one Celery
worker, gunicorn; the demo board seeded through the real pipeline), optionally inflates one pair's
best evaluation to ``--queries`` per-query rows, then opens each chart page in Debian's Chromium
(Playwright, a fresh context per page so nothing is cached, 390 x 844 like the browser tests'
phone) and sums every response the page loads: HTML, CSS, scripts, images.

Two figures per page: the bytes sent (this stack serves uncompressed, as ``runserver`` does) and
the same responses gzipped at level 9, which is what production sends for static files
(WhiteNoise's ``CompressedManifestStaticFilesStorage`` precompresses them at level 9; the HTML is
compressed the same way by the proxy in front). The per-resource lines show where the weight is.

INFLATING is for this benchmark only: ``--queries N`` copies the pair's per-query rows with SQL
(``generate_series``; jittered values) until it has N, then recomputes its chart bins with the
same function the data migration uses, where the code has bins. Building a real 1M-query bundle
takes minutes (``bench_pipeline.py`` does that); the page only reads the rows and the bins.

Usage: ``.venv/bin/python bench/bench_page_weight.py [--queries 20000]``
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._stack import count_rows, log, stack  # noqa: E402
from tests.reliability.servers import manage  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}

# Copies one evaluation's rows (jittered) until it has ``target``; then its bins, if the code
# stores any (the "before" code has none: nothing to recompute).
_INFLATE = """
from django.db import connection
from submissions.models import Evaluation
e = Evaluation.objects.get(pk={pk})
if hasattr(e, "queries_file"):  # per-query results are a Parquet file (issue 13)
    import numpy as np, pyarrow as pa
    from evaluator.bins import chart_bins
    from evaluator.results import STATUS_CODE
    from submissions.services.perquery import read_results, store_results_table
    table = read_results(e.queries_file.name)
    n = table.num_rows
    total = max(n, {target})
    grown = table.take(pa.array(np.arange(total) % n))
    jitter = np.where(np.arange(total) < n, 1.0, 0.5 + np.random.default_rng(0).random(total))
    energy = grown.column("energy_j").to_numpy(zero_copy_only=False) * jitter
    latency = grown.column("latency_s").to_numpy(zero_copy_only=False) * jitter
    ids = [q if i < n else f"{{q}}~{{i}}" for i, q in enumerate(grown.column("query_id").to_pylist())]
    for name, values in (("position", pa.array(np.arange(total, dtype=np.int32))),
                         ("query_id", pa.array(ids)),
                         ("energy_j", pa.array(energy, mask=np.isnan(energy))),
                         ("latency_s", pa.array(latency))):
        grown = grown.set_column(grown.column_names.index(name), name, values)
    status = np.array([STATUS_CODE[s] for s in grown.column("status").to_pylist()], np.uint8)
    Evaluation.objects.filter(pk=e.pk).update(
        n_queries=total, queries_file=store_results_table(e.submission_id, grown),
        bins=chart_bins(energy, latency, status))
    print("QUERIES=%d" % total)
else:
    n = e.queries.count()
    copies = max(0, ({target} - 1) // n)
    with connection.cursor() as c:
        c.execute('''
            INSERT INTO submissions_queryresult (evaluation_id, position, query_id, domain, method,
                status, extracted, reason, response, energy_j, latency_s, ttft_s, output_tokens)
            SELECT q.evaluation_id, q.position + g * %s, q.query_id || '~' || g, q.domain, q.method,
                q.status, q.extracted, q.reason, q.response, q.energy_j * (0.5 + random()),
                q.latency_s * (0.5 + random()), q.ttft_s, q.output_tokens
            FROM submissions_queryresult q, generate_series(1, %s) g
            WHERE q.evaluation_id = %s''', [n, copies, e.pk])
    Evaluation.objects.filter(pk=e.pk).update(n_queries=e.queries.count())
    if hasattr(e, "bins"):
        from evaluator.bins import bins_from_rows
        rows = e.queries.values_list("energy_j", "latency_s", "status").iterator(chunk_size=20000)
        Evaluation.objects.filter(pk=e.pk).update(bins=bins_from_rows(rows))
    print("QUERIES=%d" % e.queries.count())
"""


def gz(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=9, mtime=0))


def weigh(browser: Any, url: str) -> list[tuple[str, int, int]]:
    """(path, bytes, gzipped bytes) of every response loading ``url`` needs, cold."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    seen: list[Any] = []
    page.on("response", lambda response: seen.append(response))
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if page.locator("[data-chart]").count():
        page.wait_for_selector(".js-plotly-plot")
    out = []
    for response in seen:
        body = response.body() if response.status < 300 else b""
        out.append((urlsplit(response.url).path, len(body), gz(body)))
    context.close()
    return out


def kb(n: int) -> str:
    return f"{n / 1000:,.1f} kB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=0, help="inflate one pair to N queries")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with stack(web_workers=1, web_threads=2, worker_processes=1, board_refresh_s=0) as s:
        # In the leaderboard's order: the first is the top-ranked pair.
        pairs = list(dict.fromkeys(re.findall(r'href="(/pairs/[^"?#]+/)"', _get(s.url + "/"))))
        if not pairs:
            raise SystemExit("no pair on the seeded board")
        tokens = [p.strip("/").split("/", 1)[1].replace("/", "~") for p in pairs]
        if args.queries:
            # The best evaluation of the first pair: the one its page shows.
            pk = _headline(s.env, pairs[0])
            out = manage(s.env, "shell", "-c", _INFLATE.format(pk=pk, target=args.queries))
            log(out.strip().splitlines()[-1])
        pages = [
            ("pair", pairs[0]),
            ("compare", "/compare/?pairs=" + ",".join(tokens[:3])),
            ("trends", "/trends/"),
        ]
        rows = count_rows(s.env, "SELECT count(*) FROM submissions_queryresult")
        print(f"board: {len(pairs)} pairs, {rows[0][0]} per-query rows; phone {PHONE}")
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            for name, path in pages:
                found = weigh(browser, s.url + path)
                total, total_gz = sum(r[1] for r in found), sum(r[2] for r in found)
                print(f"\n{name}: {path}")
                for resource, size, zipped in found:
                    print(f"  {resource[-70:]:70} {kb(size):>12} {kb(zipped):>12} gz")
                print(f"  {'TOTAL':70} {kb(total):>12} {kb(total_gz):>12} gz")
            browser.close()
    return 0


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def _headline(env: dict[str, str], path: str) -> int:
    model, hardware, dataset, version, scope = path.strip("/").split("/")[1:]
    out = manage(
        env,
        "shell",
        "-c",
        "from ipwboard.board.pairs import PairKey, best, pair_evaluations\n"
        f"key = PairKey({model!r}, {hardware!r}, {dataset!r}, {version!r}, {scope!r})\n"
        "print('PK=%d' % best(list(pair_evaluations(key))).pk)",
    )
    return int(next(line[3:] for line in out.splitlines() if line.startswith("PK=")))


if __name__ == "__main__":
    raise SystemExit(main())
