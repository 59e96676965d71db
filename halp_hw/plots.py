"""Plots shared by the ``halp-hw`` commands.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot, no global backend
state), so commands and tests can call them from anywhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

__all__ = ["SOLVER_LABELS", "solver_label", "plot_convergence"]

#: Legend names of the solver keys.
SOLVER_LABELS = {
    "sgd": "SGD", "svrg": "SVRG", "lp_sgd": "LP-SGD", "lp_svrg": "LP-SVRG", "halp": "HALP",
    "halp_hw": "HALP",
}
#: What a solver key adds after its precision in the legend.
_LABEL_SUFFIXES = {"halp_hw": " hardware mode"}
#: Line styles other than solid: the hardware mode is dashed, so that real-valued HALP, which
#: it follows closely, stays visible beneath it.
_LINE_STYLES = {"halp_hw": {"linestyle": "--", "marker": "x"}}


def solver_label(key: str, hyperparameters: dict) -> str:
    """``"HALP (8-bit)"``: the legend name, with the precision for low-precision solvers
    (``"HALP (8-bit hardware mode)"`` for ``halp_hw``)."""
    name = SOLVER_LABELS.get(key, key)
    bits = hyperparameters.get("bits")
    suffix = _LABEL_SUFFIXES.get(key, "")
    if bits is None:
        return f"{name} ({suffix.strip()})" if suffix else name
    return f"{name} ({bits}-bit{suffix})"


def plot_convergence(traces: dict, path, title: str, *, reference: float | None = None) -> Path:
    """Write a log-scale plot of ``rel_subopt`` per epoch, one labeled line per trace.

    Parameters
    ----------
    traces : dict of str to halp_hw.golden.trace.Trace
        The runs, keyed by solver key; plotted in this order.
    path : str or pathlib.Path
        The image file to write (its suffix picks the format, e.g. ``.png``).
    title : str
        The figure title (may span lines).
    reference : float, optional
        A target level to mark with a dashed horizontal line (e.g. 1e-12).

    Zero or non-finite points (an exact optimum, a diverged run) cannot be drawn on a log axis
    and are left out of their line. Traces with a ``test_metric`` (held-out data) get a second
    panel below: that metric per epoch.
    """
    tested = {key: trace for key, trace in traces.items() if trace.test_metric}
    # A diverged run's 1e300 overflows the log axis' autoscale margins: harmless, not a warning.
    with np.errstate(over="ignore"):
        figure = Figure(figsize=(7.0, 7.0 if tested else 4.5), dpi=120, layout="constrained")
        axes = figure.add_subplot(2 if tested else 1, 1, 1)
        for key, trace in traces.items():
            values = np.asarray(trace.rel_subopt, dtype=np.float64)
            values = np.where(np.isfinite(values) & (values > 0), values, np.nan)
            axes.plot(np.arange(values.size), values, **_line_style(key),
                      label=solver_label(key, trace.hyperparameters))
        if reference is not None:
            axes.axhline(reference, color="0.5", linestyle="--", linewidth=1,
                         label=f"{reference:g}")
        axes.set_yscale("log")
        axes.set_xlabel("epoch k")
        axes.set_ylabel(r"$(f(w_k) - f^*) \,/\, (f(w_0) - f^*)$")
        axes.set_title(title, fontsize=10)
        axes.grid(True, which="major", alpha=0.4)
        axes.legend(loc="best")
        if tested:
            _plot_test_metric(tested, figure.add_subplot(2, 1, 2, sharex=axes))
        path = Path(path)
        figure.savefig(path)
    return path


def _plot_test_metric(traces: dict, axes) -> None:
    """The held-out metric per epoch, one line per trace (non-finite points left out)."""
    name = next(iter(traces.values())).test_metric["name"]
    for key, trace in traces.items():
        values = np.asarray(trace.test_metric["values"], dtype=np.float64)
        axes.plot(np.arange(values.size), values, **_line_style(key),
                  label=solver_label(key, trace.hyperparameters))
    axes.set_xlabel("epoch k")
    axes.set_ylabel(f"test {'RMSE' if name == 'rmse' else name}")
    axes.grid(True, which="major", alpha=0.4)


def _line_style(key: str) -> dict:
    """The keyword arguments of ``Axes.plot`` for one solver's line."""
    return {"marker": "o", "markersize": 3, "linewidth": 1.5, **_LINE_STYLES.get(key, {})}
