//! Coverage-guided fuzzing of the same targets with libFuzzer, on the stable toolchain (feature `libfuzzer`).
//! `scripts/fuzz.sh` builds it with SanitizerCoverage instrumentation through stable `rustc` flags
//! (`-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-...`, no sanitizer, no nightly) and runs one
//! process per target: `SMSDESK_FUZZ_TARGET` names the target (`smsdesk-fuzz --list`); the arguments are
//! libFuzzer's (corpus directories, `-max_total_time=N`, ...).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The target `SMSDESK_FUZZ_TARGET` names, found once per process.
fn target() -> fn(&[u8]) -> String {
    static RUN: OnceLock<fn(&[u8]) -> String> = OnceLock::new();
    *RUN.get_or_init(|| {
        let name = std::env::var("SMSDESK_FUZZ_TARGET").unwrap_or_default();
        match smsdesk_fuzz::targets().into_iter().find(|t| t.name == name) {
            Some(t) => t.run,
            None => {
                eprintln!("SMSDESK_FUZZ_TARGET={name:?} names no target; `smsdesk-fuzz --list` names them");
                std::process::exit(2)
            }
        }
    })
}

/// Before fuzzing: `SMSDESK_FUZZ_LIST=1` prints the target names and exits; `SMSDESK_FUZZ_SEEDS=DIR` writes
/// the target's seeds there (libFuzzer reads its corpus directories after this), so `scripts/fuzz.sh`
/// needs no second build.
fn init() {
    if std::env::var_os("SMSDESK_FUZZ_LIST").is_some() {
        for t in smsdesk_fuzz::targets() {
            println!("{}", t.name);
        }
        std::process::exit(0);
    }
    target();
    if let Some(dir) = std::env::var_os("SMSDESK_FUZZ_SEEDS") {
        let dir = std::path::PathBuf::from(dir);
        let name = std::env::var("SMSDESK_FUZZ_TARGET").unwrap_or_default();
        let seeds = smsdesk_fuzz::targets().into_iter().find(|t| t.name == name).map(|t| (t.seeds)());
        let written = std::fs::create_dir_all(&dir).and_then(|()| {
            seeds
                .unwrap_or_default()
                .iter()
                .enumerate()
                .try_for_each(|(i, seed)| std::fs::write(dir.join(format!("seed-{i}")), seed))
        });
        if let Err(e) = written {
            eprintln!("cannot write the seeds to {}: {e}", dir.display());
            std::process::exit(2);
        }
    }
}

fuzz_target!(init: init(), |data: &[u8]| {
    // The outcome label only steers the stable driver; libFuzzer follows coverage. A panic is a finding.
    let _ = target()(data);
});
