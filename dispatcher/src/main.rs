//! `dispatcher`: serves the functions of a spec file over RPC (see
//! `dispatcher --help` and dispatcher/README.md).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Parser;
use tern_dispatcher::cli::Args;
use tern_dispatcher::server::Server;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only help a human at a terminal; in a log file or a
        // pipe they are noise that breaks grep.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match serve(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dispatcher: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: &Args) -> anyhow::Result<()> {
    let config = args.resolve()?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while stopping kills the process outright.
        signal_hook::flag::register_conditional_shutdown(signal, 1, stop.clone())?;
        signal_hook::flag::register(signal, stop.clone())?;
    }
    let mut server = Server::start(&config)?;
    // SIGUSR1: print the counters so far without stopping (scripts/soak.sh
    // reads them at phase boundaries).
    let report_now = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, report_now.clone())?;
    server.report_when(report_now);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on udp://{}", server.local_addr())?;
    stdout.flush()?;
    drop(stdout);
    let report = server.run(&stop);
    tracing::info!("stopped");
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{}", report.table())?;
    stdout.flush()?;
    Ok(())
}
