// trap_unreachable: executes Wasm's `unreachable`. Must end with Outcome::Trap.
int main(void) {
    __builtin_trap();
}
