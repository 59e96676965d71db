"""The ``commands`` scenario of ``tb_core``: every host command in every state of the core's
control FSM, and after every other command.

A command issued without waiting (``wait`` False) returns once the core has accepted it, so the
next one is presented while the core still carries out a SEED (its row prefetch) or a RUN; the
core must hold it (``cmd_ready`` low) and take it when it is back in IDLE. The golden model
receives the same commands in the same order; ``z``, the counters and the scale register are
compared after every command the host waits for, and at the end.
"""

from __future__ import annotations

from halp_hw.golden.fixedpoint import int_range

__all__ = ["COMMAND_SCRIPT", "run_commands"]

#: ``(command, argument, wait)`` after the phase's first SEED. The state each meets (IDLE
#: unless the previous one was a SEED, or a RUN of T > 0, issued without waiting) and the pairs
#: of consecutive commands cover every bin of ``core.command.in_state`` and
#: ``core.command.sequence``; RUN 0 and RUN 1 two bins of ``core.command.run_length``.
COMMAND_SCRIPT = (
    ("RECENTER", 3, True), ("RECENTER", -2, True), ("RUN", 1, False), ("RECENTER", 1, True),
    ("SEED", 7, False), ("RUN", 2, False), ("RUN", 1, True), ("SEED", 9, False),
    ("SEED", 11, False), ("RECENTER", 0, True), ("RUN", 0, True), ("RUN", 3, False),
    ("SEED", 13, True), ("RUN", 2, True),
)


async def run_commands(host, lockstep, rng) -> None:
    """Load a random gradient (in the lower half of its width), then :data:`COMMAND_SCRIPT`."""
    low, high = int_range(host.config.grad_width - 1)
    await lockstep.load_gradient(rng.integers(low, high + 1, size=host.problem.d))
    for command, arg, wait in COMMAND_SCRIPT:
        if command == "SEED":
            await lockstep.seed(arg, wait)
        elif command == "RECENTER":
            await lockstep.recenter(arg)
        else:
            await lockstep.run(arg, wait)
    await lockstep.compare(f"{lockstep.phase}, after the script")
