"""The display preview of a power trace, built from streamed batches in the worker."""

from __future__ import annotations

import numpy as np
import pytest

from evaluator.trace_preview import MAX_POINTS, TracePreviewer


def _preview(t_ns: np.ndarray, p: np.ndarray, batch: int) -> object:
    previewer = TracePreviewer(len(p))
    for lo in range(0, len(p), batch):
        previewer.update(t_ns[lo : lo + batch], p[lo : lo + batch])
    return previewer.preview()


@pytest.mark.parametrize("batch", [7, 4096, 100_000])
def test_downsample_keeps_peaks_within_budget(batch: int) -> None:
    t = np.arange(100_000, dtype=np.int64) * 50_000_000  # 50 ms samples
    p = np.full(t.shape, 10.0)
    p[54_321] = 500.0
    p[77_777] = 1.0
    preview = _preview(t, p, batch)
    xs, ys = preview.t_s, preview.power_w
    assert len(xs) <= MAX_POINTS and max(ys) == 500.0 and min(ys) == 1.0
    assert xs == sorted(xs)
    assert xs[ys.index(500.0)] == pytest.approx(54_321 * 0.05)
    assert preview.samples == 100_000


def test_short_trace_is_kept_whole_and_empty_has_none() -> None:
    t = np.arange(5, dtype=np.int64) * 1_000_000_000
    p = np.array([5.0, 6.0, 7.0, 6.0, 5.0])
    preview = _preview(t, p, 2)
    assert preview.t_s == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert preview.power_w == [5.0, 6.0, 7.0, 6.0, 5.0]
    assert TracePreviewer(0).preview() is None
