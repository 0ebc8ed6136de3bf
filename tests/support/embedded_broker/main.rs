//! `embedded-broker`: runs an [`EmbeddedKafka`] as a process, for tools that need a broker
//! address (the interop runner `tests/interop/run.sh --broker embedded`).
//!
//! Prints `KAFKA_BOOTSTRAP_SERVERS=<addr>` as one line on stdout once the broker accepts
//! connections, then runs until SIGTERM, Ctrl-C, or stdin closing when stdin is a pipe or a
//! terminal (with stdin from /dev/null it runs until signalled).
//!
//! Options: `--brokers N` (default 1), `--partitions N` (default partitions, 1),
//! `--security plaintext|ssl|sasl_plaintext|sasl_ssl` (default plaintext) with
//! `--client-files DIR` (required unless plaintext).
//!
//! Secured as `deploy/local/kafka.sh start --security …` secures a cluster: `ssl` and `sasl_ssl`
//! serve TLS with a CA and certificate (SAN `localhost`, IP `127.0.0.1`) generated at start;
//! `ssl` also requires a client certificate signed by that CA; `sasl_*` accept PLAIN,
//! SCRAM-SHA-256 and SCRAM-SHA-512 for alice / alice-secret and bob / bob-secret. The client
//! files kafka.sh writes (client-security.yml, client.properties, client-librdkafka.properties,
//! client.env, tls/; see `client_files.rs`) are written into DIR, and before the bootstrap line
//! stdout carries, as kafka.sh prints it,
//! `SPRING_CONFIG_ADDITIONAL_LOCATION=DIR/client-security.yml`.

mod client_files;

use std::io::{Read, Write};
use std::path::PathBuf;

use kafka_listener::client::{SaslMechanism, SecurityProtocol};
use kafka_listener::embedded::EmbeddedKafka;

fn text_arg(args: &[String], name: &str) -> Option<String> {
    let at = args.iter().position(|a| a == name)?;
    match args.get(at + 1) {
        Some(v) if !v.starts_with("--") => Some(v.clone()),
        _ => {
            eprintln!("embedded-broker: {name} needs a value");
            std::process::exit(2);
        }
    }
}

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
    let protocol = match text_arg(&args, "--security") {
        None => SecurityProtocol::Plaintext,
        Some(name) => SecurityProtocol::from_kafka_name(&name).unwrap_or_else(|| {
            eprintln!("embedded-broker: --security must be plaintext, ssl, sasl_plaintext or sasl_ssl, not '{name}'");
            std::process::exit(2);
        }),
    };
    let client_files = text_arg(&args, "--client-files").map(PathBuf::from);
    if protocol != SecurityProtocol::Plaintext && client_files.is_none() {
        eprintln!("embedded-broker: --security {protocol} needs --client-files DIR (where the client settings go)");
        std::process::exit(2);
    }
    let mut builder = EmbeddedKafka::builder()
        .brokers(arg(&args, "--brokers").unwrap_or(1))
        .default_partitions(arg(&args, "--partitions").unwrap_or(1) as i32);
    builder = match protocol {
        SecurityProtocol::Ssl => builder.mutual_tls(),
        SecurityProtocol::SaslSsl => builder.tls(),
        _ => builder,
    };
    if protocol.uses_sasl() {
        builder = builder.sasl([
            SaslMechanism::Plain,
            SaslMechanism::ScramSha256,
            SaslMechanism::ScramSha512,
        ]);
    }
    let kafka = builder.start().await;
    if let Some(dir) = &client_files {
        match client_files::write(dir, &kafka.bootstrap(), protocol, kafka.certificates()) {
            Ok(yml) => println!("SPRING_CONFIG_ADDITIONAL_LOCATION={}", yml.display()),
            Err(e) => {
                eprintln!(
                    "embedded-broker: cannot write the client files into {}: {e}",
                    dir.display()
                );
                std::process::exit(1);
            }
        }
    }
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
