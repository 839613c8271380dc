//! Finds the system DPDK with pkg-config (`libdpdk`), generates bindings for
//! the few `rte_*` items Tern uses with bindgen, and compiles the C shim that
//! gives DPDK's static inline functions a linkable symbol.

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// Runs `pkg-config <args> libdpdk` and splits its output into flags.
fn pkg_config(args: &[&str]) -> Option<Vec<String>> {
    let out = Command::new(env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into()))
        .args(args)
        .arg("libdpdk")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

fn missing_dpdk() -> ! {
    panic!(
        "\n\ndpdk-sys: pkg-config cannot find `libdpdk`.\n\
         The `dpdk` feature of tern-rpc needs the DPDK development files (22.11 or newer):\n\
         \x20   Debian/Ubuntu: apt-get install libdpdk-dev pkg-config libclang-dev   (or run scripts/setup.sh)\n\
         \x20   DPDK built from source: set PKG_CONFIG_PATH to the directory holding libdpdk.pc\n\
         To leave DPDK out, build single packages without their `dpdk` feature\n\
         (e.g. `cargo build -p tern-dispatcher`); `--workspace` builds dpdk-sys too.\n"
    );
}

fn main() {
    println!("cargo:rerun-if-changed=src/wrapper.h");
    println!("cargo:rerun-if-changed=src/shim.h");
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");

    let Some(version) = pkg_config(&["--modversion"]) else {
        missing_dpdk()
    };
    let cflags = pkg_config(&["--cflags"]).unwrap_or_else(|| missing_dpdk());
    let libs = pkg_config(&["--libs"]).unwrap_or_else(|| missing_dpdk());
    println!("cargo:rustc-env=DPDK_SYS_VERSION={}", version.join(""));
    println!("cargo:version={}", version.join(""));

    // Compiler flags: keep -I, -D, -include and -m (DPDK's headers need the
    // same -march the library was built with for its SIMD paths).
    let mut clang_args = Vec::new();
    let mut it = cflags.iter();
    while let Some(flag) = it.next() {
        if flag == "-include" {
            if let Some(file) = it.next() {
                clang_args.push(flag.clone());
                clang_args.push(file.clone());
            }
        } else if flag.starts_with("-I") || flag.starts_with("-D") || flag.starts_with("-m") {
            clang_args.push(flag.clone());
        }
    }

    let mut shim = cc::Build::new();
    shim.file("src/shim.c").opt_level(3).warnings(true);
    let mut it = clang_args.iter();
    while let Some(flag) = it.next() {
        if flag == "-include" {
            if let Some(file) = it.next() {
                shim.flag("-include").flag(file);
            }
        } else {
            shim.flag(flag);
        }
    }
    shim.compile("tern_dpdk_shim");

    // Link flags after the shim (it references librte_*).
    for flag in &libs {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(lib) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib={lib}");
        }
    }

    let bindings = bindgen::Builder::default()
        .header("src/wrapper.h")
        .clang_args(&clang_args)
        .allowlist_function("rte_eal_init")
        .allowlist_function("rte_eal_cleanup")
        .allowlist_function("rte_strerror")
        .allowlist_function("rte_version")
        .allowlist_function("rte_socket_id")
        .allowlist_function("rte_thread_register")
        .allowlist_function("rte_eth_dev_count_avail")
        .allowlist_function("rte_eth_dev_get_port_by_name")
        .allowlist_function("rte_eth_dev_get_name_by_port")
        .allowlist_function("rte_eth_dev_is_valid_port")
        .allowlist_function("rte_eth_dev_socket_id")
        .allowlist_function("rte_eth_dev_info_get")
        .allowlist_function("rte_eth_dev_configure")
        .allowlist_function("rte_eth_dev_adjust_nb_rx_tx_desc")
        .allowlist_function("rte_eth_rx_queue_setup")
        .allowlist_function("rte_eth_tx_queue_setup")
        .allowlist_function("rte_eth_dev_start")
        .allowlist_function("rte_eth_dev_stop")
        .allowlist_function("rte_eth_dev_close")
        .allowlist_function("rte_eth_dev_set_mtu")
        .allowlist_function("rte_eth_dev_get_mtu")
        .allowlist_function("rte_eth_macaddr_get")
        .allowlist_function("rte_eth_promiscuous_enable")
        .allowlist_function("rte_eth_link_get_nowait")
        .allowlist_function("rte_eth_stats_get")
        .allowlist_function("rte_pktmbuf_pool_create")
        .allowlist_function("rte_mempool_free")
        .allowlist_function("rte_mempool_avail_count")
        .allowlist_function("tern_.*")
        .allowlist_var("RTE_ETH_.*")
        .allowlist_var("RTE_MBUF_.*")
        .allowlist_var("RTE_PKTMBUF_HEADROOM")
        .allowlist_var("RTE_MAX_ETHPORTS")
        .allowlist_var("SOCKET_ID_ANY")
        // The mbuf and mempool layouts are DPDK-version specific and only
        // touched through the shim, so Rust sees them as opaque.
        .opaque_type("rte_mbuf")
        .opaque_type("rte_mempool")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .unwrap_or_else(|e| panic!("dpdk-sys: bindgen failed on the DPDK headers: {e}"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("dpdk-sys: writing bindings.rs");
}
