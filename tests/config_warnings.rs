//! The warning a user sees for an unknown `spring.kafka` key. Alone in its test binary: tracing
//! caches each log call site's interest process-wide, so a test in the same binary that logged
//! the same warning first, with no subscriber, could make this capture see nothing.

use kafka_listener::config::ConfigLoader;

/// Collects what the fmt subscriber writes, to check the log line users see.
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn config_unknown_keys_are_logged_as_warnings() {
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        ConfigLoader::new()
            .env(Vec::<(String, String)>::new())
            .load_yaml_str("spring.kafka.consumer.group-idd: x\n")
            .unwrap();
    });
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("WARN"), "{text}");
    assert!(
        text.contains("did you mean spring.kafka.consumer.group-id?"),
        "{text}"
    );
    assert!(
        text.contains("key=spring.kafka.consumer.group-idd"),
        "{text}"
    );
}
