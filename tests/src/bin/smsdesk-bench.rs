//! `smsdesk-bench`: the load run of issue 12 (see `smsdesk_tests::bench`): the real `smsdesk dev` (release
//! build) and a fake TeleSign on loopback, N signed texts plus exact replays from C connections, agents'
//! replies, shuffled delivery receipts; then the store is checked. Prints a table, and as its last line one
//! JSON object of the figures. Exits 1 when anything was lost, duplicated or went backwards.
//!
//!   cargo run --release -p smsdesk-tests --bin smsdesk-bench -- [--texts N] [--connections C]
//!       [--replays SHARE] [--agents A] [--server PATH] [--quiet]

use smsdesk_tests::bench::{BenchOptions, run};
use smsdesk_tests::smsdesk_binary_built;
use std::path::PathBuf;

fn usage() -> ! {
    eprintln!(
        "usage: smsdesk-bench [--texts N] [--connections C] [--replays SHARE] [--agents A] [--server PATH] [--quiet]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut texts = 10_000usize;
    let mut connections = 64usize;
    let mut replays = 0.3f64;
    let mut agents = 10usize;
    let mut server: Option<PathBuf> = None;
    let mut progress = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--texts" => texts = value().parse().unwrap_or_else(|_| usage()),
            "--connections" => connections = value().parse().unwrap_or_else(|_| usage()),
            "--replays" => replays = value().parse().unwrap_or_else(|_| usage()),
            "--agents" => agents = value().parse().unwrap_or_else(|_| usage()),
            "--server" => server = Some(PathBuf::from(value())),
            "--quiet" => progress = false,
            _ => usage(),
        }
    }
    let binary = server.unwrap_or_else(|| smsdesk_binary_built(!cfg!(debug_assertions)));
    let mut opts = BenchOptions::new(texts.clamp(1, 1_000_000), binary);
    opts.connections = connections.clamp(1, 1024);
    opts.replay_share = replays.clamp(0.0, 10.0);
    opts.agents = agents.max(1);
    opts.progress = progress;
    let report = run(opts).await;
    println!(
        "smsdesk-bench: {} texts (+{} exact replays) from {} connections, {} agents, embedded shape \
         (smsdesk dev, SQLite WAL, synchronous=FULL)",
        report.texts,
        report.webhook_posts - report.texts,
        report.connections,
        agents
    );
    print!("{}", report.table());
    println!("{}", report.json());
    if report.lost + report.duplicated + report.downgraded > 0 || report.refused > 0 {
        std::process::exit(1);
    }
}
