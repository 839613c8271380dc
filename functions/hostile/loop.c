// loop: never returns (a runaway function). Must end with Outcome::Timeout.
int main(void) {
    volatile unsigned long long spins = 0;
    for (;;) spins++;
}
