// isprime: body "N" -> {"IsPrime": true|false} (Serverledge's example function),
// by trial division, so the work grows with sqrt(N).
#include <stdio.h>

static int is_prime(unsigned long long n) {
    if (n < 2) return 0;
    if (n % 2 == 0) return n == 2;
    for (unsigned long long d = 3; d <= n / d; d += 2)
        if (n % d == 0) return 0;
    return 1;
}

int main(void) {
    unsigned long long n;
    if (scanf("%llu", &n) != 1) {
        fprintf(stderr, "isprime: body must be a decimal N\n");
        return 1;
    }
    printf("{\"IsPrime\": %s}\n", is_prime(n) ? "true" : "false");
    return 0;
}
