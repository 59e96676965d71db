"""Is a run's result what it seems? Divergence, no progress and saturation, read off a trace.

:func:`diagnose` looks at one :class:`~halp_hw.golden.trace.Trace` (any solver, the hardware mode
included) and returns a :class:`Finding` per problem it sees, each naming the cause and the
command-line option to change:

- **diverged**: ``rel_subopt`` became NaN/inf, or ended above :data:`DIVERGED_ABOVE` (worse than
  the start ``w = 0``);
- **no progress**: the best ``rel_subopt`` of the run stayed above :data:`NO_PROGRESS_ABOVE`;
- **saturation**: more than :data:`SATURATION_SHARE` of the stored values were clamped.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .trace import Trace

__all__ = ["DIVERGED_ABOVE", "NO_PROGRESS_ABOVE", "SATURATION_SHARE", "Finding", "diagnose",
           "saturation_share", "any_diverged"]

#: A run whose final ``rel_subopt`` is above this ended worse than it started: it diverged.
DIVERGED_ABOVE = 1.0
#: A run whose best ``rel_subopt`` is above this has not even halved the suboptimality.
NO_PROGRESS_ABOVE = 0.5
#: The share of stored values (T x d per epoch) clamped beyond which a run is flagged.
SATURATION_SHARE = 0.01

DIVERGED, NO_PROGRESS, SATURATION = "diverged", "no progress", "saturation"


@dataclass(frozen=True)
class Finding:
    """One way in which a run is not what its numbers seem.

    Attributes
    ----------
    solver : str
        The trace's solver key.
    cause : str
        ``diverged``, ``no progress`` or ``saturation``.
    detail : str
        What was measured.
    remedy : str
        The option to change, with its current value.
    """

    solver: str
    cause: str
    detail: str
    remedy: str

    @property
    def message(self) -> str:
        return f"{self.solver} {self.cause}: {self.detail}; {self.remedy}"

    def to_dict(self) -> dict:
        return {**asdict(self), "message": self.message}


def saturation_share(trace: Trace, d: int) -> float:
    """Clamped values over stored values (``epoch_length * d`` per epoch) in the whole run."""
    epochs = len(trace.saturations) - 1
    updates = epochs * trace.hyperparameters.get("epoch_length", 0) * d
    return sum(trace.saturations) / updates if updates > 0 else 0.0


def _value(hyper: dict, key: str) -> str:
    value = hyper[key]
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _converged(trace: Trace | None) -> bool:
    final = None if trace is None or not trace.rel_subopt else trace.rel_subopt[-1]
    return final is not None and math.isfinite(final) and final <= NO_PROGRESS_ABOVE


def _divergence_remedy(trace: Trace, reference: Trace | None) -> str:
    hyper = trace.hyperparameters
    if "bits" in hyper and _converged(reference):
        return (f"raise --bits (now {hyper['bits']}): {reference.solver} at the same step size "
                "converged, so the low-precision grid is the cause")
    return f"lower --step-size (now {_value(hyper, 'step_size')})"


def _no_progress_remedy(trace: Trace) -> str:
    hyper = trace.hyperparameters
    spacing = next((s for s in trace.scale[1:] if s is not None), None)
    start_distance = trace.dist[0] if trace.dist else 0.0
    if spacing is not None and 0 < start_distance < spacing:
        why = (f"the grid spacing {spacing:.3g} is coarser than the distance to the optimum "
               f"{start_distance:.3g}, so the updates round to 0")
        if "mu" in hyper:
            return f"raise --mu (now {_value(hyper, 'mu')}): {why}"
        if "scale" in hyper:
            return f"lower --lp-scale (now {_value(hyper, 'scale')}): {why}"
    return (f"raise --step-size (now {_value(hyper, 'step_size')}) or --epochs "
            f"(now {hyper.get('epochs', len(trace.rel_subopt) - 1)})")


def _saturation_remedy(trace: Trace) -> str:
    hyper = trace.hyperparameters
    if "mu" in hyper:
        return f"lower --mu (now {_value(hyper, 'mu')}) for a wider grid, or raise --bits"
    if "scale" in hyper:
        return f"raise --lp-scale (now {_value(hyper, 'scale')}) or --bits"
    return "raise --bits"


def diagnose(trace: Trace, d: int, reference: Trace | None = None) -> list[Finding]:
    """The findings for one run (an empty list when nothing is wrong).

    Parameters
    ----------
    trace : Trace
        The run; its ``hyperparameters`` name the options a remedy refers to (``step_size``,
        ``epoch_length``, and ``bits``, ``mu`` or ``scale`` for the low-precision solvers).
    d : int
        Features of the problem (values stored per inner step).
    reference : Trace, optional
        A full-precision run with the same step size (SVRG): when it converges and ``trace``
        diverges, the remedy is more bits rather than a smaller step.
    """
    findings = []
    rel = trace.rel_subopt
    if len(rel) < 2:
        return findings
    bad = next((k for k, value in enumerate(rel) if value is None or not math.isfinite(value)),
               None)
    if bad is not None:
        findings.append(Finding(trace.solver, DIVERGED,
                                f"rel_subopt became {rel[bad]} at epoch {bad}",
                                _divergence_remedy(trace, reference)))
    elif rel[-1] > DIVERGED_ABOVE:
        findings.append(Finding(trace.solver, DIVERGED,
                                f"rel_subopt grew from {rel[0]:.3g} to {rel[-1]:.3g} in "
                                f"{len(rel) - 1} epochs", _divergence_remedy(trace, reference)))
    elif min(rel[1:]) > NO_PROGRESS_ABOVE:
        findings.append(Finding(trace.solver, NO_PROGRESS,
                                f"rel_subopt is still {rel[-1]:.3g} after {len(rel) - 1} epochs "
                                f"(best {min(rel[1:]):.3g})", _no_progress_remedy(trace)))
    share = saturation_share(trace, d)
    if share > SATURATION_SHARE:
        findings.append(Finding(trace.solver, SATURATION,
                                f"{share:.1%} of the stored values were clamped (more than "
                                f"{SATURATION_SHARE:.0%})", _saturation_remedy(trace)))
    return findings


def any_diverged(findings) -> bool:
    """Whether one of ``findings`` is a divergence."""
    return any(finding.cause == DIVERGED for finding in findings)
