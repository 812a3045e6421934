"""Load on the public board while uploads go on; prints its figures and stops by itself.

    .venv/bin/python bench/load_board.py [--rate 220] [--duration 60] [--web-workers 3]

Starts a throwaway stack on loopback (PostgreSQL, Redis, a Celery worker, gunicorn, the demo
board seeded through the real pipeline), then for ``--duration`` seconds sends board requests at a
fixed ``--rate`` (open loop: a slow answer does not slow the sender, so latencies are honest) over
a mix of pages (leaderboard, filters, pairs, models, hardware, trends, badges, the JSON API), while
a submitter uploads a new bundle every ``--upload-every`` seconds and the worker scores it (each
scored one bumps the board's cache version, so caches really are invalidated under load: within
``--refresh`` seconds, production's IPWBOARD_BOARD_REFRESH_SECONDS; ``--refresh 0`` at once).

Pass/fail (exit 1 on a miss): achieved rate >= 200 req/s, 0 errors, p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from _stack import build_bundles, count_rows, log, percentile, stack, submitter

TARGET_RATE = 200.0
TARGET_P95_MS = 200.0


def board_urls(base: str) -> list[str]:
    """Every kind of public read, discovered from the seeded leaderboard."""
    page = httpx.get(base + "/", timeout=30).text
    links = sorted(set(re.findall(r'href="(/(?:pairs|models|hardware)/[^"#?]+)"', page)))
    pairs = [link for link in links if link.startswith("/pairs/")]
    urls = [
        "/",
        "/?scope=accelerator",
        "/?hw_class=local",  # (was "class=local", which is no filter: the same page as "/")
        "/?sort=ipj",
        "/api/v1/leaderboard/",
        "/trends/",
        "/methodology/",
        *links,
        *(pair + "badge.svg" for pair in pairs[:5]),
    ]
    # The leaderboard is what most visitors load: weight it.
    return ["/"] * 6 + ["/api/v1/leaderboard/"] * 3 + urls


class Connections:
    """Keep-alive HTTP/1.1 GETs over a pool of connections to one server, for the load loop.

    httpx costs the sender about 1.5 ms of CPU per request: at 220 requests/s that is half a core
    of this 2-core machine, and the sender's own event loop fell behind in bursts, which showed as
    server latency (a request is timed from when it was due). This client does only what the
    loop needs (GET, Content-Length or chunked bodies, keep-alive) for a small fraction of that.
    """

    def __init__(self, base: str) -> None:
        url = httpx.URL(base)
        self.host, self.port = url.host, url.port or 80
        self.request_head = f"Host: {self.host}:{self.port}\r\nAccept: */*\r\n\r\n".encode()
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> int:
        """The status of ``GET path``; the body is read in full (as a browser would)."""
        reader, writer = await self._connection()
        try:
            writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.request_head)
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")
            headers = dict(
                (name.strip().lower(), value.strip())
                for name, _, value in (line.partition(":") for line in lines if line)
            )
            if headers.get("transfer-encoding", "").lower() == "chunked":
                while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                    await reader.readexactly(size + 2)
                await reader.readuntil(b"\r\n")
            else:
                await reader.readexactly(int(headers.get("content-length", "0")))
        except BaseException:
            writer.close()
            raise
        if headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append((reader, writer))
        return int(status_line.split(" ", 2)[1])

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer = self.idle.pop()  # the most recently used: least likely to be closed
            if not reader.at_eof():
                return reader, writer
            writer.close()  # the server closed it while idle
        return await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def hammer(
    base: str, urls: list[str], rate: float, duration: float
) -> tuple[list[float], Counter[str], float]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    # More requests in flight than connections means the server has fallen behind: count each
    # further request as an error at once instead of queueing without bound in the client.
    max_in_flight = 128
    in_flight = 0
    rng = random.Random(7)
    client = Connections(base)

    async def one(path: str, due: float) -> None:
        nonlocal in_flight
        in_flight += 1
        try:
            async with asyncio.timeout(10):
                status = await client.get(path)
            if status != 200:
                errors[f"HTTP {status} {path}"] += 1
                return
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
            errors[f"{type(exc).__name__} {path}"] += 1
            return
        finally:
            in_flight -= 1
        latencies.append(time.perf_counter() - due)  # from when it was due: no omission

    tasks = []
    start = time.perf_counter()
    total = int(rate * duration)
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= max_in_flight:
            errors[f"overload: {max_in_flight} requests already in flight"] += 1
            continue
        tasks.append(asyncio.create_task(one(rng.choice(urls), due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    client.close()
    return latencies, errors, elapsed


def uploads(base: str, token: str, bundles: list[Path], every: float, stop: threading.Event,
            results: Counter[str]) -> None:  # fmt: skip
    with httpx.Client(base_url=base, headers={"Authorization": f"Token {token}"}) as client:
        for bundle in bundles:
            if stop.is_set():
                return
            try:
                with bundle.open("rb") as fh:
                    response = client.post(
                        "/api/v1/submissions/", files={"bundle": (bundle.name, fh)}, timeout=60
                    )
                results[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                results[type(exc).__name__] += 1
            stop.wait(every)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=220.0, help="requests per second to send")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--upload-every", type=float, default=2.0, help="seconds between uploads")
    parser.add_argument(
        "--refresh",
        type=int,
        default=5,
        help="IPWBOARD_BOARD_REFRESH_SECONDS: a scored upload reaches the cached pages within this "
        "many seconds (production's default 5; 0: every scoring retires every page at once)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated paths to load instead of the full mix (e.g. '/' for the cached "
        "leaderboard alone)",
    )
    args = parser.parse_args()

    with stack(
        web_workers=args.web_workers,
        web_threads=args.web_threads,
        worker_processes=1,
        board_refresh_s=args.refresh,
    ) as s:
        token, pem = submitter(s.env, "board-bench")
        wanted = int(args.duration / args.upload_every) + 5
        bundles = build_bundles(s.workdir / "bundles", pem, wanted, first_seed=50_000)
        urls = [p for p in args.only.split(",") if p] or board_urls(s.url)
        log(f"{len(set(urls))} distinct board URLs; warming the caches")
        with httpx.Client(base_url=s.url, timeout=30) as client:
            for path in set(urls):
                client.get(path).raise_for_status()

        stop = threading.Event()
        upload_results: Counter[str] = Counter()
        uploader = threading.Thread(
            target=uploads,
            args=(s.url, token, bundles, args.upload_every, stop, upload_results),
            daemon=True,
        )
        scored_before = count_rows(s.env, "select count(*) from submissions_submission "
                                          "where status = 'scored'")[0][0]  # fmt: skip
        log(f"{args.rate:.0f} req/s for {args.duration:.0f}s, uploads every {args.upload_every}s")
        uploader.start()
        latencies, errors, elapsed = asyncio.run(hammer(s.url, urls, args.rate, args.duration))
        stop.set()
        uploader.join()
        scored_after = count_rows(s.env, "select count(*) from submissions_submission "
                                         "where status = 'scored'")[0][0]  # fmt: skip

    done = len(latencies) + sum(errors.values())
    achieved = len(latencies) / elapsed  # answered with a 200: errors do not count as served
    p50, p95, p99 = (percentile(latencies, q) * 1000 for q in (50, 95, 99))
    print("\nboard load")
    print(
        f"  requests      {done} sent at {args.rate:.0f}/s in {elapsed:.1f}s; "
        f"{len(latencies)} served = {achieved:.1f} req/s"
    )
    print(f"  errors        {sum(errors.values())}")
    for what, n in errors.most_common(5):
        print(f"                {n} x {what}")
    print(
        f"  latency ms    p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {max(latencies, default=0) * 1000:.1f}"
    )
    print(f"  uploads       {dict(upload_results)} during the run; "
          f"{scored_after - scored_before} scored while under load")  # fmt: skip
    ok = achieved >= TARGET_RATE and not errors and p95 < TARGET_P95_MS
    print(f"  verdict       {'PASS' if ok else 'FAIL'} (>= {TARGET_RATE:.0f} req/s, 0 errors, "
          f"p95 < {TARGET_P95_MS:.0f} ms)")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
