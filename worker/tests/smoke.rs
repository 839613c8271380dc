use tern_worker::{FunctionLimits, Runtime, RuntimeConfig, guest_build::wasm_path};

#[test]
fn smoke() {
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..Default::default()
    })
    .unwrap();
    for name in [
        "noop",
        "fibonacci",
        "echo",
        "hash",
        "isprime",
        "tsp",
        "loop",
        "stackoverflow",
        "trap_unreachable",
        "trap_divzero",
        "oom",
        "bigoutput",
    ] {
        let lim = FunctionLimits {
            max_exec: std::time::Duration::from_millis(200),
            max_output: 1 << 20,
            ..Default::default()
        };
        let id = rt.register(name, &wasm_path(name), lim).unwrap();
        let input: &[u8] = match name {
            "fibonacci" => b"10",
            "echo" => b"hello",
            "hash" => b"100",
            "isprime" => b"97",
            "tsp" => b"8 42",
            _ => b"",
        };
        let (o, out) = rt.invoke_blocking(id, input);
        println!(
            "{name}: {o} {:?}",
            String::from_utf8_lossy(&out[..out.len().min(100)])
        );
    }
}
