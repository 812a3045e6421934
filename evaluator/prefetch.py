"""Run a producer a few items ahead on a thread, so decoding overlaps other work.

Why: the telemetry trace is the largest member (10 M samples are ~240 MB of Parquet) and decoding
it is most of validation's time. pyarrow decodes without the GIL, so on a thread it runs on the
other core while the engine reads the queries and runs the workload and timing checks. Items and
any exception come out on the consuming thread, in order, exactly where the plain generator would
have produced them: which check fails first does not change.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar, cast

T = TypeVar("T")
_DONE = object()


class Prefetch(Generic[T]):
    """``Prefetch(lambda: make_iterable(), depth)``; iterate it once; ``close()`` when done.

    The factory itself runs on the thread too (opening a file can fail: that error is raised by
    the first ``next``). At most ``depth`` items wait in memory.
    """

    def __init__(self, factory: Callable[[], Iterable[T]], depth: int = 4) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(factory,), name="prefetch", daemon=True
        )
        self._thread.start()

    def _put(self, value: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, factory: Callable[[], Iterable[T]]) -> None:
        try:
            for item in factory():
                if not self._put((item, None)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put((None, exc))
            return
        self._put(_DONE)

    def __iter__(self) -> Iterator[T]:
        while True:
            got = self._queue.get()
            if got is _DONE:
                return
            item, error = cast(tuple[T, BaseException | None], got)
            if error is not None:
                raise error
            yield item

    def close(self) -> None:
        """Stop the producer (it may be blocked on a full queue) and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                self._thread.join(0.05)
