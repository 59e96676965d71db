"""One row per configuration, from its task records: convergence over the data seeds, cost over
the placement seeds, time to accuracy, and the Pareto front of LUTs against time to accuracy."""

from __future__ import annotations

import statistics

__all__ = ["COLUMNS", "reach", "config_row", "mark_pareto_front", "speed_column"]

#: Columns of ``explore.csv`` and ``explore.md``, in order.
COLUMNS = ["bits", "lanes", "seeds_reached", "epochs", "cycles", "floor", "luts", "ffs", "dsps",
           "brams", "fmax_median_mhz", "fmax_min_mhz", "pnr_seeds_routed", "time_ms",
           "time_worst_ms", "pareto", "error"]


def reach(result: dict, accuracy: float) -> tuple[int | None, int | None, float | None]:
    """(first epoch with ``rel_subopt <= accuracy``, accelerator cycles up to and including it,
    lowest relative suboptimality of the run) for one convergence result; None where never."""
    values = result["rel_subopt"]
    epoch = next((k for k, value in enumerate(values)
                  if value is not None and value <= accuracy), None)
    finite = [value for value in values if value is not None]
    cycles = None if epoch is None else sum(result["cycles"][:epoch + 1])
    return epoch, cycles, min(finite) if finite else None


def _convergence_columns(records: list[dict], accuracy: float, errors: list[str]) -> dict:
    """A configuration reaches the accuracy if every data seed does; its epochs and cycles are
    the worst over the seeds, and a configuration that does not reach it reports the floor: the
    worst (highest) of the lowest relative suboptimalities its failing seeds saw."""
    columns = dict.fromkeys(("seeds_reached", "epochs", "cycles", "floor"))
    errors += [record["error"] for record in records if record["status"] != "ok"]
    outcomes = [reach(record["result"], accuracy) for record in records
                if record["status"] == "ok"]
    if not outcomes:
        return columns
    reached = [(epoch, cycles) for epoch, cycles, _ in outcomes if epoch is not None]
    columns["seeds_reached"] = f"{len(reached)}/{len(records)}"
    if len(reached) == len(records):
        columns["epochs"] = max(epoch for epoch, _ in reached)
        columns["cycles"] = max(cycles for _, cycles in reached)
    else:
        floors = [floor for epoch, _, floor in outcomes if epoch is None]
        columns["floor"] = None if None in floors else float(f"{max(floors):.3g}")
    return columns


def _cost_columns(records: list[dict], errors: list[str]) -> dict:
    """Resources from the first routed seed (synthesis does not depend on the placement seed);
    Fmax as the median and the minimum over the seeds that routed."""
    columns = dict.fromkeys(("luts", "ffs", "dsps", "brams", "fmax_median_mhz", "fmax_min_mhz",
                             "pnr_seeds_routed"))
    results = [record["result"] for record in records if record["status"] == "ok"]
    errors += sorted({record["error"] for record in records if record["status"] != "ok"})
    if not results:
        return columns
    columns.update({key: results[0][key] for key in ("luts", "ffs", "dsps", "brams")})
    fmax = [result["fmax_mhz"] for result in results if result["fmax_mhz"] is not None]
    columns["pnr_seeds_routed"] = f"{len(fmax)}/{len(records)}" if fmax else None
    if fmax:
        columns["fmax_median_mhz"] = round(statistics.median(fmax), 2)
        columns["fmax_min_mhz"] = round(min(fmax), 2)
    return columns


def config_row(bits: int, lanes: int, convergence: list[dict], synthesis: list[dict], *,
               accuracy: float) -> dict:
    """The row of one configuration from its convergence and synthesis task records.

    Time to accuracy is the cycles to reach it over Fmax (cycles / MHz = microseconds), with the
    median Fmax (``time_ms``) and the slowest seed's (``time_worst_ms``).
    """
    errors: list[str] = []
    row = {"bits": bits, "lanes": lanes, **_convergence_columns(convergence, accuracy, errors),
           **_cost_columns(synthesis, errors), "pareto": False}
    for column, fmax in (("time_ms", row["fmax_median_mhz"]),
                         ("time_worst_ms", row["fmax_min_mhz"])):
        row[column] = (None if row["cycles"] is None or fmax is None
                       else float(f"{row['cycles'] / fmax / 1000:.4g}"))
    row["error"] = "; ".join(errors)
    return {column: row[column] for column in COLUMNS}


def speed_column(timed: bool) -> str:
    """The column the Pareto front minimizes besides LUTs: time to accuracy on a target with
    place and route, cycles to accuracy where there is no Fmax (``generic``)."""
    return "time_ms" if timed else "cycles"


def mark_pareto_front(rows: list[dict], *, speed: str) -> list[dict]:
    """Set ``pareto`` on the rows no other row beats in both LUTs and ``speed`` (both known);
    return those rows by LUTs."""
    candidates = [row for row in rows if row["luts"] is not None and row[speed] is not None]
    for row in candidates:
        row["pareto"] = not any(
            other["luts"] <= row["luts"] and other[speed] <= row[speed]
            and (other["luts"], other[speed]) != (row["luts"], row[speed])
            for other in candidates)
    return sorted((row for row in candidates if row["pareto"]), key=lambda row: row["luts"])
