// stackoverflow: unbounded recursion that overflows the native Wasm stack.
// Must end with Outcome::StackOverflow.
#include <stdio.h>

// Read at run time, so the compiler can neither prove the recursion endless
// nor fold it.
static volatile unsigned long long never = ~0ull;

__attribute__((noinline)) static unsigned long long down(unsigned long long n) {
    if (n == never) return 1;
    // Division after the call: not associative, so no tail-call or
    // accumulator rewrite can turn the recursion into a loop.
    return down(n + 1) / (n | 1);
}

int main(void) {
    printf("%llu\n", down(0));
    return 0;
}
