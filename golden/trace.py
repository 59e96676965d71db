"""What every solver returns: one row per epoch boundary, k = 0..E."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["Trace"]


@dataclass
class Trace:
    """A solver's convergence record, measured at the start (k = 0) and after each epoch.

    Attributes
    ----------
    solver : str
        The solver's key (``sgd``, ``svrg``, ``lp_sgd``, ``lp_svrg``, ``halp``, ``halp_hw``).
    hyperparameters : dict
        Everything needed to rerun it (step size, epoch length, bits, mu, seed, ...).
    subopt : list of float
        ``f(w_k) - f*``.
    rel_subopt : list of float
        ``(f(w_k) - f*) / (f(w_0) - f*)``.
    dist : list of float
        ``||w_k - w*||``.
    scale : list of float or None
        The low-precision grid spacing in use during epoch k (None for full precision);
        the entry for k = 0 is the scale of the first epoch.
    saturations : list of int
        Values clamped during epoch k (0 for k = 0).
    cycles : list of int or None
        Accelerator cycles spent in epoch k (hardware mode only).
    test_metric : dict or None
        For a problem with held-out data: ``{"name": "accuracy" or "rmse", "values": [...]}``,
        the metric of ``w_k`` on the test part.
    """

    solver: str
    hyperparameters: dict
    subopt: list = field(default_factory=list)
    rel_subopt: list = field(default_factory=list)
    dist: list = field(default_factory=list)
    scale: list = field(default_factory=list)
    saturations: list = field(default_factory=list)
    cycles: list | None = None
    test_metric: dict | None = None

    def record(self, problem, w, scale=None, saturations: int = 0, cycles: int | None = None):
        """Append the state after one more epoch (or the initial state)."""
        subopt = problem.suboptimality(w)
        self.subopt.append(subopt)
        base = self.subopt[0]
        self.rel_subopt.append(subopt / base if base > 0 else 0.0)
        self.dist.append(float(((w - problem.optimum) ** 2).sum() ** 0.5))
        self.scale.append(None if scale is None else float(scale))
        self.saturations.append(int(saturations))
        if cycles is not None:
            self.cycles = (self.cycles or []) + [int(cycles)]
        if problem.holdout is not None:
            self.test_metric = self.test_metric or {"name": problem.holdout.metric, "values": []}
            self.test_metric["values"].append(problem.holdout.evaluate(w))

    def completed(self) -> "Trace":
        """A copy holding only the epochs whose every column was recorded.

        A Ctrl-C can land inside :meth:`record`, between two appends; a snapshot of a stopped
        run reads this copy, never the ragged lists.
        """
        columns = [self.subopt, self.rel_subopt, self.dist, self.scale, self.saturations]
        if self.cycles is not None:
            columns.append(self.cycles)
        if self.test_metric is not None:
            columns.append(self.test_metric["values"])
        rows = min(len(column) for column in columns)
        return Trace(
            self.solver, dict(self.hyperparameters), self.subopt[:rows], self.rel_subopt[:rows],
            self.dist[:rows], self.scale[:rows], self.saturations[:rows],
            None if self.cycles is None else self.cycles[:rows],
            None if self.test_metric is None else
            {**self.test_metric, "values": self.test_metric["values"][:rows]})

    def to_dict(self) -> dict:
        data = asdict(self)
        for optional in ("cycles", "test_metric"):
            if data[optional] is None:
                del data[optional]
        return data
