// tern-abi: raw
// noop: the raw-ABI function that does nothing and returns an empty body.
// It measures the floor of one invocation (fresh sandbox + call + teardown).
#include <stdint.h>

static uint8_t inbox[4096];

// The host asks for `len` bytes to copy the request body into.
__attribute__((export_name("tern_alloc"))) uint8_t *tern_alloc(uint32_t len) {
    return len <= sizeof inbox ? inbox : 0;
}

// Returns (out_ptr << 32) | out_len: an empty response.
__attribute__((export_name("tern_handle"))) uint64_t tern_handle(uint8_t *ptr, uint32_t len) {
    (void)ptr;
    (void)len;
    return 0;
}
