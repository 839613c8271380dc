// trap_divzero: integer division by zero, which traps in Wasm.
// The divisor comes from a volatile so the compiler cannot fold it.
#include <stdio.h>

int main(void) {
    volatile int zero = 0;
    volatile int one = 1;
    printf("%d\n", one / zero);
    return 0;
}
