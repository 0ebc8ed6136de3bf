//! A bounded, deterministic stand-in for the `request_decoder` fuzz target that runs in every
//! `cargo test`: valid requests of every served API and version, mutated many ways, must decode
//! or fail with an error — never panic, never abort — and the length guard must agree with the
//! codec on every input the codec accepts.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;

use super::request_seeds::{rich_seed_frames, seed_frames, served_versions};
use crate::embedded::wire::decode_request;
use crate::wire::check_request_lengths;

/// xorshift64*: deterministic, so a failure reproduces from its iteration number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, frame: &mut Vec<u8>) {
    match rng.below(6) {
        0 if !frame.is_empty() => {
            let i = rng.below(frame.len());
            frame[i] ^= 1 << rng.below(8);
        }
        1 if !frame.is_empty() => {
            let i = rng.below(frame.len());
            frame[i] = [0x00, 0x7f, 0x80, 0xff][rng.below(4)];
        }
        2 => {
            let keep = rng.below(frame.len() + 1);
            frame.truncate(keep);
        }
        3 => {
            let i = rng.below(frame.len() + 1);
            frame.insert(i, rng.next() as u8);
        }
        4 if frame.len() >= 4 => {
            // Interesting 32-bit values: lengths and counts at their limits.
            let i = rng.below(frame.len() - 3);
            let v = [0i32, -1, 1, i32::MAX, i32::MIN, 0x7fff, 0x10000][rng.below(7)];
            frame[i..i + 4].copy_from_slice(&v.to_be_bytes());
        }
        _ => {
            let mut tail = BytesMut::new();
            tail.put_u64(rng.next());
            frame.extend_from_slice(&tail);
        }
    }
}

/// The API and version a frame's header names, when the broker serves them.
fn served_header(frame: &[u8]) -> Option<(ApiKey, i16)> {
    let mut fixed = frame.get(..4)?;
    let api = ApiKey::try_from(fixed.get_i16()).ok()?;
    let version = fixed.get_i16();
    served_versions().find(|&served| served == (api, version))
}

/// What the codec alone (no length guard) makes of a frame: the bytes it consumed. Only for
/// frames whose lengths are known to be small: the codec reserves what a length declares.
fn codec_alone(frame: &[u8], api: ApiKey, version: i16) -> anyhow::Result<usize> {
    let mut bytes = Bytes::copy_from_slice(frame);
    RequestHeader::decode(&mut bytes, api.request_header_version(version))?;
    RequestKind::decode(api, &mut bytes, version)?;
    Ok(frame.len() - bytes.remaining())
}

#[test]
fn every_served_api_and_version_has_a_minimal_and_a_rich_seed() {
    let served = served_versions().count();
    let (minimal, rich) = (seed_frames(), rich_seed_frames());
    for (kind, seeds) in [("minimal", &minimal), ("rich", &rich)] {
        let missing: Vec<_> = served_versions()
            .filter(|&served| !seeds.iter().any(|seed| served_header(seed) == Some(served)))
            .collect();
        assert!(missing.is_empty(), "no {kind} seed for {missing:?}");
    }
    assert_eq!((minimal.len(), rich.len()), (served, served));
    for seed in minimal.iter().chain(&rich) {
        let (api, version) = served_header(seed).expect("a served API and version");
        decode_request(seed).unwrap_or_else(|e| panic!("seed does not decode: {e}"));
        let walked = check_request_lengths(seed, api, version).expect("the guard accepts");
        assert_eq!(walked, seed.len(), "{api:?} v{version}: the guard's walk");
        let consumed = codec_alone(seed, api, version).expect("the codec accepts");
        assert_eq!(consumed, seed.len(), "{api:?} v{version}: the codec's read");
    }
}

/// How many mutated inputs one `cargo test` decodes.
const MUTATED_INPUTS: usize = 10_000;
const CHILD_TEST: &str = "embedded::tests::decoder_mutations::decoder_mutation_child";
const START_ENV: &str = "KAFKA_LISTENER_DECODER_MUTATION_START";

/// The deterministic sequence of mutated frames, from minimal and rich seeds alike.
fn mutated_inputs() -> impl Iterator<Item = Vec<u8>> {
    let seeds: Vec<Vec<u8>> = seed_frames()
        .into_iter()
        .chain(rich_seed_frames())
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..MUTATED_INPUTS).map(move |_| {
        let mut frame = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(4) {
            mutate(&mut rng, &mut frame);
        }
        frame
    })
}

/// Runs in a child process, from the input `START_ENV` names. Each input goes through
/// `decode_request` (line `@i` first: that must never abort), then the guard is compared with
/// the codec alone: where the guard accepts, both read the same number of bytes; where it
/// refuses, the codec alone must not decode the input either (line `?i` first: the unguarded
/// codec may abort there, which is what the guard prevents). Line `=i d|r|e` ends each input:
/// decoded, refused by the guard, or an error from the codec.
#[test]
#[ignore = "child process of mutated_requests_decode_or_fail_cleanly"]
fn decoder_mutation_child() {
    use std::io::Write;
    let Some(start) = std::env::var(START_ENV)
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    else {
        return;
    };
    let mut out = std::io::stdout().lock();
    let mut mark = |line: String| {
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .expect("stdout");
    };
    for (i, frame) in mutated_inputs().enumerate().skip(start) {
        mark(format!("@{i}"));
        let mut outcome = if decode_request(&frame).is_ok() {
            'd'
        } else {
            'e'
        };
        if let Some((api, version)) = served_header(&frame) {
            match check_request_lengths(&frame, api, version) {
                Ok(walked) => {
                    if let Ok(consumed) = codec_alone(&frame, api, version) {
                        assert_eq!(walked, consumed, "input {i}: {api:?} v{version}");
                    }
                }
                Err(refusal) => {
                    outcome = 'r';
                    mark(format!("?{i}"));
                    assert!(
                        codec_alone(&frame, api, version).is_err(),
                        "input {i}: the codec decodes {api:?} v{version} the guard refused \
                         ({refusal})"
                    );
                }
            }
        }
        mark(format!("={i} {outcome}"));
    }
    mark("@done".to_owned());
}

/// Every mutated input decodes or is refused with an error — no panic, no abort — and the
/// length guard agrees with the codec. The inputs run in child processes, restarted after
/// each input on which the unguarded codec (the comparison, not the broker's path) aborts.
#[test]
fn mutated_requests_decode_or_fail_cleanly() {
    let exe = std::env::current_exe().expect("test binary path");
    let (mut start, mut outcomes, mut unguarded_aborts) = (0, String::new(), 0);
    loop {
        let output = std::process::Command::new(&exe)
            .args([
                CHILD_TEST,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(START_ENV, start.to_string())
            .output()
            .expect("run the decoder child process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        outcomes.extend(
            stdout
                .lines()
                .filter_map(|l| l.strip_prefix('=')?.chars().last()),
        );
        let last = stdout.lines().rfind(|line| line.starts_with(['@', '?']));
        match last {
            Some("@done") => {
                assert!(
                    output.status.success(),
                    "child failed after finishing: {stderr}"
                );
                break;
            }
            Some(line) if line.starts_with('?') && stderr.contains("memory allocation of") => {
                unguarded_aborts += 1;
                outcomes.push('r');
                start = line[1..].parse::<usize>().expect("input number") + 1;
            }
            _ => {
                let input = last
                    .and_then(|line| line[1..].parse::<usize>().ok())
                    .and_then(|i| mutated_inputs().nth(i));
                panic!(
                    "the decoder child died ({}) at {last:?}, input {input:?}: {stderr}",
                    output.status
                );
            }
        }
    }
    let count = |c: char| outcomes.chars().filter(|&o| o == c).count();
    assert_eq!(outcomes.len(), MUTATED_INPUTS);
    eprintln!(
        "{MUTATED_INPUTS} mutated requests: {} decoded, {} refused by the length guard \
         (the codec alone aborts on {unguarded_aborts} of them), {} refused by the codec",
        count('d'),
        count('r'),
        count('e')
    );
}

/// The directory `write_request_decoder_corpus` fills with seed frames.
const CORPUS_ENV: &str = "KAFKA_LISTENER_FUZZ_CORPUS";

/// Writes the minimal and rich seed frames, one file each, into the directory
/// `KAFKA_LISTENER_FUZZ_CORPUS` names, as a starting corpus for the `request_decoder` fuzz
/// target (see fuzz/README.md): libFuzzer then mutates well-formed requests of every served
/// API and version instead of first having to discover a valid header.
#[test]
#[ignore = "writes files; run by hand before fuzzing"]
fn write_request_decoder_corpus() {
    let dir = std::env::var_os(CORPUS_ENV).expect("set KAFKA_LISTENER_FUZZ_CORPUS to a directory");
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("create the corpus directory");
    let seeds = seed_frames().into_iter().map(|f| ("minimal", f));
    let rich = rich_seed_frames().into_iter().map(|f| ("rich", f));
    for (kind, frame) in seeds.chain(rich) {
        let (api, version) = served_header(&frame).expect("a served API and version");
        let path = dir.join(format!("{api:?}-v{version}-{kind}"));
        std::fs::write(&path, &frame).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}
