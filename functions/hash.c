// hash: busy work for a given number of microseconds (the synthetic service
// time of SLEdgeScale's experiments). Body "US" (decimal µs) -> the 64-bit hash
// of the work in hex, so the compiler cannot drop the loop.
//
// ITERS_PER_US is measured by `cargo run --release -p tern-worker --example
// calibrate_hash`: 780 iterations per µs (~1.28 ns each, one dependent
// 64-bit multiply) on the development VM's "AMD EPYC" (2 vCPUs), median of
// 101 runs of hash(2000) minus the fixed cost of a WASI call, taken while
// the machine was shared (so it may read slightly low). Recalibrate on the
// machine that runs the experiments.
#include <stdint.h>
#include <stdio.h>

#ifndef ITERS_PER_US
#define ITERS_PER_US 780
#endif

int main(void) {
    unsigned long long us;
    if (scanf("%llu", &us) != 1) {
        fprintf(stderr, "hash: body must be a decimal number of microseconds\n");
        return 1;
    }
    // FNV-1a over a counter: a dependent chain of multiplies, ~1 ns each.
    uint64_t h = 0xcbf29ce484222325ull;
    uint64_t iters = (uint64_t)us * ITERS_PER_US;
    for (uint64_t i = 0; i < iters; i++) {
        h ^= i;
        h *= 0x100000001b3ull;
    }
    printf("%016llx\n", (unsigned long long)h);
    return 0;
}
