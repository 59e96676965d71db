"""The explore outputs: ``explore.csv``, ``explore.json``, ``explore.md`` and the plots."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

from .plots import SPEED_LABELS, plot_heatmap, plot_pareto
from .rows import COLUMNS, speed_column

__all__ = ["markdown_table", "findings", "write_report"]


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """Rows as a Markdown table (missing values as ``-``; the error column only if any failed)."""
    columns = [column for column in (columns or COLUMNS)
               if column != "error" or any(row["error"] for row in rows)]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join("-" if row[column] in (None, "")
                                       else str(row[column]).replace("|", "/")
                                       for column in columns) + " |")
    return "\n".join(lines) + "\n"


def _name(row: dict) -> str:
    return f"{row['bits']} bits x {row['lanes']} lanes"


def findings(rows: list[dict], accuracy: float, *, speed: str) -> list[str]:
    """The answers in words: the cheapest and the fastest configuration that reach the accuracy,
    and per lane count the fewest bits that still reach it."""
    reaching = [row for row in rows if row[speed] is not None and row["luts"] is not None]
    unit = "ms" if speed == "time_ms" else "cycles"
    lines = []
    if reaching:
        cheapest = min(reaching, key=lambda row: (row["luts"], row[speed]))
        fastest = min(reaching, key=lambda row: (row[speed], row["luts"]))
        lines.append(f"Cheapest configuration that reaches {accuracy:g}: {_name(cheapest)} "
                     f"({cheapest['luts']} LUTs, {cheapest[speed]:g} {unit}).")
        lines.append(f"Fastest: {_name(fastest)} ({fastest[speed]:g} {unit}, "
                     f"{fastest['luts']} LUTs).")
    else:
        lines.append(f"No configuration reaches {accuracy:g} (with a cost).")
    for lanes in sorted({row["lanes"] for row in rows}):
        column = sorted((row for row in rows if row["lanes"] == lanes), key=lambda r: r["bits"])
        reached = [row["bits"] for row in column if row["epochs"] is not None]
        never = [f"{row['bits']} (floor {row['floor']:.0e})" for row in column
                 if row["floor"] is not None]
        text = f"{lanes} lanes: fewest bits reaching {accuracy:g}: "
        text += str(min(reached)) if reached else "none"
        if never:
            text += "; never: " + ", ".join(never)
        lines.append(text)
    return lines


def write_report(rows: list[dict], out_dir: Path, *, settings: dict, stats) -> None:
    """Write the tables and plots of one explore sweep into ``out_dir``."""
    with open(out_dir / "explore.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    incomplete = ({} if not stats.pending else {"incomplete_reason": (
        "interrupted (Ctrl-C)" if stats.interrupted else f"{stats.pending} tasks not run")})
    (out_dir / "explore.json").write_text(json.dumps(
        {"complete": not stats.pending, **incomplete, "settings": settings,
         "tasks": asdict(stats), "rows": rows}, indent=1) + "\n")
    cost_only = settings["cost_only"]
    speed = speed_column(settings["clock_mhz"] is not None)
    title = (f"{settings['design']} on {settings['target']}"
             f"{'' if cost_only else ', ' + settings['source']}")
    lines = [f"# explore: {title}", ""]
    if stats.pending:
        why = "interrupted" if stats.interrupted else "not run"
        lines += [f"**Incomplete**: {stats.pending} of {stats.total} tasks {why}; the rows "
                  "hold the tasks that finished.", ""]
    if not cost_only:
        lines += [f"- {line}" for line in findings(rows, settings["accuracy"], speed=speed)] + [""]
    lines += [f"Tasks: {stats.total} ({stats.from_cache} from the cache, {stats.executed} run, "
              f"{stats.failed} failed, {stats.pending} pending).", "", markdown_table(rows)]
    (out_dir / "explore.md").write_text("\n".join(lines))
    if cost_only:
        plot_heatmap(rows, out_dir / "heatmap.png", title=title, column="luts", label="LUTs",
                     cost_only=True)
        return
    plot_pareto(rows, out_dir / "pareto.png", title=title, accuracy=settings["accuracy"],
                speed=speed)
    plot_heatmap(rows, out_dir / "heatmap.png", title=f"{SPEED_LABELS[speed]}\n{title}",
                 column=speed, label="ms" if speed == "time_ms" else "cycles")
