"""The campaign's results: ``mutation.json``, ``mutation.csv`` and ``mutation.md``."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

__all__ = ["summarize", "write_reports"]

_CSV_FIELDS = ("select", "status", "mode", "cell", "port", "portbit", "ctrlbit", "wire",
               "wirebit", "source", "first_difference", "miter_status", "miter_step")


def summarize(entries: list[dict]) -> dict:
    """Counts per status and the score ``killed / (killed + survived)``."""
    counts = Counter(entry["status"] for entry in entries)
    judged = counts["killed"] + counts["survived"]
    return {"mutants": len(entries), "killed": counts["killed"], "survived": counts["survived"],
            "equivalent": counts["equivalent"],
            "score": round(counts["killed"] / judged, 4) if judged else None}


def _difference_text(difference) -> str:
    if difference is None:
        return ""
    if "error" in difference:
        return f"error: {str(difference['error']).splitlines()[0][:100]}"
    return (f"{difference.get('signal')} expected {difference.get('expected')}, got "
            f"{difference.get('actual')} ({difference.get('context', '')})")


def _row(entry: dict) -> dict:
    miter = entry.get("miter") or {}
    return {"select": entry["select"], "status": entry["status"], "mode": entry["mode"],
            "cell": entry["cell"], "port": entry["port"], "portbit": entry["portbit"],
            "ctrlbit": entry["ctrlbit"], "wire": entry["wire"], "wirebit": entry["wirebit"],
            "source": " ".join(entry["sources"][:2]),
            "first_difference": _difference_text(entry["first_difference"]),
            "miter_status": miter.get("status", ""), "miter_step": miter.get("step", "")}


def _markdown(report: dict) -> str:
    summary = report["summary"]
    lines = ["# Mutation campaign", "",
             "| mutants | killed | survived | equivalent | score = killed / (killed + "
             "survived) |", "| --- | --- | --- | --- | --- |",
             f"| {summary['mutants']} | {summary['killed']} | {summary['survived']} | "
             f"{summary['equivalent']} | {summary['score']:.1%} |"
             if summary["score"] is not None else "| 0 | 0 | 0 | 0 | - |", ""]
    for status in ("survived", "equivalent"):
        rows = [entry for entry in report["mutants"] if entry["status"] == status]
        lines += [f"## {status.capitalize()} ({len(rows)})", ""]
        if not rows:
            continue
        lines += ["| select | mutates | source | miter |", "| --- | --- | --- | --- |"]
        for entry in rows:
            miter = entry.get("miter") or {}
            verdict = miter.get("status", "")
            if miter.get("step") is not None:
                verdict += f" at step {miter['step']}"
            if miter.get("output"):
                verdict += f" ({miter['output']})"
            if miter.get("depth") is not None:
                verdict += f", depth {miter['depth']}"
            proof = miter.get("induction") or {}
            if proof:
                verdict += f"; induction {proof['status']}, {proof['rounds']} rounds"
            signal = entry["signal"].replace("|", "\\|")
            lines.append(f"| {entry['select']} | `{signal}` | {', '.join(entry['sources'][:2])} "
                         f"| {verdict} |")
        lines.append("")
    return "\n".join(lines)


def write_reports(report: dict, out_dir: Path) -> list[Path]:
    """Write ``mutation.json`` (everything), ``mutation.csv`` (one row per mutant) and
    ``mutation.md`` (the summary and every survivor and equivalent mutant)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "mutation.json", out_dir / "mutation.csv", out_dir / "mutation.md"]
    paths[0].write_text(json.dumps(report, indent=2) + "\n")
    with open(paths[1], "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=_CSV_FIELDS)
        writer.writeheader()
        writer.writerows(_row(entry) for entry in report["mutants"])
    paths[2].write_text(_markdown(report))
    return paths
