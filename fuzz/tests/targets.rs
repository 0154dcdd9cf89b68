//! Every fuzz target, briefly, under `cargo test`: its seeds pass (they are valid provider payloads) and a
//! few thousand mutations of them neither panic nor hang. The long runs are `smsdesk-fuzz` (README).

use smsdesk_fuzz::{RunOptions, run, run_input, targets};
use std::time::Duration;

#[test]
fn every_seed_of_every_target_runs_cleanly_and_the_signed_ones_are_accepted() {
    for target in targets() {
        for seed in (target.seeds)() {
            // A minute, not the driver's 10 s: the first phone seed loads the numbering metadata, which an
            // unoptimized build on a loaded machine once took longer than 10 s to do.
            let (label, _) = run_input(&target, &seed, Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("{}: a seed fails: {e}", target.name));
            if !matches!(target.name, "segments" | "phone" | "aws-sns") {
                assert!(label.starts_with("ok"), "{}: a valid payload was refused: {label}", target.name);
            }
        }
    }
}

#[test]
fn a_short_run_of_every_target_finds_nothing() {
    for target in targets() {
        // Bounded by the count, not the clock: a loaded CI machine ran only 9 inputs in the 300 ms this once
        // had. The minute is a backstop that a quiet machine never reaches (a few hundred ms per target).
        let options =
            RunOptions { time: Duration::from_secs(60), max_inputs: 500, seed: 7, ..RunOptions::default() };
        let report = run(&target, &options);
        assert!(report.finding.is_none(), "{}: {:?}", target.name, report.finding);
        assert_eq!(
            report.inputs, 500,
            "{}: only {} of 500 inputs ran within a minute",
            target.name, report.inputs
        );
    }
}

#[test]
fn the_driver_reports_a_panicking_target_with_its_input() {
    fn explodes_on_brace(data: &[u8]) -> String {
        assert!(!data.contains(&b'}'), "a closing brace");
        "ok".into()
    }
    let target = smsdesk_fuzz::Target {
        name: "explodes",
        what: "panics on '}'",
        run: explodes_on_brace,
        seeds: || vec![b"{\"a\":1".to_vec()],
    };
    let report = run(&target, &RunOptions { time: Duration::from_secs(5), ..RunOptions::default() });
    let finding = report.finding.expect("the driver finds the panic");
    assert!(finding.kind.contains("a closing brace"), "{}", finding.kind);
    assert!(finding.input.contains(&b'}'));
}

#[test]
fn the_driver_reports_a_hang() {
    fn hangs(data: &[u8]) -> String {
        if data.len() > 3 {
            std::thread::sleep(Duration::from_secs(3));
        }
        "ok".into()
    }
    let target =
        smsdesk_fuzz::Target { name: "hangs", what: "sleeps", run: hangs, seeds: || vec![b"abcd".to_vec()] };
    let report = run(
        &target,
        &RunOptions {
            time: Duration::from_secs(5),
            hang_after: Duration::from_millis(200),
            ..RunOptions::default()
        },
    );
    assert!(report.finding.expect("a hang is a finding").kind.starts_with("hang"));
}
