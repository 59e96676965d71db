"""Running explore tasks on Dask: an embedded ``LocalCluster`` or an existing scheduler.

Finished tasks come from the cache and are never submitted. The others run on the cluster, the
convergence runs (seconds each) first so that the accuracy picture is there early, then
synthesis and place and route (minutes each); each record is written to the cache as soon as it
arrives, so an interrupted sweep (Ctrl-C) keeps everything that finished. A failure that would
fail again (a tool's refusal, an input the hardware cannot hold) is cached like a result; any
other failure (a worker lost, an unexpected exception) is recorded for this run only and retried
next time.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field

from .cache import TaskCache
from .tasks import Task, execute

__all__ = ["ExecutionStats", "run_tasks"]

#: Dask priorities (higher first): convergence runs take seconds, synthesis and place and route
#: minutes.
_PRIORITY = {"convergence": 1, "synthesis": 0}


@dataclass
class ExecutionStats:
    """What happened to a sweep's tasks.

    Attributes
    ----------
    total : int
        Tasks in the sweep.
    from_cache : int
        Found finished in the cache (not run).
    executed : int
        Run on the cluster during this call.
    failed : int
        Records (cached or new) whose status is ``failed``.
    pending : int
        Tasks with no record: not run (``run=False``) or not finished (interrupted).
    interrupted : bool
        The user stopped the sweep (Ctrl-C) before every task finished.
    workers : int
        Workers of the cluster the tasks ran on (0 if everything came from the cache).
    failures : list of str
        ``label: reason`` of every failed record.
    """

    total: int = 0
    from_cache: int = 0
    executed: int = 0
    failed: int = 0
    pending: int = 0
    interrupted: bool = False
    workers: int = 0
    failures: list = field(default_factory=list)


def _open_client(scheduler: str | None, workers: int | None):
    """A Dask client on ``scheduler``, or on a new LocalCluster with ``workers`` processes."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        return Client(scheduler, timeout="20s"), None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, silence_logs=logging.ERROR,
                           # no dashboard; its HTTP server on any free port, not 8787
                           dashboard_address=":0", scheduler_kwargs={"dashboard": False})
    return Client(cluster), cluster


def run_tasks(tasks: list[Task], problems: dict, cache: TaskCache, *, out_dir: str,
              scheduler: str | None = None, workers: int | None = None,
              progress: bool = True, run: bool = True) -> tuple[dict, ExecutionStats]:
    """Run (or find in the cache) every task; return ``{key: record}`` and the statistics.

    Parameters
    ----------
    tasks : list of Task
        Their ``key`` set.
    problems : dict
        Problem name -> problem, for the convergence tasks (sent to the cluster once each).
    cache : TaskCache
        Where finished records are read and written.
    out_dir : str
        The sweep's directory (synthesis runs keep their logs under ``out_dir/synth``; on a
        remote worker that path is on the worker's machine).
    scheduler : str, optional
        ``tcp://HOST:PORT`` of an existing Dask scheduler; None = an embedded LocalCluster.
    workers : int, optional
        Worker processes of the embedded cluster (default: the machine's cores).
    progress : bool
        A progress bar over all tasks on stderr.
    run : bool
        False: read the cache only (a look at a sweep still running elsewhere); the missing
        tasks are counted as ``pending``.
    """
    from tqdm import tqdm

    stats = ExecutionStats(total=len(tasks))
    records = {}
    pending = []
    for task in tasks:
        record = cache.load(task.key)
        if record is None:
            pending.append(task)
        else:
            records[task.key] = record
    stats.from_cache = len(records)
    bar = tqdm(total=len(tasks), initial=len(records), desc="explore", unit="task",
               file=sys.stderr, disable=not progress, dynamic_ncols=True)
    if pending and run:
        _run_on_dask(pending, problems, cache, records, stats, bar, out_dir=out_dir,
                     scheduler=scheduler, workers=workers)
    bar.close()
    stats.pending = stats.total - len(records)
    for record in records.values():
        if record["status"] == "failed":
            stats.failed += 1
            stats.failures.append(f"{record['label']}: {record['error']}")
    return records, stats


def _run_on_dask(pending, problems, cache, records, stats, bar, *, out_dir, scheduler,
                 workers) -> None:
    from distributed import as_completed

    client, cluster = _open_client(scheduler, workers)
    try:
        stats.workers = len(client.scheduler_info()["workers"])
        needed = {task.problem_name for task in pending if task.problem_name is not None}
        shared = {name: client.scatter(problems[name], broadcast=True) for name in needed}
        by_future = {}
        for task in sorted(pending, key=lambda task: -_PRIORITY[task.kind]):
            future = client.submit(execute, task, shared.get(task.problem_name), out_dir,
                                   pure=False, priority=_PRIORITY[task.kind])
            by_future[future] = task
        try:
            for future in as_completed(by_future):
                task = by_future[future]
                try:
                    record = future.result()
                except Exception as error:  # noqa: BLE001 - a lost worker, a cancelled task
                    record = {"kind": task.kind, "label": task.label,
                              "parameters": task.parameters, "status": "failed",
                              "error": f"{type(error).__name__}: {error}",
                              "deterministic": False}
                records[task.key] = record
                stats.executed += 1
                if record["status"] == "ok" or record.get("deterministic"):
                    cache.store(task.key, record)
                bar.set_postfix_str(f"{task.label} {record['status']}")
                bar.update()
        except KeyboardInterrupt:
            stats.interrupted = True
            client.cancel(list(by_future))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
