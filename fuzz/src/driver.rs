//! The stable-toolchain fuzz driver: random mutations of a seed corpus, seeded so a run repeats, each input
//! run on a worker thread under a watchdog (a hang is a finding too), panics caught and the input saved.

use crate::Target;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How one run goes.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Stop after this long...
    pub time: Duration,
    /// ...or after this many inputs, whichever comes first.
    pub max_inputs: u64,
    pub seed: u64,
    /// An input that takes longer than this is a hang.
    pub hang_after: Duration,
    /// Where a failing input is written (`<target>-<n>.bin`); none: not written.
    pub artifacts: Option<PathBuf>,
    /// Inputs are cut to at most this many bytes.
    pub max_len: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            time: Duration::from_secs(5),
            max_inputs: u64::MAX,
            seed: 1,
            hang_after: Duration::from_secs(10),
            artifacts: None,
            max_len: 64 * 1024,
        }
    }
}

/// A panic or a hang, with the input that caused it.
#[derive(Clone, Debug)]
pub struct Finding {
    pub target: &'static str,
    pub kind: String,
    pub input: Vec<u8>,
    pub saved_to: Option<PathBuf>,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct Report {
    pub target: &'static str,
    pub inputs: u64,
    /// Distinct outcomes reached (accepted, each kind of refusal).
    pub outcomes: usize,
    pub corpus: usize,
    pub slowest: Duration,
    pub finding: Option<Finding>,
}

/// Runs one input through a target on a worker thread; Err on a panic or when it outlives `hang_after`.
pub fn run_input(target: &Target, input: &[u8], hang_after: Duration) -> Result<(String, Duration), String> {
    let (tx, rx) = mpsc::channel();
    let run = target.run;
    let data = input.to_vec();
    std::thread::Builder::new()
        .name("fuzz-input".into())
        .spawn(move || {
            let started = Instant::now();
            let result = std::panic::catch_unwind(|| run(&data));
            let _ = tx.send(result.map(|label| (label, started.elapsed())));
        })
        .map_err(|e| format!("could not start a worker thread: {e}"))?;
    match rx.recv_timeout(hang_after) {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(panic)) => Err(format!("panic: {}", panic_text(panic.as_ref()))),
        // The worker is left running: the process reports the hang and ends.
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!("hang: no answer within {hang_after:?}")),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("the worker thread died".into()),
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(not a string)".into())
}

/// Fuzzes one target; stops at the first finding.
pub fn run(target: &Target, options: &RunOptions) -> Report {
    let mut rng = StdRng::seed_from_u64(options.seed ^ fnv(target.name.as_bytes()));
    let mut corpus: Vec<Vec<u8>> = (target.seeds)();
    corpus.push(Vec::new());
    let mut outcomes: HashSet<String> = HashSet::new();
    let mut report = Report {
        target: target.name,
        inputs: 0,
        outcomes: 0,
        corpus: 0,
        slowest: Duration::ZERO,
        finding: None,
    };
    let started = Instant::now();
    // The seeds themselves first, then mutations.
    let mut pending: Vec<Vec<u8>> = corpus.clone();
    pending.reverse();
    while started.elapsed() < options.time && report.inputs < options.max_inputs {
        let input = match pending.pop() {
            Some(seed) => seed,
            None => mutate(&mut rng, &corpus, options.max_len),
        };
        report.inputs += 1;
        match run_input(target, &input, options.hang_after) {
            Ok((label, took)) => {
                report.slowest = report.slowest.max(took);
                if outcomes.insert(label) && corpus.len() < 4096 {
                    corpus.push(input);
                }
            }
            Err(kind) => {
                let saved_to = options.artifacts.as_ref().and_then(|dir| {
                    std::fs::create_dir_all(dir).ok()?;
                    let path = dir.join(format!("{}-{:016x}.bin", target.name, fnv(&input)));
                    std::fs::write(&path, &input).ok()?;
                    Some(path)
                });
                report.finding = Some(Finding { target: target.name, kind, input, saved_to });
                break;
            }
        }
    }
    report.outcomes = outcomes.len();
    report.corpus = corpus.len();
    report
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Tokens that break parsers: JSON and form syntax, escapes, numbers at the edges, invalid UTF-8, and the
/// start of deep nesting.
const DICTIONARY: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b":",
    b",",
    b"&",
    b"=",
    b"%",
    b"%zz",
    b"%ff",
    b"+",
    b"null",
    b"true",
    b"-0",
    b"1e999999",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"0.0000000000000000000000001",
    b"\\u0000",
    b"\\ud800",
    b"\\udc00\\ud800",
    b"\xff\xfe",
    b"\xc3",
    b"\xf0\x9f\x98",
    b"\xe2\x82\xac",
    b"\xf0\x9f\x98\x80",
    b"\x1b",
    b"\r\n",
    b"\0",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
    b"+1",
    b"+44",
    b"00",
    b"\xef\xbc\x91",
    b"\xd9\xa3",
    b"concat-total",
    b"concat-part",
    b"NumMedia",
    b"MediaUrl0",
    b"sub_resource",
    b"eventType",
    b"Type",
    b"SignatureVersion",
];

/// One random mutation (or a few stacked) of an input from the corpus.
fn mutate(rng: &mut StdRng, corpus: &[Vec<u8>], max_len: usize) -> Vec<u8> {
    let mut data = corpus[rng.random_range(0..corpus.len())].clone();
    let rounds = 1 + rng.random_range(0..4);
    for _ in 0..rounds {
        let len = data.len();
        match rng.random_range(0..11) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] = [0u8, 0x7f, 0x80, 0xff, b'"', b'0', b'9', b' ', b'\n'][rng.random_range(0..9)];
            }
            2 => {
                let i = rng.random_range(0..=len);
                let n = rng.random_range(1..16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                data.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - i).min(64));
                data.drain(i..i + n);
            }
            4 => {
                let i = rng.random_range(0..=len);
                let token = DICTIONARY[rng.random_range(0..DICTIONARY.len())];
                data.splice(i..i, token.iter().copied());
            }
            5 if len > 0 => {
                // Duplicate a slice (long fields, repeated keys).
                let i = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - i).min(256));
                let slice = data[i..i + n].to_vec();
                let times = 1 + rng.random_range(0..8);
                let at = rng.random_range(0..=len);
                for _ in 0..times {
                    data.splice(at..at, slice.iter().copied());
                }
            }
            6 => {
                // Splice with another corpus entry.
                let other = &corpus[rng.random_range(0..corpus.len())];
                if !other.is_empty() {
                    let from = rng.random_range(0..other.len());
                    let at = rng.random_range(0..=len);
                    data.truncate(at);
                    data.extend_from_slice(&other[from..]);
                }
            }
            7 if len > 0 => {
                data.truncate(rng.random_range(0..len));
            }
            8 => {
                // Deep nesting.
                let depth = rng.random_range(1..4096);
                let open = if rng.random() { b'[' } else { b'{' };
                let at = rng.random_range(0..=len);
                data.splice(at..at, std::iter::repeat_n(open, depth));
            }
            9 if len > 0 => {
                // A number-ish run replaced by digits of any length.
                let i = rng.random_range(0..len);
                let n = rng.random_range(0..40);
                let digits: Vec<u8> = (0..n).map(|_| b'0' + rng.random_range(0..10u8)).collect();
                let end = (i + rng.random_range(0..8)).min(len);
                data.splice(i..end, digits);
            }
            _ => {
                let i = rng.random_range(0..=len);
                let c = char::from_u32(rng.random_range(0..0x11_0000)).unwrap_or('\u{fffd}');
                let mut buf = [0u8; 4];
                data.splice(i..i, c.encode_utf8(&mut buf).bytes());
            }
        }
    }
    data.truncate(max_len);
    data
}
