"""A plain `pip install .` must carry everything the commands load at run time."""

import ast
import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent

#: One test worker runs this module: the wheel (a module-scoped fixture) is made once.
pytestmark = pytest.mark.xdist_group("test_packaging")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    # Build from a copy: setuptools would otherwise reuse a stale build/ of the work tree.
    source = tmp_path_factory.mktemp("source") / "halp-hw"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", ".pytest_cache", "sim_build", "__pycache__",
        ".hypothesis", "*-out", "*-results"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(source)], check=True, capture_output=True)
    (path,) = out.glob("halp_hw-*.whl")
    with zipfile.ZipFile(path) as wheel:
        yield wheel


@pytest.fixture(scope="module")
def wheel_names(wheel):
    return set(wheel.namelist())


def test_wheel_holds_every_cocotb_testbench(wheel_names):
    # `halp-hw verify` and the RTL backends of `halp-hw simulate` run these modules.
    for testbench in sorted((ROOT / "sim").glob("*.py")):
        assert f"halp_hw/testbenches/{testbench.name}" in wheel_names


def test_wheel_holds_every_package_module(wheel_names):
    # source folder -> installed package (golden/ installs as halp_hw.golden)
    packages = {"golden": "halp_hw/golden", "halp_hw": "halp_hw"}
    for sub in sorted(path for path in (ROOT / "halp_hw").iterdir()
                      if (path / "__init__.py").is_file()):
        packages[f"halp_hw/{sub.name}"] = f"halp_hw/{sub.name}"
    for source, installed in packages.items():
        for module in sorted((ROOT / source).glob("*.py")):
            assert f"{installed}/{module.name}" in wheel_names


def test_wheel_holds_the_verilator_simulation_main(wheel_names):
    # every clocked design's Verilator build compiles it
    assert "halp_hw/runtime/clocked_main.cpp" in wheel_names


def test_wheel_has_no_top_level_module_but_halp_hw(wheel_names):
    top_levels = {name.split("/")[0] for name in wheel_names if ".dist-info/" not in name}
    assert top_levels == {"halp_hw"}


def _installed_requirements(wheel) -> set:
    """The distributions a plain install of the wheel brings: its own requirements and those of
    the extras it asks of them (``dask[distributed]`` brings ``distributed``)."""
    (metadata,) = (name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
    requirements = [Requirement(line) for line in
                    Parser().parsestr(wheel.read(metadata).decode()).get_all("Requires-Dist")]
    names = set()
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # the test extra
        names.add(canonicalize_name(requirement.name))
        for extra in requirement.extras:
            for line in importlib.metadata.requires(requirement.name) or ():
                needed = Requirement(line)
                if needed.marker is not None and needed.marker.evaluate({"extra": extra}):
                    names.add(canonicalize_name(needed.name))
    return names


def test_every_imported_package_is_a_requirement(wheel):
    # A module imported by the package or a testbench but installed only by hand on one machine
    # makes every simulation fail on a new one.
    local = {"halp_hw"} | {path.stem for path in (ROOT / "sim").glob("*.py")}
    imported = set()
    for folder in ("halp_hw", "golden", "sim"):
        for source in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text(), str(source))):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    imported.add(node.module.split(".")[0])
    third_party = sorted(imported - local - set(sys.stdlib_module_names))
    distributions = importlib.metadata.packages_distributions()
    required = _installed_requirements(wheel)
    assert "cocotb_coverage" in third_party  # the walk sees the testbenches' imports
    missing = {module: distributions.get(module) for module in third_party
               if not {canonicalize_name(name) for name in distributions.get(module, ())}
               & required}
    assert missing == {}
