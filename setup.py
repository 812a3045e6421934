"""Build hook: the curated catalog (data/catalog/**) goes into the wheel as evaluator/catalog_data/**.

Everything else about the package is declared in pyproject.toml. The catalog lives at the repo root
(it is data, reviewed as data) while a client-only install has no repo: evaluator/catalog.py reads
<repo root>/data/catalog first and this package data otherwise. Editable installs read the repo.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOG = Path(__file__).resolve().parent / "data" / "catalog"


class BuildPyWithCatalog(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False) or not CATALOG.is_dir():
            return
        target = Path(self.build_lib) / "evaluator" / "catalog_data"
        for source in sorted(CATALOG.rglob("*")):
            if source.is_file() and not source.name.startswith("."):
                dest = target / source.relative_to(CATALOG)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, dest)


setup(cmdclass={"build_py": BuildPyWithCatalog})
