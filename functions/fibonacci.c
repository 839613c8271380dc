// fibonacci: body "N" -> fib(N) in decimal, newline-terminated (SLEdge's example,
// naive recursion so that the work grows with N).
#include <stdio.h>

static unsigned long long fib(unsigned long long n) {
    return n <= 1 ? n : fib(n - 1) + fib(n - 2);
}

int main(void) {
    unsigned long long n;
    if (scanf("%llu", &n) != 1) {
        fprintf(stderr, "fibonacci: body must be a decimal N\n");
        return 1;
    }
    printf("%llu\n", fib(n));
    return 0;
}
