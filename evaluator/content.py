"""A fingerprint of what a run measured, blind to how the bundle encodes it.

Replay detection by file, run id and member digests is defeated by re-encoding: the same rows written
with another Parquet compression, row-group size or dictionary setting, in another order, under a new
run id and signed by another key are new bytes. What a copy cannot change without changing the
measurements is the *content*: per query its id, response text, token counts, energy and latency.

``content_fingerprint`` canonicalises that content and hashes it:

- rows sorted by query id (the file's row order is gone);
- strings as UTF-8 bytes with their lengths (nothing of Arrow's or Parquet's encoding survives);
- numbers rounded to ``DIGITS`` significant digits and hashed as (mantissa, exponent) integers, so
  float32 and float64 columns, or a float that went through text and back, give the same value when
  they agree to 6 digits (a missing number has its own marker).

It returns three things, as one string (``ContentFingerprint.encode``) the server stores:

- ``content``: the digest of everything above. Equal digests are the same measurements: the server
  rejects the second (``bundle.replay.content``).
- ``responses``: the digest of (query id, response) only. Two honest runs of one model with greedy
  decoding can share it (the same answers measured on two machines), so it is a *candidate* key.
- ``sketch``: the energy and latency of ``SKETCH_SIZE`` queries at fixed ranks of the id order and
  the totals. When two submissions share ``responses``, their sketches are compared
  (``sketches_similar``): every value within ``TOLERANCE`` (0.5 %) means the energies were copied
  (two honest measurements of the same queries differ by more than that on at least one of 32
  queries: sampling steps alone move a query's energy by a period's worth of power), and the server
  holds the submission for review (``replay.content_similar``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evaluator.results import ItemResults

VERSION = "c1"
DIGITS = 6
SKETCH_SIZE = 32
TOLERANCE = 0.005  # relative, per sketched value (energy, latency) and for the totals
_CHUNK = 65_536  # rows hashed at a time
_NAN_EXPONENT = np.int64(2**31)  # a missing number's marker (no float has this exponent)


@dataclass(frozen=True)
class ContentFingerprint:
    content: str  # sha256 hex of the canonical content
    responses: str  # sha256 hex of the canonical (query id, response) pairs
    n: int
    total_energy_j: float
    total_latency_s: float
    sketch: tuple[tuple[float, float], ...]  # (energy_j, latency_s) at fixed ranks of the id order

    def encode(self) -> str:
        values = ",".join(f"{e!r}/{t!r}" for e, t in self.sketch)
        return (
            f"{VERSION};{self.content};{self.responses};{self.n};"
            f"{self.total_energy_j!r};{self.total_latency_s!r};{values}"
        )

    @property
    def sketch_text(self) -> str:
        """Everything but the two digests: what the server keeps beside the responses digest."""
        return self.encode().split(";", 3)[3]


def parse_content_fingerprint(text: str) -> ContentFingerprint:
    version, content, responses, n, energy, latency, values = text.split(";")
    if version != VERSION:
        raise ValueError(f"unknown content fingerprint version {version!r}")
    sketch = tuple(
        (float(e), float(t)) for e, t in (pair.split("/") for pair in values.split(",") if pair)
    )
    return ContentFingerprint(content, responses, int(n), float(energy), float(latency), sketch)


def parse_sketch(text: str) -> ContentFingerprint:
    """A ``sketch_text`` back (the digests are not part of it and come back empty)."""
    return parse_content_fingerprint(f"{VERSION};;;{text}")


def _strings(array: pa.Array) -> tuple[bytes, pa.Buffer]:
    """(lengths as little-endian int64, the UTF-8 bytes) of a string array, without copying the
    bytes: what is hashed depends on the text only, never on Arrow's or Parquet's encoding."""
    array = pc.fill_null(array.cast(pa.large_string()), "")
    offsets_buffer, data_buffer = array.buffers()[1], array.buffers()[2]
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    start, stop = int(offsets[0]), int(offsets[-1])
    data = pa.py_buffer(b"") if data_buffer is None else data_buffer.slice(start, stop - start)
    return np.diff(offsets).astype("<i8").tobytes(), data


def _hash_strings(column: pa.ChunkedArray | pa.Array, order: np.ndarray) -> bytes:
    """The digest of ``column`` in ``order``: the lengths and the bytes hashed as two streams (so
    the chunk size does not matter), a chunk at a time (a million responses are never copied)."""
    lengths_digest, data_digest = hashlib.sha256(), hashlib.sha256()
    for start in range(0, len(order), _CHUNK):
        part = pc.take(column, pa.array(order[start : start + _CHUNK]))
        if isinstance(part, pa.ChunkedArray):
            part = part.combine_chunks()
        lengths, data = _strings(part)
        lengths_digest.update(lengths)
        data_digest.update(memoryview(data))
    return lengths_digest.digest() + data_digest.digest()


def canonical_numbers(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mantissa, exponent) int64 pairs: ``values`` rounded to ``DIGITS`` significant digits."""
    v = np.asarray(values, dtype=np.float64)
    mantissa = np.zeros(len(v), dtype=np.int64)
    exponent = np.zeros(len(v), dtype=np.int64)
    exponent[np.isnan(v)] = _NAN_EXPONENT
    real = np.isfinite(v) & (v != 0)
    if real.any():
        exp = np.floor(np.log10(np.abs(v[real]))).astype(np.int64) - (DIGITS - 1)
        mant = np.rint(v[real] / np.power(10.0, exp)).astype(np.int64)
        # 9.999995e2 rounds to 1000000 (seven digits): renormalise to keep one representation.
        over = np.abs(mant) >= 10**DIGITS
        mant[over] = np.rint(mant[over] / 10).astype(np.int64)
        exp[over] += 1
        mantissa[real], exponent[real] = mant, exp
    return mantissa.astype("<i8"), exponent.astype("<i8")


def content_fingerprint(
    ids: pa.ChunkedArray | pa.Array,
    responses: pa.ChunkedArray | pa.Array,
    *,
    input_tokens: np.ndarray,
    output_tokens: np.ndarray,
    energy_j: np.ndarray,
    latency_s: np.ndarray,
) -> ContentFingerprint:
    """The fingerprint of one run's per-query content; all columns aligned, in any row order."""
    n = len(ids)
    order = pc.sort_indices(ids).to_numpy()
    answers = hashlib.sha256(f"ipwb-responses-{VERSION}\0{n}\0".encode())
    answers.update(_hash_strings(ids, order))
    answers.update(_hash_strings(responses, order))
    content = answers.copy()
    content.update(b"\0measurements\0")
    columns = [np.asarray(c, dtype=np.float64)[order] for c in (input_tokens, output_tokens)]
    energy = np.asarray(energy_j, dtype=np.float64)[order]
    latency = np.asarray(latency_s, dtype=np.float64)[order]
    for column in (*columns, energy, latency):
        mantissa, exponent = canonical_numbers(column)
        content.update(mantissa.tobytes())
        content.update(exponent.tobytes())

    ranks = np.unique(np.linspace(0, n - 1, num=min(SKETCH_SIZE, n)).round().astype(np.int64))
    finite_energy = np.where(np.isfinite(energy), energy, 0.0)
    return ContentFingerprint(
        content=content.hexdigest(),
        responses=answers.hexdigest(),
        n=n,
        total_energy_j=float(finite_energy.sum()),
        total_latency_s=float(latency.sum()),
        sketch=tuple((float(finite_energy[r]), float(latency[r])) for r in ranks),
    )


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b)) + 1e-12


def sketches_similar(a: ContentFingerprint, b: ContentFingerprint) -> bool:
    """Same number of queries and every sketched energy, latency and total within ``TOLERANCE``.

    Only meaningful for two fingerprints with the same ``responses`` digest (same ids, so the same
    ranks name the same queries)."""
    if a.n != b.n or len(a.sketch) != len(b.sketch):
        return False
    pairs = [
        (a.total_energy_j, b.total_energy_j),
        (a.total_latency_s, b.total_latency_s),
        *(
            (x, y)
            for (ex, tx), (ey, ty) in zip(a.sketch, b.sketch, strict=True)
            for x, y in ((ex, ey), (tx, ty))
        ),
    ]
    return all(_close(x, y) for x, y in pairs)


def result_fingerprint(
    items: ItemResults, input_tokens_by_row: np.ndarray, positions: np.ndarray
) -> str:
    """The engine's call: ``items`` in dataset order, input tokens in the file's row order
    (``positions[row]`` is the row's dataset index)."""
    input_tokens = np.full(len(items), np.nan)
    input_tokens[positions] = input_tokens_by_row
    return content_fingerprint(
        items.dataset_items.ids(),
        items.response,
        input_tokens=input_tokens,
        output_tokens=items.output_tokens,
        energy_j=items.energy_j,
        latency_s=items.latency_s,
    ).encode()
