// The Verilated HALPSystem (the core with its data and order memory models) driven by a bare C++
// loop: no testbench, no VPI, the clock toggled here.
//
// Reads the stimulus of benchmarks/bench_sim.py from the file named by argv[1] (whitespace
// separated): n d mantissa seed epochs steps data_words order_entries beats, the data memory
// words (hex), the host-given sample order (hex; none when order_entries is 0), then per epoch
// the RECENTER argument and the gradient words (hex). Preloads the memories and issues the same
// commands as halp_hw.runtime.backends.drive_halp, with the same handshakes as
// sim/tb_halp_run.py, and prints
// "cycles C seconds S cpu_seconds P z W..." (S and P: wall and CPU time of the RUN commands; W: the
// z words at the end, hex).
// The command codes come from the build: -DCMD_SEED=.. -DCMD_RECENTER=.. -DCMD_RUN=..
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "Vtop.h"
#include "verilated.h"

static Vtop* top;

static void tick() {
    top->clk = 1;
    top->eval();
    top->clk = 0;
    top->eval();
}

template <typename T>
static void put(T& port, const std::string& hex) {
    port = static_cast<T>(std::stoull(hex, nullptr, 16));
}

template <std::size_t N>
static void put(VlWide<N>& port, const std::string& hex) {
    for (std::size_t word = 0; word < N; ++word) {
        const long end = static_cast<long>(hex.size()) - 8 * static_cast<long>(word);
        const long begin = end < 8 ? 0 : end - 8;
        port[word] = end <= 0 ? 0 : std::stoul(hex.substr(begin, end - begin), nullptr, 16);
    }
}

template <typename T>
static std::string hex_of(const T& port) {
    char text[24];
    std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(port));
    return text;
}

template <std::size_t N>
static std::string hex_of(const VlWide<N>& port) {
    std::string out;
    char text[12];
    for (std::size_t word = N; word-- > 0;) {
        std::snprintf(text, sizeof text, "%08x", static_cast<unsigned>(port[word]));
        out += text;
    }
    return out;
}

static void command(int op, unsigned long arg) {
    top->cmd_op = op;
    top->cmd_arg = arg;
    top->cmd_valid = 1;
    while (!top->cmd_ready) tick();
    tick();  // accepted on this rising edge
    top->cmd_valid = 0;
    while (top->busy) tick();
    while (!top->cmd_ready) tick();
}

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s STIMULUS\n", argv[0]);
        return 2;
    }
    std::ifstream in(argv[1]);
    unsigned long n, d, mantissa, seed, epochs, steps, data_words, order_entries, beats;
    in >> n >> d >> mantissa >> seed >> epochs >> steps >> data_words >> order_entries >> beats;
    auto context = std::make_unique<VerilatedContext>();
    top = new Vtop{context.get()};
    top->rst = 1;
    tick();
    tick();
    top->rst = 0;
    top->n = n;
    top->d = d;
    top->mantissa = mantissa;
    top->host_order = order_entries > 0;
    std::string word;
    for (unsigned long address = 0; address < data_words; ++address) {
        in >> word;
        top->data_wr_addr = address;
        put(top->data_wr_data, word);
        top->data_wr_en = 1;
        tick();
    }
    top->data_wr_en = 0;
    for (unsigned long address = 0; address < order_entries; ++address) {
        in >> word;
        top->order_wr_addr = address;
        put(top->order_wr_data, word);
        top->order_wr_en = 1;
        tick();
    }
    top->order_wr_en = 0;
    command(CMD_SEED, seed);
    double seconds = 0, cpu_seconds = 0;
    unsigned long long cycles = 0;
    for (unsigned long epoch = 0; epoch < epochs; ++epoch) {
        unsigned long exponent;
        in >> std::hex >> exponent;
        for (unsigned long address = 0; address < beats; ++address) {
            in >> word;
            top->g_wr_addr = address;
            put(top->g_wr_data, word);
            top->g_wr_en = 1;
            tick();
        }
        in >> std::dec;
        top->g_wr_en = 0;
        command(CMD_RECENTER, exponent);
        const unsigned long long before = top->cycles;
        const auto start = std::chrono::steady_clock::now();
        const std::clock_t cpu_start = std::clock();
        command(CMD_RUN, steps);
        cpu_seconds += static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        cycles += top->cycles - before;
    }
    std::printf("cycles %llu seconds %.9f cpu_seconds %.9f z", cycles, seconds, cpu_seconds);
    for (unsigned long address = 0; address < beats; ++address) {
        top->z_rd_addr = address;
        tick();
        std::printf(" %s", hex_of(top->z_rd_data).c_str());
    }
    std::printf("\n");
    top->final();
    delete top;
    return 0;
}
