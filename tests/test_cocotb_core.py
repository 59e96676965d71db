"""The whole HALP core with its memory models on the generated Verilog, in lockstep with the
golden hardware mode.

``sim/tb_core.py`` drives HALPSystem (HALPCore, data and order memories) with the host loop of
``halp-hw simulate`` and compares ``z`` and the counters, cycles included, with
:class:`halp_hw.golden.hardware.AcceleratorModel` after every inner step. The scenarios cover a
training run with d not a multiple of L, the smallest problem (N = 1, T = 1), data/step/
gradients/exponents at the extremes of their widths, and memories from 1 to 50 cycles of
latency and 1 to 64 bytes per cycle with both sample orders; each asserts the coverage it was
designed to reach, and the ``index-off-by-one`` core fault must be caught.
"""

from __future__ import annotations

from dataclasses import asdict

import pytest

from halp_hw.golden.hardware import HardwareConfig
from halp_hw.golden.memory import MemoryTiming, run_cycles, step_cost
from halp_hw.hdl.system import system_for_run

#: The builds: the default widths with 3 lanes (d = 10: a partial last beat), 4-bit z with 8
#: lanes (two adder-tree stages; d = 5: one partial beat per row), the narrowest build (2-bit z
#: and data, F = 8, one lane, no adder tree) and the widest (16-bit z and data, F = 24) with
#: d = 8 a multiple of L = 4 (no partial beat).
CORES = {
    "b8-L3": HardwareConfig(bits=8, data_bits=8, frac_bits=16, lanes=3, d_max=10, n_max=32),
    "b4-L8": HardwareConfig(bits=4, data_bits=6, frac_bits=8, lanes=8, d_max=5, n_max=16),
    "b2-L1": HardwareConfig(bits=2, data_bits=2, frac_bits=8, lanes=1, d_max=3, n_max=8),
    "b16-L4": HardwareConfig(bits=16, data_bits=16, frac_bits=24, lanes=4, d_max=8, n_max=16),
}
#: The 2-bit build's data scale allows steps up to 0.0039 at F = 8.
STEP_SIZES = {"b2-L1": 0.003}
#: Cycles of one inner step at d = d_max when the memory keeps up, by hand from
#: docs/datapath.md: ceil(d / L) beats, plus 6, plus one adder-tree register per two levels
#: (ceil(ceil(log2 L) / 2)).
STEP_CYCLES = {"b8-L3": 4 + 6 + 1, "b4-L8": 1 + 6 + 2, "b2-L1": 3 + 6 + 0, "b16-L4": 2 + 6 + 1}
SEED = 7
#: Entries of a host-given order that every build's order memory holds.
ORDER_ENTRIES = 64
#: The default (DDR3-like) memory, used unless a test names another.
DEFAULT_MEMORY = MemoryTiming()


def core_params(config: HardwareConfig, *, n: int, epoch_length: int, epochs: int,
                scenarios=("training",), compare: str = "step", d: int | None = None,
                memory: MemoryTiming = DEFAULT_MEMORY, order: str = "xorshift",
                step_size: float = 0.01) -> dict:
    return {
        "config": asdict(config), "n": n, "d": d or config.d_max, "problem_seed": SEED,
        "run": {"step_size": step_size, "mu": 4.0, "epoch_length": epoch_length, "epochs": epochs,
                "seed": SEED, "order": order},
        "scenarios": list(scenarios), "extremes_run": {"epochs": 3, "epoch_length": 4},
        "compare": compare, "memory": asdict(memory),
    }


def core_design(name: str) -> tuple:
    """The build key and the component factory of core ``name`` next to memories whose timing
    the testbench sets from ``params["memory"]``: one build per core (and fault), sized for
    ``n_max`` rows of ``d_max`` features, serves every memory timing."""
    config = CORES[name]
    return ("core", name), lambda: system_for_run(config, None, n=config.n_max, d=config.d_max,
                                                  order_entries=ORDER_ENTRIES)


def run_core(rtl, name: str, params: dict, fault=None, run_name: str = "results"):
    """Run ``tb_core`` on core ``name`` (:func:`core_design`)."""
    return rtl.run(*core_design(name), module="tb_core", params=params, name=run_name,
                   fault=fault)


def phase(results, scenario: str) -> dict:
    assert results.passed, results.summary()
    report = results.report
    assert report["mismatches"] == 0 and report["compared"] > 0
    numbers = report["phases"][scenario]
    assert numbers["cycles"] == numbers["golden_cycles"] > 0
    return numbers


#: The runs on the ``b8-L3`` build of the tests marked :func:`on_the_b8_worker`, by name, each
#: written next to the test that reads it; :func:`b8_runs` runs them all.
B8_RUNS: dict = {}


def on_the_b8_worker(test):
    """Mark a test that reads :func:`b8_runs`: those tests share one simulator process, so
    they run on one test worker, and early (``long``)."""
    return pytest.mark.long(12)(pytest.mark.xdist_group("core-b8")(test))


@pytest.fixture(scope="module")
def b8_runs(rtl) -> dict:
    """Every run of :data:`B8_RUNS` in one simulator process, each a regression of its own
    (after a reset, with its own report and coverage): ``{name: results}``."""
    return rtl.run_cases(*core_design("b8-L3"), module="tb_core", cases=B8_RUNS, name="b8")


@pytest.mark.parametrize("name", CORES)
def test_compute_bound_step_cycles_by_hand(name):
    """The cycle formula the runs below are checked against, pinned by hand where the memory
    (latency 1, 64 bytes per cycle) never makes a step wait."""
    config = CORES[name]
    fast = MemoryTiming(latency=1, bytes_per_cycle=64)
    assert step_cost(config, fast, config.d_max).cycles == STEP_CYCLES[name]


@pytest.mark.parametrize("name", CORES)
def test_training_and_extremes(rtl, name):
    """A two-epoch training run, then the extremes; z compared after every inner step."""
    config = CORES[name]
    results = run_core(rtl, name, core_params(config, n=config.n_max, epoch_length=24, epochs=2,
                                              scenarios=("training", "extremes"),
                                              step_size=STEP_SIZES.get(name, 0.01)),
                       run_name="training")
    training, extremes = phase(results, "training"), phase(results, "extremes")
    assert training["iterates_compared"] == 2 * 24 == training["steps"]
    # compared after every step: a RUN of one step each, which starts with its rows on chip
    assert training["cycles"] == 2 * 24 * config.step_cycles(config.d_max)
    assert training["coverage"]["recenters"] == 2
    assert training["coverage"]["rounding_carries"] > 0
    partial = config.d_max % config.lanes != 0
    assert training["coverage"]["partial_last_beats"] == (training["steps"] if partial else 0)
    assert extremes["coverage"]["saturations"] > 0
    assert extremes["iterates_compared"] == 3 * 4


B8_RUNS["commands"] = core_params(CORES["b8-L3"], n=32, epoch_length=4, epochs=1,
                                  scenarios=("commands",))


@on_the_b8_worker
def test_every_command_in_every_state(b8_runs):
    """The command script (sim/tb_command_script.py): every command presented in every state
    of the control FSM and after every other command, back to back, bit-exact with the golden
    model; it must close every bin of the command cover items."""
    results = b8_runs["commands"]
    commands = phase(results, "commands")
    assert commands["steps"] == 1 + 2 + 1 + 0 + 3 + 2
    coverage = results.report["functional_coverage"]
    for item in ("core.command.in_state", "core.command.sequence"):
        assert coverage[item]["covered"] == coverage[item]["size"] > 0, coverage[item]
    assert coverage["core.command.run_length"]["bins"]["0"] > 0
    assert coverage["core.command.run_length"]["bins"]["1"] > 0
    assert coverage["core.command.run_length"]["bins"]["many"] > 0
    assert (results.results_xml.parent / "b8.commands.report.coverage.yml").is_file()


B8_RUNS["boundary_long"] = {**core_params(CORES["b8-L3"], n=32, epoch_length=4, epochs=1,
                                         scenarios=("boundary", "long")),
                             "boundary_run": {"epochs": 6, "epoch_length": 2},
                             "long_host_steps": 40}


@on_the_b8_worker
def test_boundary_and_long_phases(b8_runs):
    """The boundary phases (step 2 of each short epoch on the rounding boundary of every lane,
    of the step coefficient and of the sample-index product, every third epoch on fresh
    host-given entries; on d - 1 = 9 features, then on rows of one and of two words) and the
    long phase (RUNs of 2**b + 1 steps still busy after 3 steps for b = 2..31 and of 2**b + 3
    still busy after 5 for b = 16..31, 4104 recenters, RUNs of 1, 2, 4, ... 2**15 steps on
    saturating gradients, then a RUN of 40 on a host-given order) agree with the golden model
    bit for bit."""
    results = b8_runs["boundary_long"]
    boundary, long = phase(results, "boundary"), phase(results, "long")
    assert boundary["iterates_compared"] == 6 and boundary["steps"] == 6 * 2
    for features in (3, 5):  # rows of one and of two words on 3 lanes: 3 epochs each
        shorter = phase(results, f"boundary-d{features}")
        assert shorter["iterates_compared"] == 3 and shorter["steps"] == 3 * 2
    # 16 RUNs of 2**b steps, then the RUN of 40 on a host-given order
    assert long["iterates_compared"] == 16 + 1 and long["steps"] == (1 << 16) - 1 + 40
    # 16 checked one by one, 4087 more, the one before the RUNs and the host-order RUN's
    assert long["coverage"]["recenters"] == 16 + 1 + 1


B8_RUNS["n1_t1"] = core_params(CORES["b8-L3"], n=1, epoch_length=1, epochs=3)


@on_the_b8_worker
def test_one_sample_one_step(b8_runs):
    """N = 1, T = 1: the sample stream's only index, one step per epoch, three epochs."""
    results = b8_runs["n1_t1"]
    training = phase(results, "training")
    assert training["steps"] == training["iterates_compared"] == 3
    assert training["coverage"]["recenters"] == 3


B8_RUNS["per_epoch"] = core_params(CORES["b8-L3"], n=32, epoch_length=40, epochs=2,
                                   compare="epoch")


@on_the_b8_worker
def test_compare_every_epoch(b8_runs):
    """One RUN of T steps per epoch (busy waited on, no Python per cycle), compared at the end."""
    results = b8_runs["per_epoch"]
    training = phase(results, "training")
    assert training["iterates_compared"] == 2 and training["steps"] == 80


B8_RUNS["unknown_scenario"] = core_params(CORES["b8-L3"], n=32, epoch_length=4, epochs=1,
                                          scenarios=("training", "warp"))


@on_the_b8_worker
def test_a_failing_run_fails_alone(b8_runs):
    """Runs that share a simulator process report apart: the one that fails (on a scenario the
    testbench does not know) names its error, and the runs next to it pass."""
    results = b8_runs["unknown_scenario"]
    assert not results.passed
    assert "unknown scenario 'warp'" in results.failures[0].message, results.summary()
    names = list(B8_RUNS)
    index = names.index("unknown_scenario")
    assert b8_runs[names[index - 1]].passed and b8_runs[names[index + 1]].passed


def test_core_testbench_catches_index_fault(rtl):
    config = CORES["b8-L3"]
    results = run_core(rtl, "b8-L3", core_params(config, n=32, epoch_length=24, epochs=1),
                       fault="index-off-by-one")
    assert not results.passed
    first = results.report["first_mismatch"]
    assert first["signal"].startswith("z[") and first["expected"] != first["actual"]
    assert first["context"].startswith("training, epoch 1, inner step")
    assert f"first mismatch at cycle {first['cycle']}" in results.failures[0].message


#: Memories from one cycle to 50 cycles of latency, from 1 byte per cycle (every step waits for
#: the memory) to 64 (a word per cycle, the port's limit), bursts shorter than a row included.
MEMORIES = {
    "lat1-bw64": MemoryTiming(latency=1, bytes_per_cycle=64),
    "lat1-bw1": MemoryTiming(latency=1, bytes_per_cycle=1),
    "lat7-bw3-burst4": MemoryTiming(latency=7, bytes_per_cycle=3, burst_bytes=4),
    "lat50-bw1": MemoryTiming(latency=50, bytes_per_cycle=1),
    "lat50-bw64": MemoryTiming(latency=50, bytes_per_cycle=64),
}
#: The sample orders of the memory runs, each with its number of features: d not a multiple of
#: L (10) and a multiple (9 = 3 x 3).
ORDERS = {"xorshift": 10, "host": 9}
#: The memory runs' ways of comparing: after every step, and after every epoch (one RUN each).
COMPARES = ("step", "epoch")


def memory_case(memory: str, order: str, compare: str) -> str:
    return f"{memory}_{order}_{compare}"


B8_RUNS.update({memory_case(memory, order, compare):
                core_params(CORES["b8-L3"], n=20, epoch_length=12, epochs=2, d=d, memory=timing,
                            order=order, compare=compare)
                for memory, timing in MEMORIES.items() for order, d in ORDERS.items()
                for compare in COMPARES})


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("memory", MEMORIES)
@on_the_b8_worker
def test_memory_timings_and_sample_orders(b8_runs, memory, order):
    """Bit-exact z, counters and cycles after every step for each memory, both sample orders,
    d a multiple of L (9 = 3 x 3) and not (10)."""
    config, timing, d = CORES["b8-L3"], MEMORIES[memory], ORDERS[order]
    results = b8_runs[memory_case(memory, order, "step")]
    training = phase(results, "training")
    assert training["iterates_compared"] == training["steps"] == 2 * 12
    # a RUN of one step starts with its rows on chip: compute-bound whatever the memory
    assert training["cycles"] == 2 * 12 * config.step_cycles(d)
    assert training["coverage"]["partial_last_beats"] == (training["steps"] if d == 10 else 0)
    stalls = results.report["functional_coverage"]["core.memory.stall"]["bins"]
    assert stalls["none"] == training["steps"] and stalls["seed prefetch"] == 1, stalls
    # one RUN of 12 steps per epoch: the fetches ahead, the stalls and the run's exact count
    results = b8_runs[memory_case(memory, order, "epoch")]
    training = phase(results, "training")
    assert training["iterates_compared"] == 2 and training["steps"] == 2 * 12
    assert training["cycles"] == 2 * run_cycles(config, timing, d, order, 12)
    if memory == "lat7-bw3-burst4" and d == 10:
        # a burst per word: a row of 4 words holds the channel 4 + 3 x 6 = 22 cycles, twice
        # the 11 of compute; row r (requested by step r) has its last word in cycle 7 + 22(r + 1)
        # and step r + 5 needs it by cycle 11(r + 6): from r = 4 on, the run stalls
        assert training["cycles"] > 2 * 12 * config.step_cycles(d)
        stalls = results.report["functional_coverage"]["core.memory.stall"]["bins"]
        assert stalls["row i_{t+2}"] == 2 * 3 and stalls["none"] == 2 * 9, stalls


B8_RUNS["row_ahead"] = core_params(CORES["b8-L3"], n=20, epoch_length=12, epochs=1, d=3,
                                   memory=MEMORIES["lat50-bw1"], order="host", compare="epoch")


@on_the_b8_worker
def test_steps_waiting_for_a_row_fetched_ahead(b8_runs):
    """A host-given order on one-word rows (d = 3 = L, 8 cycles a step) from a slow memory
    (latency 50, a 24-bit row in 3 cycles), one RUN of 12 steps: row r, requested in cycle
    s_r + 1, has its last word in s_r + 53, and step r + 5 reads it second. Steps 0-4 end in
    8 .. 40; step 5 waits for row 0 until cycle 54 (6 cycles), steps 6-10 end just as their
    rows arrive (62 .. 94), step 11 waits for row 6 (requested in 55) until 108: 12 x 8 + 2 x 6
    cycles, bit-exact; the regression that closes the ``row i_{t+2}`` stall bin with a host
    order."""
    results = b8_runs["row_ahead"]
    training = phase(results, "training")
    assert training["cycles"] == 12 * 8 + 2 * 6
    stalls = results.report["functional_coverage"]["core.memory.stall"]["bins"]
    assert stalls["row i_{t+2}"] == 2 and stalls["none"] == 10, stalls
