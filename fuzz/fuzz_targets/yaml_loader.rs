//! Any bytes given to the configuration loader, as YAML and as Java properties, yield a value or
//! an error — never a panic, an overflow or a hang.

#![no_main]

use kafka_listener::config::ConfigLoader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // A fixed environment, so runs are reproducible and placeholders have something to find.
    let loader = ConfigLoader::new()
        .profiles(["dev", "prod"])
        .env([("HOST", "kafka:9092"), ("SPRING_KAFKA_CLIENT_ID", "${HOST}")]);
    for result in [loader.load_yaml_str(&text), loader.load_properties_str(&text)] {
        match result {
            Ok(props) => {
                let _ = props.resolve_placeholders(&text);
                let _ = props.consumer_connection();
                let _ = props.warnings().iter().map(ToString::to_string).count();
            }
            Err(err) => {
                let _ = err.to_string();
            }
        }
    }
});
