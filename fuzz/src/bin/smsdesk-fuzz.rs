//! `smsdesk-fuzz [--secs N] [--seed S] [--artifacts DIR] [TARGET...]`: fuzzes the targets (all when none is
//! named) for N seconds in total, shared between them; `--list` names them. Exits 1 on a panic or a hang,
//! with the input written to the artifacts directory (`target/fuzz-artifacts` by default).
//! `--write-seeds DIR` writes each target's seeds to `DIR/<target>/seed-<n>` (a starting corpus for any other
//! fuzzer; `scripts/fuzz.sh` has the libFuzzer binary write its own).

use smsdesk_fuzz::{RunOptions, run, targets};
use std::time::Duration;

fn main() {
    let mut secs = 60.0f64;
    let mut seed: u64 = 1;
    let mut artifacts = std::path::PathBuf::from("target/fuzz-artifacts");
    let mut names: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    let usage = "usage: smsdesk-fuzz [--secs N] [--seed S] [--artifacts DIR] [--list] [--write-seeds DIR] [TARGET...]";
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--secs" => secs = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| fail(usage)),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| fail(usage)),
            "--artifacts" => artifacts = args.next().map(Into::into).unwrap_or_else(|| fail(usage)),
            "--write-seeds" => {
                let dir = args.next().map(std::path::PathBuf::from).unwrap_or_else(|| fail(usage));
                write_seeds(&dir);
                return;
            }
            "--list" => {
                for t in targets() {
                    println!("{:<20} {}", t.name, t.what);
                }
                return;
            }
            "-h" | "--help" => {
                println!("{usage}");
                return;
            }
            name if !name.starts_with('-') => names.push(name.to_string()),
            _ => fail(usage),
        }
    }
    let chosen: Vec<_> =
        targets().into_iter().filter(|t| names.is_empty() || names.iter().any(|n| n == t.name)).collect();
    if chosen.is_empty() || chosen.len() < names.len() {
        fail(&format!("unknown target among {names:?}; --list names them"));
    }
    let each = Duration::from_secs_f64(secs.max(0.0) / chosen.len() as f64);
    let mut failed = false;
    for target in &chosen {
        let options =
            RunOptions { time: each, seed, artifacts: Some(artifacts.clone()), ..RunOptions::default() };
        let report = run(target, &options);
        match &report.finding {
            None => println!(
                "fuzz {:<20} {:>8} inputs, {:>3} outcomes, corpus {:>4}, slowest {:>6.1} ms: ok",
                report.target,
                report.inputs,
                report.outcomes,
                report.corpus,
                report.slowest.as_secs_f64() * 1000.0
            ),
            Some(f) => {
                failed = true;
                println!(
                    "fuzz {:<20} FAILED after {} inputs: {} (input: {})",
                    f.target,
                    report.inputs,
                    f.kind,
                    f.saved_to.as_ref().map_or_else(|| "not saved".into(), |p| p.display().to_string())
                );
                if f.kind.starts_with("hang") {
                    // The hung worker cannot be stopped; leave now.
                    std::process::exit(1);
                }
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

/// Each target's seeds as files, one directory per target.
fn write_seeds(dir: &std::path::Path) {
    for t in targets() {
        let sub = dir.join(t.name);
        let written = std::fs::create_dir_all(&sub).and_then(|()| {
            (t.seeds)()
                .iter()
                .enumerate()
                .try_for_each(|(i, seed)| std::fs::write(sub.join(format!("seed-{i}")), seed))
        });
        if let Err(e) = written {
            fail(&format!("cannot write the seeds of {} to {}: {e}", t.name, sub.display()));
        }
    }
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}
