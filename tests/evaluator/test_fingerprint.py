"""Trace fingerprints: a replayed trace (shifted, rescaled, lightly noised, cropped) is similar;
an honest rerun of the same workload on the same hardware is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from badbundles import CORPUS_KEY, make_valid_bundle

from evaluator.engine import evaluate
from evaluator.fingerprint import (
    BINS,
    TraceFingerprinter,
    parse_fingerprint,
    trace_similarity,
    traces_similar,
)
from evaluator.types import Dataset

PERIOD = 0.05


def workload_power(seed: int, queries: int = 400, jitter: float = 0.0) -> np.ndarray:
    """Power of a run: idle gaps and per-query load plateaus, plus meter noise.

    The query sequence (and so the load pattern) is fixed; ``seed`` draws the run's own noise and
    timing jitter, as two honest runs of one workload on one machine would differ.
    """
    plan = np.random.default_rng(1234)  # the workload: same for every run
    lengths = plan.uniform(0.5, 4.0, queries)
    loads = plan.uniform(150.0, 450.0, queries)
    run = np.random.default_rng(seed)
    pieces = []
    for length, load in zip(lengths, loads, strict=True):
        length *= 1 + jitter * run.normal()
        pieces.append(np.full(max(1, int(length / PERIOD)), load))
        pieces.append(np.full(max(1, int(run.uniform(0.05, 0.3) / PERIOD)), 90.0))
    power = np.concatenate(pieces)
    return power + run.normal(0.0, 6.0, len(power))


def fingerprint(power: np.ndarray, start_ns: int = 1_760_000_000_000_000_000) -> str:
    stamps = start_ns + np.arange(len(power), dtype=np.int64) * int(PERIOD * 1e9)
    fp = TraceFingerprinter(len(power))
    for at in range(0, len(power), 4096):  # streamed in batches, like the engine
        fp.update(stamps[at : at + 4096], power[at : at + 4096])
    text = fp.digest()
    assert text is not None
    return text


def test_same_trace_with_noise_offset_and_rescale_is_similar() -> None:
    original = workload_power(seed=1, jitter=0.1)
    noise = np.random.default_rng(9).normal(0.0, 2.0, len(original))
    replay = 1.07 * original + 12.0 + noise  # recalibrated, offset and lightly noised
    a = fingerprint(original)
    b = fingerprint(replay, start_ns=1_790_000_000_000_000_000)  # months later
    assert traces_similar(a, b) and traces_similar(b, a)
    assert traces_similar(a, a)


def test_cropped_replay_is_similar() -> None:
    original = workload_power(seed=2, jitter=0.1)
    cropped = original[len(original) // 100 :]  # the first 1% cut off
    assert traces_similar(fingerprint(original), fingerprint(cropped))


def test_honest_reruns_of_one_workload_are_not_similar() -> None:
    # Latencies vary by ~10% between runs (sampling, batching, clocks). Deterministic reruns
    # with identical timings would look alike and be held for a look: that is the intent.
    runs = [fingerprint(workload_power(seed=s, jitter=0.1)) for s in range(3, 7)]
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            assert not traces_similar(a, b), trace_similarity(a, b)


def test_different_lengths_and_bad_input_are_not_similar() -> None:
    a = fingerprint(workload_power(seed=1))
    b = fingerprint(workload_power(seed=1, queries=300))
    assert not traces_similar(a, b)
    assert not traces_similar(a, None) and not traces_similar(None, None)
    assert not traces_similar(a, "v1:garbage")
    assert not traces_similar(a, "v9:1:1:1:1:AAAA")


def test_fingerprint_text_is_compact_and_parses() -> None:
    text = fingerprint(workload_power(seed=1))
    assert len(text) < 800
    parsed = parse_fingerprint(text)
    assert BINS // 2 < parsed.shape.size <= BINS
    assert parsed.mean_w == pytest.approx(250, rel=0.3)
    with pytest.raises(ValueError):
        parse_fingerprint("v1:1:1:1:1:" + "A" * 8)


def test_too_short_trace_has_no_fingerprint() -> None:
    fp = TraceFingerprinter(50)
    fp.update(np.arange(50, dtype=np.int64), np.full(50, 100.0))
    assert fp.digest() is None  # fewer than 64 slices: no shape worth comparing


def test_engine_exposes_the_fingerprint(
    tmp_path: Path, valid_bundle: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    result = evaluate(valid_bundle, corpus_dataset, trusted_keys=trusted_keys)
    assert traces_similar(result.bundle.trace_fingerprint, result.bundle.trace_fingerprint)
    no_trace = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY, with_trace=False)
    assert (
        evaluate(no_trace, corpus_dataset, trusted_keys=trusted_keys).bundle.trace_fingerprint
        is None
    )
