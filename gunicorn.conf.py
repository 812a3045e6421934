"""gunicorn settings of the web process, read from the working directory by every ``gunicorn``
started there (the Dockerfile, docker-compose, the benchmarks and the process tests); options on
the command line win.

- Threads (gthread): a bundle upload streams for as long as the client needs, and a page's
  queries wait on PostgreSQL and Redis; with threads a worker serves other requests meanwhile.
  One process per core plus one keeps the GIL from serialising CPU-bound rendering.
- ``keepalive`` longer than the idle timeout of whatever holds connections open in front of us
  (load balancers: 60 s is common; HTTP clients: httpx keeps 5 s): otherwise the server closes an
  idle connection just as the client reuses it, and that request fails with a reset.
"""

import multiprocessing

worker_class = "gthread"
workers = min(multiprocessing.cpu_count() + 1, 8)
threads = 4
keepalive = 75
