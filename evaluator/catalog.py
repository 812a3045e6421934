"""The curated catalog of accelerators and models (``data/catalog/``), read as plain data.

Identity is data: an H100 is whatever the reviewed catalog says, never what a submitter typed. The
engine resolves a manifest's model and hardware names through the catalog's aliases and passes the
entries to the physics checks as plain values, so it stays Django-free; the server extends the same
catalog with what staff mapped or added (``Catalog.extended``) and resolves with the same code.

Matching is by a normalised name: Unicode NFKC, case-folded, without spaces, underscores and
hyphens for hardware ("NVIDIA H100 80GB HBM3" ~ "nvidia-h100-80gb-hbm3"); model names keep their
punctuation ("qwen2.5:7b" and "qwen25:7b" are not the same tag).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

_REPO_CATALOG = Path(__file__).resolve().parents[1] / "data" / "catalog"
_HW_DROP = re.compile(r"[\s_\-]+")


class CatalogError(Exception):
    """The catalog files are missing or do not follow their schema (our bug, not the user's)."""


def normalise_hardware_name(name: str) -> str:
    return _HW_DROP.sub("", unicodedata.normalize("NFKC", name).casefold())


def normalise_model_name(name: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name).casefold()).strip()


@dataclass(frozen=True)
class Accelerator:
    key: str
    name: str
    vendor: str
    family: str
    kind: str  # gpu, soc, cpu, npu
    form_factor: str
    device_class: str  # datacenter, workstation, desktop, laptop, phone, edge
    memory_gb: float | None
    memory_bandwidth_gbs: float | None
    tdp_w: float | None
    idle_low_w: float | None
    idle_high_w: float | None
    release_date: str | None  # YYYY-MM-DD or YYYY-MM
    methods: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: str = ""

    @property
    def local(self) -> bool:
        """Runs where its user is (laptop, desktop, workstation, phone, edge), not in a cloud."""
        return self.device_class != "datacenter"


@dataclass(frozen=True)
class ModelAlias:
    name: str
    kind: str  # hf, ollama, gguf, mlx, other
    quantization: str | None = None


@dataclass(frozen=True)
class ModelEntry:
    key: str
    name: str
    organisation: str
    family: str
    params_total_b: float | None
    params_active_b: float | None
    architecture: str  # dense, moe
    release_date: str | None
    licence: str | None
    context_length: int | None
    reasoning: bool
    aliases: tuple[ModelAlias, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: str = ""


@dataclass(frozen=True)
class GenericLabel:
    """A label that names no chip ("GPU" for every Mac): packing needs ``--hardware``."""

    label: str
    vendor: str | None
    why: str


@dataclass(frozen=True)
class HardwareMatch:
    entry: Accelerator | None
    generic: GenericLabel | None
    matched: str | None  # the name that matched (an alias), or None


@dataclass(frozen=True)
class ModelMatch:
    entry: ModelEntry | None
    quantization: str | None  # implied by the alias (an Ollama tag's default), if any
    matched: str | None


@dataclass(frozen=True)
class Catalog:
    accelerators: Mapping[str, Accelerator]
    models: Mapping[str, ModelEntry]
    generic_labels: tuple[GenericLabel, ...] = ()
    # Names staff mapped on the server: normalised name -> catalog key.
    extra_hardware_aliases: Mapping[str, str] = field(default_factory=dict)
    extra_model_aliases: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        hardware: dict[str, str] = {}
        for entry in self.accelerators.values():
            for name in (entry.name, *entry.aliases):
                hardware.setdefault(normalise_hardware_name(name), entry.key)
        hardware.update(self.extra_hardware_aliases)
        models: dict[str, tuple[str, str | None]] = {}
        for model in self.models.values():
            models.setdefault(normalise_model_name(model.name), (model.key, None))
            for alias in model.aliases:
                models.setdefault(normalise_model_name(alias.name), (model.key, alias.quantization))
        for name, key in self.extra_model_aliases.items():
            models[name] = (key, None)
        generic = {normalise_hardware_name(g.label): g for g in self.generic_labels}
        object.__setattr__(self, "_hardware_index", hardware)
        object.__setattr__(self, "_model_index", models)
        object.__setattr__(self, "_generic_index", generic)

    # -- resolution ---------------------------------------------------------------------------
    def resolve_hardware(self, *names: str | None) -> HardwareMatch:
        """The entry the first name that matches names; the first generic label seen otherwise.

        Callers pass the most specific name first (the NVML device name, then the harness label).
        """
        index: dict[str, str] = self._hardware_index  # type: ignore[attr-defined]
        generics: dict[str, GenericLabel] = self._generic_index  # type: ignore[attr-defined]
        generic = None
        for name in names:
            if not name:
                continue
            norm = normalise_hardware_name(name)
            key = index.get(norm)
            if key is not None and key in self.accelerators:
                return HardwareMatch(self.accelerators[key], None, name)
            if generic is None and norm in generics:
                generic = generics[norm]
        return HardwareMatch(None, generic, None)

    def resolve_model(self, name: str) -> ModelMatch:
        index: dict[str, tuple[str, str | None]] = self._model_index  # type: ignore[attr-defined]
        found = index.get(normalise_model_name(name))
        if found is None and ":" not in name and "/" not in name:
            # Ollama reads a bare name as its ":latest" tag ("llama3.2" is "llama3.2:latest").
            found = index.get(normalise_model_name(f"{name}:latest"))
        if found is None or found[0] not in self.models:
            return ModelMatch(None, None, None)
        return ModelMatch(self.models[found[0]], found[1], name)

    def is_generic_hardware(self, name: str) -> GenericLabel | None:
        generics: dict[str, GenericLabel] = self._generic_index  # type: ignore[attr-defined]
        return generics.get(normalise_hardware_name(name))

    def accelerators_of(self, vendor: str | None) -> list[Accelerator]:
        return sorted(
            (a for a in self.accelerators.values() if vendor is None or a.vendor == vendor),
            key=lambda a: (a.release_date or "", a.name),
        )

    def known_names(self) -> Iterable[str]:
        """Every canonical name and alias (for look-alike detection)."""
        for entry in self.accelerators.values():
            yield entry.name
            yield from entry.aliases
        for model in self.models.values():
            yield model.name
            yield from (alias.name for alias in model.aliases)

    def extended(
        self,
        *,
        accelerators: Iterable[Accelerator] = (),
        models: Iterable[ModelEntry] = (),
        hardware_aliases: Mapping[str, str] | None = None,
        model_aliases: Mapping[str, str] | None = None,
    ) -> Catalog:
        """This catalog plus entries and aliases staff added on a server (keys are catalog keys;
        alias names are normalised here)."""
        return replace(
            self,
            accelerators={**self.accelerators, **{a.key: a for a in accelerators}},
            models={**self.models, **{m.key: m for m in models}},
            extra_hardware_aliases={
                **self.extra_hardware_aliases,
                **{normalise_hardware_name(k): v for k, v in (hardware_aliases or {}).items()},
            },
            extra_model_aliases={
                **self.extra_model_aliases,
                **{normalise_model_name(k): v for k, v in (model_aliases or {}).items()},
            },
        )


# -- loading ----------------------------------------------------------------------------------


def catalog_dir() -> Path:
    """The repository's ``data/catalog`` or, in an installed wheel, ``evaluator/catalog_data``."""
    if (_REPO_CATALOG / "accelerators.json").is_file():
        return _REPO_CATALOG
    packaged = Path(str(resources.files("evaluator").joinpath("catalog_data")))
    if (packaged / "accelerators.json").is_file():
        return packaged
    raise CatalogError(f"no catalog found at {_REPO_CATALOG} or {packaged}")


def _read(directory: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / f"{name}.json").read_text("utf-8"))
    schema = json.loads((directory / "schema" / f"{name}.schema.json").read_text("utf-8"))
    errors = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: e.path)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path)
        raise CatalogError(f"{name}.json: {where}: {errors[0].message}")
    return data


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def parse_accelerator(raw: Mapping[str, Any]) -> Accelerator:
    idle = raw.get("idle_power_w") or {}
    return Accelerator(
        key=raw["key"],
        name=raw["name"],
        vendor=raw["vendor"],
        family=raw.get("family") or "",
        kind=raw["kind"],
        form_factor=raw["form_factor"],
        device_class=raw["class"],
        memory_gb=_float(raw.get("memory_gb")),
        memory_bandwidth_gbs=_float(raw.get("memory_bandwidth_gbs")),
        tdp_w=_float(raw.get("tdp_w")),
        idle_low_w=_float(idle.get("low")),
        idle_high_w=_float(idle.get("high")),
        release_date=raw.get("release_date"),
        methods=tuple(raw.get("methods") or ()),
        aliases=tuple(raw.get("aliases") or ()),
        sources=dict(raw.get("sources") or {}),
        notes=raw.get("notes") or "",
    )


def parse_model(raw: Mapping[str, Any]) -> ModelEntry:
    return ModelEntry(
        key=raw["key"],
        name=raw["name"],
        organisation=raw.get("organisation") or "",
        family=raw.get("family") or "",
        params_total_b=_float(raw.get("params_total_b")),
        params_active_b=_float(raw.get("params_active_b")),
        architecture=raw.get("architecture") or "dense",
        release_date=raw.get("release_date"),
        licence=raw.get("licence"),
        context_length=raw.get("context_length"),
        reasoning=bool(raw.get("reasoning")),
        aliases=tuple(
            ModelAlias(a["name"], a.get("kind", "other"), a.get("quantization"))
            for a in raw.get("aliases") or ()
        ),
        sources=dict(raw.get("sources") or {}),
        notes=raw.get("notes") or "",
    )


def read_catalog(directory: Path) -> Catalog:
    accelerators = _read(directory, "accelerators")
    models = _read(directory, "models")
    return Catalog(
        accelerators={e["key"]: parse_accelerator(e) for e in accelerators["entries"]},
        models={e["key"]: parse_model(e) for e in models["entries"]},
        generic_labels=tuple(
            GenericLabel(g["label"], g.get("vendor"), g.get("why") or "")
            for g in accelerators.get("generic_labels") or ()
        ),
    )


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The shipped catalog, read and schema-checked once per process."""
    return read_catalog(catalog_dir())
