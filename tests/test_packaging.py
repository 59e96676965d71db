"""A plain `pip install .` must carry everything the commands load at run time."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
    for package in ("golden", "halp_hw", "halp_hw/hdl", "halp_hw/commands"):
        for module in sorted((ROOT / package).glob("*.py")):
            assert f"{package}/{module.name}" in wheel_names
