"""The explore plots: time to accuracy against LUTs with the Pareto front, and a bits x lanes
heat map."""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["SPEED_LABELS", "plot_pareto", "plot_heatmap"]


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


#: Axis labels of the speed columns.
SPEED_LABELS = {"time_ms": "time to accuracy (ms, median Fmax)",
                "cycles": "cycles to accuracy (no Fmax on this target)"}


def plot_pareto(rows: list[dict], path: Path, *, title: str, accuracy: float,
                speed: str) -> None:
    """Time (or cycles) to accuracy against LUTs: every configuration, the Pareto front drawn and
    labeled, and configurations that never reach the accuracy marked along the top edge."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(9, 6), constrained_layout=True)
    reached = [row for row in rows if row["luts"] is not None and row[speed] is not None]
    never = [row for row in rows if row["luts"] is not None and row["floor"] is not None]
    for bits in sorted({row["bits"] for row in reached}):
        points = [row for row in reached if row["bits"] == bits]
        axis.scatter([row["luts"] for row in points], [row[speed] for row in points],
                     label=f"{bits} bits", s=40, zorder=3)
    front = sorted((row for row in reached if row["pareto"]), key=lambda row: row["luts"])
    if front:
        axis.step([row["luts"] for row in front], [row[speed] for row in front],
                  where="post", color="black", linewidth=1.2, label="Pareto front", zorder=2)
        for row in front:
            axis.annotate(f"{row['bits']}b x {row['lanes']}L", (row["luts"], row[speed]),
                          textcoords="offset points", xytext=(6, 4), fontsize=9)
    if reached:
        axis.set_yscale("log")
    if never:
        top = max((row[speed] for row in reached), default=1.0) * 2
        axis.scatter([row["luts"] for row in never], [top] * len(never), marker="x",
                     color="red", s=50, label=f"never reaches {accuracy:g}", zorder=3)
        # Labels alternate below and above the marks, so that neighbours do not overlap.
        for index, row in enumerate(sorted(never, key=lambda row: row["luts"])):
            axis.annotate(f"{row['bits']}b x {row['lanes']}L\nfloor {row['floor']:.0e}",
                          (row["luts"], top), textcoords="offset points",
                          xytext=(4, -24 if index % 2 == 0 else 8), fontsize=8, color="red")
    axis.set_xlabel("LUTs")
    axis.set_ylabel(SPEED_LABELS[speed])
    axis.set_title(title)
    axis.grid(True, which="both", alpha=0.3)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(fontsize=9)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _cell_text(row: dict, column: str, cost_only: bool) -> str:
    if row is None:
        return ""
    if cost_only:
        value = row[column]
        return "failed" if value is None else f"{value:g}"
    if row[column] is None:
        if row["floor"] is not None:
            return f"never\nfloor {row['floor']:.0e}"
        return "failed" if row["error"] else "not run"
    luts = "" if row["luts"] is None else f"\n{row['luts']} LUTs"
    return f"{row[column]:.3g}{luts}"


def _text_color(image, value: float) -> str:
    """Black on a missing (grey) or light cell, white on a dark one (viridis runs from dark
    purple to light yellow)."""
    if math.isnan(value):
        return "black"
    red, green, blue, _ = image.cmap(image.norm(value))
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"


def plot_heatmap(rows: list[dict], path: Path, *, title: str, column: str, label: str,
                 cost_only: bool = False) -> None:
    """Bits (rows) x lanes (columns), colored by ``column`` on a log scale; a cell whose value is
    missing says why (never reached, with its floor, or failed)."""
    import numpy as np

    plt = _pyplot()
    bits = sorted({row["bits"] for row in rows})
    lanes = sorted({row["lanes"] for row in rows})
    table = {(row["bits"], row["lanes"]): row for row in rows}
    values = np.full((len(bits), len(lanes)), np.nan)
    for i, b in enumerate(bits):
        for j, lane_count in enumerate(lanes):
            row = table.get((b, lane_count))
            if row is not None and row[column] is not None and row[column] > 0:
                values[i, j] = math.log10(row[column])
    figure, axis = plt.subplots(figsize=(max(1.6 * len(lanes) + 3, 6), 0.9 * len(bits) + 2),
                                constrained_layout=True)
    masked = np.ma.masked_invalid(values)
    image = axis.imshow(masked, cmap="viridis_r", aspect="auto", origin="lower")
    axis.set_facecolor("#dddddd")
    for i, b in enumerate(bits):
        for j, lane_count in enumerate(lanes):
            text = _cell_text(table.get((b, lane_count)), column, cost_only)
            axis.text(j, i, text, ha="center", va="center", fontsize=8,
                      color=_text_color(image, values[i, j]))
    axis.set_xticks(range(len(lanes)), [str(lane_count) for lane_count in lanes])
    axis.set_yticks(range(len(bits)), [str(b) for b in bits])
    axis.set_xlabel("lanes")
    axis.set_ylabel("bits")
    axis.set_title(title, fontsize=10)
    if not masked.mask.all():
        figure.colorbar(image, ax=axis, label=f"log10 {label}")
    figure.savefig(path, dpi=110)
    plt.close(figure)
