"""``halp-hw explore``: convergence and FPGA cost over a bits x lanes design space, on Dask.

Every configuration gets convergence runs of the golden hardware mode (one per data seed) and
synthesis + place-and-route runs (one per placement seed). Each run is a task
(:mod:`~halp_hw.explore.tasks`), executed on a Dask cluster (:mod:`~halp_hw.explore.execution`)
and cached in the output directory by a hash of its inputs and of the code and tool versions it
depends on (:mod:`~halp_hw.explore.cache`). The per-configuration rows
(:mod:`~halp_hw.explore.rows`) are written as tables (:mod:`~halp_hw.explore.report`) and plots
(:mod:`~halp_hw.explore.plots`); :func:`~halp_hw.explore.sweep.run_explore` ties it together.
"""
