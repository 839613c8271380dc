// bigoutput: writes output without end (64 KiB chunks). Must end with
// Outcome::OutputTooLarge once it passes the route's output limit.
#include <string.h>
#include <unistd.h>

int main(void) {
    static char chunk[64 * 1024];
    memset(chunk, 'x', sizeof chunk);
    for (;;)
        if (write(1, chunk, sizeof chunk) < 0) return 1;
}
