"""The cocotb testbenches (installed as ``halp_hw.testbenches``).

cocotb imports each module by its plain name (``tb_core``) with this directory on ``sys.path``,
as :mod:`halp_hw.runtime.simulators` arranges; they are not meant to be imported as a package.
"""
