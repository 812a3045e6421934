"""The manifest parser: any bytes, any JSON, any mutation of a valid manifest -> dict or
BundleError, nothing else (no KeyError, TypeError, RecursionError, ValueError...)."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluator.errors import BundleError
from evaluator.manifest import json_depth, read_manifest, validate_manifest
from evaluator.types import Dataset
from submissions import demo
from tests.fuzz.conftest import FUZZ
from tests.reliability.bundles import demo_dataset

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)


@pytest.fixture(scope="module")
def valid_manifest() -> dict[str, Any]:
    dataset: Dataset = demo_dataset()
    manifest, _, _ = demo.synth_run(
        dataset,
        demo.find_model("demo/heron-8b"),
        demo.find_hardware("Demo Workstation GPU"),
        run_date="2025-06-01",
    )
    assert read_manifest(json.dumps(manifest).encode())
    return manifest


def _parse(data: bytes) -> None:
    try:
        result = read_manifest(data)
    except BundleError as error:
        assert error.code and error.message
        return
    assert isinstance(result, dict)


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes(data: bytes) -> None:
    _parse(data)


@FUZZ
@given(json_values)
def test_any_json_document(value: Any) -> None:
    _parse(json.dumps(value).encode())


@FUZZ
@given(st.integers(1, 5000), st.sampled_from(["[", '{"a":', '[{"b":[']))
def test_deep_nesting_is_refused_without_recursion(depth: int, opener: str) -> None:
    data = (opener * depth).encode()
    assert json_depth(data) >= min(depth, 1)
    _parse(data)


@FUZZ
@given(data=st.data())
def test_mutated_valid_manifest(data: st.DataObject, valid_manifest: dict[str, Any]) -> None:
    manifest = copy.deepcopy(valid_manifest)
    for _ in range(data.draw(st.integers(1, 4))):
        path = _random_path(data, manifest)
        if not path:
            continue
        *parents, last = path
        holder: Any = manifest
        for key in parents:
            holder = holder[key]
        action = data.draw(st.sampled_from(["drop", "replace", "stringify"]))
        if action == "drop":
            del holder[last]
        elif action == "replace":
            holder[last] = data.draw(json_values)
        else:
            holder[last] = str(holder[last])
    _parse(json.dumps(manifest).encode())
    with contextlib.suppress(BundleError):
        validate_manifest(manifest)


def _random_path(data: st.DataObject, manifest: dict[str, Any]) -> list[Any]:
    path: list[Any] = []
    node: Any = manifest
    while isinstance(node, dict | list) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        path.append(key)
        node = node[key]
        if data.draw(st.booleans()):
            break
    return path
