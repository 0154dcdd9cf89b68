//! Cold-start benchmark for Lambda bootstraps, on this machine.
//!
//! Serves a fake Lambda Runtime API on 127.0.0.1, execs each bootstrap with `AWS_LAMBDA_RUNTIME_API`
//! pointing at it and the environment Lambda would give it, and measures init: exec -> the first
//! `GET /2018-06-01/runtime/invocation/next`. With `--invoke`, it then answers that poll with one event and
//! also measures the first invocation (poll answered -> response posted). Each bootstrap runs `--runs`
//! times, in turns, in a new order each round (so drift and what one run leaves behind hit every binary
//! alike); the report gives medians and p90, the ratio to the
//! binary named `hello`, the stripped size and the peak RSS at first poll.
//!
//! Usage: coldstart [--runs N] [--invoke sqs|http|FILE.json] [--invoke-for NAME sqs|http|FILE.json]...
//!                  [--env KEY=VALUE]... [--env-for NAME KEY=VALUE]... [--markdown FILE] NAME=PATH...
//! (one of the names must be `hello`; `--invoke-for` gives one binary its own event, over `--invoke`)

mod fake_api;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug)]
struct Args {
    runs: usize,
    invoke: Option<String>,
    /// Events for one binary only (by name), over `invoke`.
    invoke_for: Vec<(String, String)>,
    env: Vec<(String, String)>,
    /// Variables for one binary only (by name), on top of `env`.
    env_for: Vec<(String, String, String)>,
    markdown: Option<PathBuf>,
    binaries: Vec<(String, PathBuf)>,
}

fn parse_args(mut raw: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        runs: 21,
        invoke: None,
        invoke_for: Vec::new(),
        env: Vec::new(),
        env_for: Vec::new(),
        markdown: None,
        binaries: Vec::new(),
    };
    while let Some(arg) = raw.next() {
        let mut value = |name: &str| raw.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--runs" => args.runs = value("--runs")?.parse().map_err(|_| "--runs needs a number")?,
            "--invoke" => args.invoke = Some(value("--invoke")?),
            "--invoke-for" => {
                let name = value("--invoke-for")?;
                args.invoke_for.push((name, value("--invoke-for")?));
            }
            "--markdown" => args.markdown = Some(PathBuf::from(value("--markdown")?)),
            "--env" => {
                let pair = value("--env")?;
                let (key, val) = pair.split_once('=').ok_or("--env needs KEY=VALUE")?;
                args.env.push((key.to_owned(), val.to_owned()));
            }
            "--env-for" => {
                let name = value("--env-for")?;
                let pair = value("--env-for")?;
                let (key, val) = pair.split_once('=').ok_or("--env-for needs NAME KEY=VALUE")?;
                args.env_for.push((name, key.to_owned(), val.to_owned()));
            }
            other => {
                let (name, path) = other.split_once('=').ok_or(format!("expected NAME=PATH, got {other}"))?;
                args.binaries.push((name.to_owned(), PathBuf::from(path)));
            }
        }
    }
    if args.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    if !args.binaries.iter().any(|(name, _)| name == "hello") {
        return Err("one binary must be named hello (the yardstick)".into());
    }
    Ok(args)
}

/// What the bootstrap sees: Lambda's own variables, dummy credentials, and whatever `--env` adds.
fn lambda_env(name: &str, api: &str, extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", api),
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDBENCHMARK"),
        ("AWS_SECRET_ACCESS_KEY", "bench-secret"),
        ("AWS_SESSION_TOKEN", "bench-token"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("RUST_LOG", "warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (key, value) in extra {
        env.retain(|(k, _)| k != key);
        env.push((key.clone(), value.clone()));
    }
    env
}

/// Fisher-Yates with a small xorshift generator: a fixed seed, so runs are reproducible.
fn shuffle(items: &mut [usize], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        items.swap(i, (*seed % (i as u64 + 1)) as usize);
    }
}

fn event_body(invoke: &str) -> Result<String, String> {
    match invoke {
        "sqs" => Ok(include_str!("../events/sqs.json").to_owned()),
        "http" => Ok(include_str!("../events/apigw-v2.json").to_owned()),
        path => std::fs::read_to_string(path).map_err(|e| format!("cannot read event {path}: {e}")),
    }
}

async fn run(args: Args) -> Result<(), String> {
    let default_event = args.invoke.as_deref().map(event_body).transpose()?;
    let mut events = Vec::new();
    for (name, _) in &args.binaries {
        let own = args.invoke_for.iter().find(|(n, _)| n == name).map(|(_, e)| event_body(e)).transpose()?;
        events.push(own.or_else(|| default_event.clone()));
    }
    let mut api = fake_api::FakeApi::start().await.map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let mut samples: Vec<report::Samples> = args
        .binaries
        .iter()
        .map(|(name, path)| report::Samples::new(name, path))
        .collect::<Result<_, _>>()?;
    let mut order: Vec<usize> = (0..args.binaries.len()).collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..args.runs {
        // In turns, in a new order each round: what one run leaves behind (its exit, freed memory) does
        // not always fall on the same next binary. A fixed order measured the binary after the largest one
        // 15% slower.
        shuffle(&mut order, &mut seed);
        for &index in &order {
            let (name, path) = &args.binaries[index];
            let mut extra = args.env.clone();
            extra.extend(
                args.env_for.iter().filter(|(n, _, _)| n == name).map(|(_, k, v)| (k.clone(), v.clone())),
            );
            let env = lambda_env(name, &api.address(), &extra);
            let run = api
                .measure(path, &env, events[index].as_deref(), Duration::from_secs(20))
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            samples[index].push(run);
        }
    }
    let invoked = if args.invoke_for.is_empty() { args.invoke.as_deref() } else { Some("per binary") };
    let table = report::markdown(&samples, args.runs, invoked);
    print!("{table}");
    if let Some(path) = args.markdown {
        std::fs::write(&path, &table).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("coldstart: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("coldstart: no runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("coldstart: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn arguments_parse_and_hello_is_required() {
        let parsed =
            args(&["--runs", "5", "--env", "A=b=c", "--env-for", "f", "B=1", "hello=/x/hello", "f=/x/f"])
                .unwrap();
        assert_eq!(parsed.env_for, [("f".to_owned(), "B".to_owned(), "1".to_owned())]);
        assert_eq!(parsed.runs, 5);
        assert_eq!(parsed.env, [("A".to_owned(), "b=c".to_owned())]);
        assert_eq!(parsed.binaries.len(), 2);
        assert!(args(&["f=/x/f"]).is_err());
        assert!(args(&["--runs", "0", "hello=/h"]).is_err());
        let per_binary = args(&["--invoke", "sqs", "--invoke-for", "f", "http", "hello=/h", "f=/f"]).unwrap();
        assert_eq!(per_binary.invoke.as_deref(), Some("sqs"));
        assert_eq!(per_binary.invoke_for, [("f".to_owned(), "http".to_owned())]);
        assert!(args(&["--invoke-for", "f"]).is_err());
    }

    #[test]
    fn each_round_is_a_new_order_of_every_binary() {
        let mut order: Vec<usize> = (0..6).collect();
        let mut seed = 1;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20 {
            shuffle(&mut order, &mut seed);
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(sorted, (0..6).collect::<Vec<_>>());
            seen.insert(order.clone());
        }
        assert!(seen.len() > 10, "orders repeat: {seen:?}");
    }

    #[test]
    fn extra_env_overrides_the_defaults() {
        let env = lambda_env("f", "127.0.0.1:9", &[("AWS_REGION".into(), "eu-west-1".into())]);
        let regions: Vec<_> = env.iter().filter(|(k, _)| k == "AWS_REGION").collect();
        assert_eq!(regions, [&("AWS_REGION".to_owned(), "eu-west-1".to_owned())]);
    }
}
