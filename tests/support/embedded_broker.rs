//! `embedded-broker`: runs an [`EmbeddedKafka`] as a process, for tools that need a broker
//! address (the interop runner `tests/interop/run.sh --broker embedded`).
//!
//! Prints `KAFKA_BOOTSTRAP_SERVERS=<addr>` as one line on stdout once the broker accepts
//! connections, then runs until SIGTERM, Ctrl-C, or stdin closing when stdin is a pipe or a
//! terminal (with stdin from /dev/null it runs until signalled).
//!
//! Options: `--brokers N` (default 1), `--partitions N` (default partitions, 1).

use std::io::{Read, Write};

use kafka_listener::embedded::EmbeddedKafka;

fn arg(args: &[String], name: &str) -> Option<usize> {
    let at = args.iter().position(|a| a == name)?;
    match args.get(at + 1).and_then(|v| v.parse().ok()) {
        Some(v) => Some(v),
        None => {
            eprintln!("embedded-broker: {name} needs a positive number");
            std::process::exit(2);
        }
    }
}

fn stdin_is_a_pipe_or_terminal() -> bool {
    use std::io::IsTerminal;
    use std::os::unix::fs::FileTypeExt;
    std::io::stdin().is_terminal()
        || std::fs::metadata("/proc/self/fd/0")
            .or_else(|_| std::fs::metadata("/dev/stdin"))
            .map(|m| m.file_type().is_fifo() || m.file_type().is_socket())
            .unwrap_or(false)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kafka = EmbeddedKafka::builder()
        .brokers(arg(&args, "--brokers").unwrap_or(1))
        .default_partitions(arg(&args, "--partitions").unwrap_or(1) as i32)
        .start()
        .await;
    println!("KAFKA_BOOTSTRAP_SERVERS={}", kafka.bootstrap());
    let _ = std::io::stdout().flush();
    // Closing stdin stops the broker when stdin is a pipe or a terminal (a parent process
    // holding the other end). Started with stdin from /dev/null, only signals stop it.
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    if stdin_is_a_pipe_or_terminal() {
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut buf = [0u8; 256];
            while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
            let _ = closed_tx.send(());
        });
    } else {
        std::mem::forget(closed_tx);
    }
    let stdin_closed = async {
        let _ = closed_rx.await;
    };
    let terminated = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = stdin_closed => {}
        _ = terminated => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    kafka.shutdown().await;
}
