// tern-abi: raw
// echo_raw: returns its request body unchanged through the raw ABI (no WASI):
// the fast path for payload-size experiments.
#include <stdint.h>
#include <stdlib.h>

// The host asks for a buffer of `len` bytes and copies the request body there.
__attribute__((export_name("tern_alloc"))) uint8_t *tern_alloc(uint32_t len) {
    return malloc(len ? len : 1);
}

// Returns (out_ptr << 32) | out_len: the body itself.
__attribute__((export_name("tern_handle"))) uint64_t tern_handle(uint8_t *ptr, uint32_t len) {
    return ((uint64_t)(uintptr_t)ptr << 32) | len;
}
