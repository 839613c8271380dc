// statecheck: shows whether anything survives from one request to the next.
// Prints how many times this instance has run and what the previous request
// left in a static buffer, then stores its own body there. In a fresh
// sandbox per request the answer is always "runs=1 previous=".
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int runs;
static char previous[256];

int main(void) {
    runs++;
    char body[256] = {0};
    ssize_t n = read(0, body, sizeof body - 1);
    printf("runs=%d previous=%s\n", runs, previous);
    if (n > 0) memcpy(previous, body, (size_t)n);
    return 0;
}
