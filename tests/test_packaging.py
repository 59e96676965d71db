"""A plain `pip install .` must carry everything the commands load at run time."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: One test worker runs this module: the wheel (a module-scoped fixture) is made once.
pytestmark = pytest.mark.xdist_group("test_packaging")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory):
    # Build from a copy: setuptools would otherwise reuse a stale build/ of the work tree.
    source = tmp_path_factory.mktemp("source") / "halp-hw"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", ".pytest_cache", "sim_build", "__pycache__",
        ".hypothesis", "*-out", "*-results"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(source)], check=True, capture_output=True)
    (wheel,) = out.glob("halp_hw-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


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
