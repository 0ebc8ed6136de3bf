//! A bounded, deterministic fuzz run of the configuration loader in plain `cargo test` (stable):
//! seeded mutations of real configurations must load or fail with an error, never panic. The
//! open-ended libFuzzer run of the same property is `fuzz/`'s `yaml_loader` target.

use std::panic::{self, AssertUnwindSafe};

use kafka_listener::config::ConfigLoader;

/// Inputs the mutations start from: the seed's file and snippets that reach every layer.
const CORPUS: &[&str] = &[
    include_str!("../fixtures/seed-application.yml"),
    "spring:\n  kafka:\n    bootstrap-servers: [a:1, b:2]\n    consumer: {group-id: ${HOST:g}, max-poll-records: 5}\n",
    "spring.kafka.listener.ack-mode: MANUAL\n---\nspring.config.activate.on-profile: prod & !dev\nspring.kafka.listener.poll-timeout: PT3S\n",
    "a: &anchor {x: 1}\nb: *anchor\nspring.kafka.client-id: !!str 12\n\"[k.y]\": 'q'\n",
    "spring.kafka.consumer.value-deserializer=org.springframework.kafka.support.serializer.ErrorHandlingDeserializer\nspring.kafka.consumer.properties.spring.deserializer.value.delegate.class=JsonDeserializer\n",
    "# c\nkey\\ one = v\\u00e9\\\n  continued\n#---\nspring.config.activate.on-profile=dev\nspring.kafka.listener.ack-time 5s\n",
    "spring.kafka.retry.topic:\n  enabled: true\n  backoff: {delay: 1s, multiplier: 2.0, max-delay: 10s}\n",
];

/// Fragments that tend to reach interesting code: placeholder syntax, YAML structure, escapes.
const TOKENS: &[&str] = &[
    "${",
    "}",
    "${a}",
    ":",
    "\n",
    "\n  ",
    "\n- ",
    "---\n",
    "[",
    "]",
    "{",
    "&a ",
    "*a",
    "!!str ",
    "!!int ",
    "\\",
    "\\u",
    "\\u12",
    "#",
    "!",
    "\"",
    "'",
    "?",
    "|\n",
    ">\n",
    "spring.kafka.",
    "on-profile: ",
    "\t",
    "\u{feff}",
    "é",
    "\r",
    "=",
    "%YAML 1.2\n",
    "PT",
    "99999999999999999999",
    "-",
    "~",
];

/// xorshift64*: a fixed seed makes every run test the same inputs, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(input: &mut Vec<u8>, rng: &mut Rng) {
    let len = input.len();
    match rng.below(6) {
        0 if len > 0 => {
            let at = rng.below(len);
            input[at] ^= 1 << rng.below(8);
        }
        1 => {
            let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
            let at = rng.below(len + 1);
            input.splice(at..at, token.iter().copied());
        }
        2 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(16)).min(len);
            input.drain(start..end);
        }
        3 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(32)).min(len);
            let copy: Vec<u8> = input[start..end].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, copy);
        }
        4 => {
            let other = CORPUS[rng.below(CORPUS.len())].as_bytes();
            let at = rng.below(len + 1);
            let from = rng.below(other.len());
            input.truncate(at);
            input.extend_from_slice(&other[from..]);
        }
        _ if len > 0 => {
            let at = rng.below(len);
            input[at] = rng.next() as u8;
        }
        _ => input.push(rng.next() as u8),
    }
}

/// Loads `text` as YAML and as properties and uses what comes out; true if the YAML loaded.
fn exercise(text: &str) -> bool {
    let loader = ConfigLoader::new().profiles(["dev", "prod"]).env([
        ("HOST", "kafka:9092"),
        ("SPRING_KAFKA_CLIENT_ID", "${HOST}"),
    ]);
    let yaml = loader.load_yaml_str(text);
    let yaml_loaded = yaml.is_ok();
    for result in [yaml, loader.load_properties_str(text)] {
        match result {
            Ok(props) => {
                let _ = props.resolve_placeholders(text);
                let _ = props.consumer_connection();
                let _ = props.warnings().iter().map(ToString::to_string).count();
            }
            Err(err) => {
                assert!(!err.to_string().is_empty());
            }
        }
    }
    yaml_loaded
}

#[test]
fn config_loader_never_panics_on_mutated_inputs() {
    // Bounded to a few seconds of a debug build on a busy machine; `fuzz/` runs open-ended.
    const ITERATIONS: usize = 1_500;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut loaded = 0;
    for iteration in 0..ITERATIONS {
        let mut input = CORPUS[iteration % CORPUS.len()].as_bytes().to_vec();
        for _ in 0..=rng.below(8) {
            mutate(&mut input, &mut rng);
        }
        let text = String::from_utf8_lossy(&input).into_owned();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| exercise(&text)));
        let Ok(yaml_loaded) = outcome else {
            panic!("iteration {iteration}: the loader panicked on {text:?}");
        };
        loaded += usize::from(yaml_loaded);
    }
    // The run is only meaningful if mutations still reach binding, not just the parser.
    assert!(
        loaded > ITERATIONS / 10,
        "only {loaded} of {ITERATIONS} mutated inputs parsed"
    );
}

#[test]
fn config_loader_survives_hostile_shapes() {
    let deep_block: String = (0..300)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let hostile = [
        "[".repeat(50_000),
        "{a: ".repeat(5_000),
        deep_block,
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n".to_owned(),
        format!("spring.kafka.client-id: {}", "${".repeat(10_000)),
        format!("spring.kafka.client-id: {}x{}", "${a:".repeat(1_000), "}".repeat(1_000)),
        "spring.kafka.client-id: ${a}\na: ${b}${b}${b}${b}\nb: ${c}${c}${c}${c}\nc: ${d}${d}${d}${d}\nd: ${e}${e}${e}${e}\ne: ${f}${f}${f}${f}\nf: ${g}${g}${g}${g}\ng: ${h}${h}${h}${h}\nh: x\n".to_owned(),
        format!("---\nspring.config.activate.on-profile: {}dev\na: 1\n", "!".repeat(100_000)),
        format!("---\nspring.config.activate.on-profile: {}dev\na: 1\n", "(".repeat(100_000)),
        format!("a=\\{}", "\\".repeat(100_001)),
    ];
    for text in &hostile {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| exercise(text)));
        assert!(
            outcome.is_ok(),
            "the loader panicked on {:?}",
            &text[..text.len().min(200)]
        );
    }
}
