// oom: grows its memory without bound (1 MiB at a time, each page touched).
// Must end with Outcome::OutOfMemory once it passes the route's memory limit.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Each block is published here, so the compiler cannot elide the
// allocations (it may drop a malloc whose result is never observed).
static char *volatile last;

int main(void) {
    size_t total = 0;
    for (;;) {
        char *p = malloc(1 << 20);
        if (!p) {
            // Only reached if the host lets memory.grow fail softly.
            fprintf(stderr, "oom: malloc failed after %zu bytes\n", total);
            return 3;
        }
        memset(p, 0xa5, 1 << 20);
        last = p;
        total += 1 << 20;
    }
}
