// The simulation main of a Verilated design with a `clk` input under cocotb: cocotb's own main
// loop (share/lib/verilator/verilator.cpp of cocotb 2), with the clock toggled here instead of
// by Verilator's timing scheduler (no --timing) or by the testbench.
//
// Every half period (HALP_HALF_PERIOD, in the time precision's units, from the build) is a time
// step: clk toggles, the design is evaluated, and the VPI callbacks of that step run as in
// cocotb's loop (value changes, ReadWrite, ReadOnly, NextSimTime, and timed callbacks such as
// cocotb's Timer, which may fall between two edges). clk is low at time 0; the first rising edge
// is half a period in. The simulation ends when the testbench finishes ($finish).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>

#include "Vtop.h"
#include "verilated.h"
#include "verilated_vpi.h"

#if VM_TRACE
#include <verilated_vcd_c.h>
static VerilatedVcdC* trace_file = nullptr;
#endif

#ifndef HALP_HALF_PERIOD
#error "build with -DHALP_HALF_PERIOD=<half the clock period in units of the time precision>"
#endif

static uint64_t main_time = 0;

double sc_time_stamp() { return static_cast<double>(main_time); }  // $time and vpi_get_time

extern "C" void vlog_startup_routines_bootstrap(void);

static bool settle_value_callbacks() {
    const bool called = VerilatedVpi::callValueCbs();
    for (bool again = called; again;) again = VerilatedVpi::callValueCbs();
    return called;
}

static void wrap_up() {
    VerilatedVpi::callCbs(cbEndOfSimulation);
#if VM_TRACE
    if (trace_file) trace_file->close();
#endif
}

int main(int argc, char** argv) {
    bool trace_on = false;
    for (int index = 1; index < argc; ++index) {
        if (std::strcmp(argv[index], "--trace") == 0) trace_on = true;
    }
    Verilated::commandArgs(argc, argv);
    std::unique_ptr<Vtop> top(new Vtop(""));
    Verilated::fatalOnVpiError(false);  // as cocotb's main: systemtf calls must not be fatal
#if VM_TRACE
    Verilated::traceEverOn(true);
    if (trace_on) {
        trace_file = new VerilatedVcdC;
        top->trace(trace_file, 99);
        trace_file->open("dump.vcd");
    }
#else
    if (trace_on) {
        std::fprintf(stderr, "Error: --trace requires a build with trace support\n");
        return 1;
    }
#endif
    top->clk = 0;
    vlog_startup_routines_bootstrap();
    Verilated::addExitCb([](void*) { wrap_up(); }, nullptr);
    VerilatedVpi::callCbs(cbStartOfSimulation);
    settle_value_callbacks();

    uint64_t next_edge = HALP_HALF_PERIOD;
    while (!Verilated::gotFinish()) {
        do {  // this time step, until no callback changes a signal
            do {
                top->eval_step();
                VerilatedVpi::clearEvalNeeded();
                VerilatedVpi::doInertialPuts();
                settle_value_callbacks();
            } while (VerilatedVpi::evalNeeded());
            VerilatedVpi::callCbs(cbReadWriteSynch);
            VerilatedVpi::doInertialPuts();
            settle_value_callbacks();
        } while (VerilatedVpi::evalNeeded());
        top->eval_end_step();
        VerilatedVpi::callCbs(cbReadOnlySynch);
#if VM_TRACE
        if (trace_file) trace_file->dump(main_time);
#endif
        main_time = std::min<uint64_t>(next_edge, VerilatedVpi::cbNextDeadline());
        VerilatedVpi::callCbs(cbNextSimTime);
        settle_value_callbacks();
        VerilatedVpi::callTimedCbs();
        settle_value_callbacks();
        if (main_time == next_edge) {
            top->clk = !top->clk;
            next_edge += HALP_HALF_PERIOD;
        }
    }
    top->final();
    wrap_up();
#if VM_TRACE
    delete trace_file;
#endif
    return Verilated::threadContextp()->errorCount() > 0 ? 1 : 0;
}
