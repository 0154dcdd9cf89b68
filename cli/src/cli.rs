//! Command-line arguments.

use crate::dev::DevOptions;
use crate::dlq::Target;
use clap::{Args, Parser, Subcommand, ValueEnum};
use smsdesk_ports::QueueKind;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "smsdesk", version, about = "The SMS channel of a contact center")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run every function in one process on the embedded store (development, demos, small teams).
    Dev {
        /// Where to serve HTTP.
        #[arg(long, default_value = "127.0.0.1:9000")]
        addr: SocketAddr,
        /// The embedded database file (created if missing).
        #[arg(long, env = "SMSDESK_DATA", default_value = ".smsdesk/smsdesk.db")]
        data: PathBuf,
        /// The URL providers use to reach this server (for callback URLs); defaults to http://<addr>.
        #[arg(long, env = "SMSDESK_PUBLIC_URL")]
        public_url: Option<String>,
        /// Delay before the first retry of a send that failed transiently, in milliseconds.
        #[arg(long, env = "SMSDESK_RETRY_BASE_MS", default_value_t = 5000)]
        retry_base_ms: u64,
        /// Send attempts in all before a message fails for good.
        #[arg(long, env = "SMSDESK_SEND_ATTEMPTS", default_value_t = 3)]
        send_attempts: u32,
        /// Seconds between timer sweeps (assignment catch-up, auto-close).
        #[arg(long, env = "SMSDESK_SWEEP_SECS", default_value_t = 5)]
        sweep_secs: u64,
        /// How long a message stays hidden while a consumer works on it (crash recovery time), in seconds.
        #[arg(long, env = "SMSDESK_VISIBILITY_SECS", default_value_t = 60)]
        visibility_secs: u64,
        /// How long a send claim holds before another attempt may take over (above the provider timeout), in seconds.
        #[arg(long, env = "SMSDESK_SEND_LEASE_SECS", default_value_t = 120)]
        send_lease_secs: u64,
        /// Run the queue consumers and timers here (`--workers false`: HTTP only, work stays queued).
        #[arg(long, env = "SMSDESK_WORKERS", default_value_t = true, action = clap::ArgAction::Set)]
        workers: bool,
        /// Sign the console in through this OpenID Connect issuer, and accept its RS256 JWTs as bearer tokens
        /// (checked here as the stack's JWT authorizer does in AWS). Needs --oidc-client-id.
        #[arg(long, env = "SMSDESK_OIDC_ISSUER", requires = "oidc_client_id")]
        oidc_issuer: Option<String>,
        /// The console's public client id at the issuer (Authorization Code with PKCE, no secret).
        #[arg(long, env = "SMSDESK_OIDC_CLIENT_ID")]
        oidc_client_id: Option<String>,
        /// The audience the JWTs must name (`aud`, or `client_id` without `aud`); defaults to the client id.
        #[arg(long, env = "SMSDESK_OIDC_AUDIENCE")]
        oidc_audience: Option<String>,
        /// Seconds a client has to send a request's line and headers; also how long an idle kept-alive
        /// connection stays open.
        #[arg(long, env = "SMSDESK_HEADER_TIMEOUT_SECS", default_value_t = 10)]
        header_timeout_secs: u64,
        /// Seconds a request body may pause between two pieces before the request is refused.
        #[arg(long, env = "SMSDESK_BODY_TIMEOUT_SECS", default_value_t = 30)]
        body_timeout_secs: u64,
        /// The most HTTP connections open at once (live-update WebSockets included); more wait their turn.
        #[arg(long, env = "SMSDESK_MAX_CONNECTIONS", default_value_t = 512)]
        max_connections: usize,
    },
    /// Create the AWS shape's table and queues on DynamoDB Local and moto (see scripts/emulators.sh) and write
    /// the environment file for `cargo lambda watch --env-file`.
    AwsLocal {
        /// Names the table (`<prefix>-smsdesk`), the queues and the secrets.
        #[arg(long, default_value = "local")]
        prefix: String,
        #[arg(long, default_value = ".smsdesk/lambda.env")]
        env_file: PathBuf,
        /// Where `cargo lambda watch` serves the inbound-webhook function (callback URLs start with it).
        #[arg(long, default_value = "http://127.0.0.1:9000/lambda-url/inbound-webhook")]
        public_url: String,
        /// Instead of creating resources: play the SQS event source mappings against `cargo lambda watch` at
        /// this URL (e.g. http://127.0.0.1:9000), invoking router, outbound-send and crm-upsert.
        #[arg(long, value_name = "INVOKE_URL")]
        map_queues: Option<String>,
    },
    /// The load run (issue 12): `smsdesk dev` in a child process and a fake TeleSign on loopback; signed
    /// texts with exact replays, agents' replies, shuffled delivery receipts; then the store is checked.
    /// Progress on stderr; a table, then one JSON object as the last line of stdout. Exits 1 when anything
    /// was lost, duplicated, went backwards, was refused or did not settle.
    Bench(BenchArgs),
    /// The dead-letter queues: list what died and why, and move messages back to their queue.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Print the API's OpenAPI 3.1 document (what `/openapi.json` serves; committed as docs/openapi.json).
    Openapi,
    /// Captured webhooks: check a provider's signature offline.
    Webhook {
        #[command(subcommand)]
        action: WebhookAction,
    },
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Distinct inbound texts (each from another customer).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub texts: u32,
    /// Concurrent HTTP connections posting webhooks and replies.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub connections: u32,
    /// Exact replays posted on top, as a share of the texts (0.3: 30% more posts).
    #[arg(long, default_value_t = 0.3)]
    pub replays: f64,
    /// Agents sharing the conversations (each with the capacity for its share; at least one per 99 texts,
    /// as an agent holds at most 100).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub agents: u32,
    /// The channel's numbers the texts are spread over (each paced at 1,000 sends/s).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub numbers: u32,
    /// The `smsdesk` binary to run as the server (default: this one; with --aws, `smsdesk-aws-shape` beside it).
    #[arg(long)]
    pub server: Option<PathBuf>,
    /// Where the server's log goes (default: a file beside its temporary database).
    #[arg(long)]
    pub server_log: Option<PathBuf>,
    /// Longest wait for any one phase to settle, in seconds.
    #[arg(long, default_value_t = 600)]
    pub phase_timeout_secs: u64,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Against the AWS shape instead: `smsdesk-aws-shape` (built by `cargo build -p smsdesk-tests --bin
    /// smsdesk-aws-shape`; found beside this binary, or given by --server) on DynamoDB Local and moto
    /// (`eval "$(scripts/emulators.sh start)"`), counting every AWS request per message.
    #[arg(long)]
    pub aws: bool,
    /// Customer texts per conversation, each answered by one reply: 1 (every text opens a conversation and
    /// a CRM contact: the worst case), or N for the typical mix (BENCHMARKS.md), reported beside the first
    /// round's figures as `aws_requests.typical_mix`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub texts_per_conversation: u32,
    /// One post at a time, this many milliseconds apart (texts, replies and receipts alike), instead of
    /// --connections at once: a quiet hour's traffic, where every queue and stream batch holds one message
    /// (with --aws, the counts at a trickle)
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub pace_ms: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
#[error("the load run was not clean: {0}")]
pub struct BenchFailed(String);

#[derive(Subcommand, Debug)]
pub enum WebhookAction {
    /// Exits 0 when the captured webhook's signature is valid and 1 when not, printing what it checked
    /// (the string signed, the URL variants tried). Stale timestamps and expired certificates are reported
    /// beside the verdict, never in it.
    Verify(crate::webhook::VerifyArgs),
}

#[derive(Subcommand, Debug)]
pub enum DlqAction {
    /// One JSON line per dead letter: {"queue", "id", "group", "reason", "body"}.
    List {
        /// Only this queue's dead letters (default: every queue's; with --aws also the live stream's when
        /// SMSDESK_LIVE_STREAM_DLQ_URL is set).
        #[arg(long, value_enum)]
        queue: Option<QueueName>,
        #[command(flatten)]
        target: DlqTarget,
    },
    /// Moves dead letters back to the end of their queue (a FIFO message keeps its group).
    Redrive {
        #[arg(long, value_enum)]
        queue: QueueName,
        /// A dead letter's id as `dlq list` shows it (repeatable).
        #[arg(long = "id", value_name = "ID")]
        ids: Vec<String>,
        /// Every dead letter of the queue.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        #[command(flatten)]
        target: DlqTarget,
    },
}

#[derive(Args, Debug)]
pub struct DlqTarget {
    /// The embedded database file (`smsdesk dev --data`).
    #[arg(long, env = "SMSDESK_DATA", default_value = ".smsdesk/smsdesk.db")]
    data: PathBuf,
    /// The AWS queues instead: SMSDESK_<QUEUE>_QUEUE_URL / _DLQ_URL, AWS_REGION and credentials (and
    /// SMSDESK_SQS_ENDPOINT for moto) from the environment or from --env-file.
    #[arg(long)]
    aws: bool,
    /// An env file with those variables (e.g. the one `smsdesk aws-local` writes); implies --aws.
    #[arg(long)]
    env_file: Option<PathBuf>,
}

impl DlqTarget {
    fn target(self) -> Target {
        if self.aws || self.env_file.is_some() {
            Target::Aws(self.env_file)
        } else {
            Target::Embedded(self.data)
        }
    }
}

/// The dead-letter queues `smsdesk dlq` knows: each queue's (the names of `QueueKind`), and the table
/// stream's (`live-stream`: the live function's failed batches; AWS only, listed, never redriven).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum QueueName {
    Inbound,
    Outbound,
    Crm,
    Timers,
    LiveStream,
}

impl QueueName {
    /// The queue whose dead letters these are; None for the table stream's.
    pub fn kind(self) -> Option<QueueKind> {
        match self {
            QueueName::Inbound => Some(QueueKind::Inbound),
            QueueName::Outbound => Some(QueueKind::Outbound),
            QueueName::Crm => Some(QueueKind::Crm),
            QueueName::Timers => Some(QueueKind::Timers),
            QueueName::LiveStream => None,
        }
    }
}

pub async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Openapi => {
            print!("{}", smsdesk_app::http::openapi::document_json());
            Ok(())
        }
        Command::Webhook { action: WebhookAction::Verify(args) } => {
            let report = crate::webhook::verify(&args, time::OffsetDateTime::now_utc())?;
            print!("{}", crate::webhook::render(&args.provider, &report));
            if report.valid { Ok(()) } else { Err(crate::webhook::WebhookVerifyError::Invalid.into()) }
        }
        Command::Bench(args) => {
            let binary = match args.server {
                Some(path) => path,
                None if args.aws => std::env::current_exe()?.with_file_name(crate::bench::aws::SHAPE_BINARY),
                None => std::env::current_exe()?,
            };
            let mut opts = crate::bench::BenchOptions::new(args.texts as usize, binary);
            opts.connections = args.connections as usize;
            opts.replay_share = if args.replays.is_finite() { args.replays.clamp(0.0, 10.0) } else { 0.0 };
            opts.agents = args.agents as usize;
            opts.numbers = args.numbers as usize;
            opts.progress = !args.quiet;
            opts.server_log = args.server_log;
            opts.aws = args.aws;
            opts.texts_per_conversation = args.texts_per_conversation as usize;
            opts.pace = args.pace_ms.map(std::time::Duration::from_millis);
            opts.phase_timeout = std::time::Duration::from_secs(args.phase_timeout_secs.max(1));
            let report = crate::bench::run(opts).await?;
            let shape = if args.aws {
                "AWS shape (smsdesk-aws-shape: the template's functions on DynamoDB Local and moto)"
            } else {
                "embedded shape (smsdesk dev, SQLite WAL, synchronous=FULL)"
            };
            println!(
                "smsdesk bench: {} texts (+{} exact replays) from {} connections, {} agents, {} numbers, {shape}",
                report.texts,
                report.webhook_posts - report.texts,
                report.connections,
                report.agents,
                report.numbers,
            );
            print!("{}", report.table());
            println!("{}", report.json());
            if report.clean() {
                Ok(())
            } else {
                let figures = report.json();
                Err(BenchFailed(format!(
                    "lost {}, duplicated {}, downgraded {}, refused {}, not settled {}",
                    figures["lost"],
                    figures["duplicated"],
                    figures["downgraded"],
                    figures["refused"],
                    figures["timed_out"]
                ))
                .into())
            }
        }
        Command::Dlq { action: DlqAction::List { queue, target } } => {
            let target = target.target();
            let kinds: Vec<QueueKind> = match queue {
                Some(q) => q.kind().into_iter().collect(),
                None => QueueKind::ALL.to_vec(),
            };
            if !kinds.is_empty() {
                let port = crate::dlq::open(&target)?;
                for line in crate::dlq::list(port.as_ref(), &kinds).await? {
                    println!("{line}");
                }
            }
            if queue.is_none_or(|q| q == QueueName::LiveStream) {
                for line in crate::dlq::list_live_stream(&target, queue.is_some()).await? {
                    println!("{line}");
                }
            }
            Ok(())
        }
        Command::Dlq { action: DlqAction::Redrive { queue, ids, all, target } } => {
            let kind = queue.kind().ok_or(crate::dlq::DlqError::NoRedrive)?;
            let port = crate::dlq::open(&target.target())?;
            let moved = crate::dlq::redrive(port.as_ref(), kind, &ids, all).await?;
            println!("redrove {moved} dead letter(s) to the {} queue", kind.name());
            Ok(())
        }
        Command::AwsLocal { map_queues: Some(invoke_url), env_file, .. } => {
            Ok(crate::aws_local::map_queues(&env_file, &invoke_url).await?)
        }
        Command::AwsLocal { prefix, env_file, map_queues: None, public_url } => {
            let token = std::env::var("SMSDESK_ADMIN_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| format!("sdk_admin_{}", uuid::Uuid::new_v4().simple()));
            let lines = crate::aws_local::run(&prefix, &env_file, &token, &public_url).await?;
            eprintln!("created the table and queues on the emulators; wrote {}:", env_file.display());
            for line in lines {
                println!("{line}");
            }
            eprintln!("next: cargo lambda watch --env-file {}", env_file.display());
            Ok(())
        }
        Command::Dev {
            addr,
            data,
            public_url,
            retry_base_ms,
            send_attempts,
            sweep_secs,
            visibility_secs,
            send_lease_secs,
            workers,
            oidc_issuer,
            oidc_client_id,
            oidc_audience,
            header_timeout_secs,
            body_timeout_secs,
            max_connections,
        } => {
            crate::dev::init_tracing();
            let admin_token = std::env::var("SMSDESK_ADMIN_TOKEN").ok().filter(|t| !t.trim().is_empty());
            let options = DevOptions {
                addr,
                data,
                public_url,
                admin_token,
                retry_base: std::time::Duration::from_millis(retry_base_ms),
                send_attempts,
                sweep_every: std::time::Duration::from_secs(sweep_secs.max(1)),
                visibility: std::time::Duration::from_secs(visibility_secs.max(1)),
                send_lease: std::time::Duration::from_secs(send_lease_secs.max(1)),
                workers,
                stranded: Default::default(),
                oidc: oidc_issuer.zip(oidc_client_id).map(|(issuer, client_id)| crate::dev::DevOidc {
                    audience: oidc_audience.unwrap_or_else(|| client_id.clone()),
                    issuer,
                    client_id,
                }),
                http: crate::http_server::HttpLimits {
                    header_read_timeout: std::time::Duration::from_secs(header_timeout_secs.max(1)),
                    body_read_timeout: std::time::Duration::from_secs(body_timeout_secs.max(1)),
                    max_connections: max_connections.max(1),
                },
            };
            let server = crate::dev::start(options).await?;
            server.print_banner();
            Ok(server.run_until_signal().await?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dlq(args: &[&str]) -> DlqAction {
        let argv = ["smsdesk", "dlq"].iter().chain(args).copied();
        match Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}")).command {
            Command::Dlq { action } => action,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dlq_names_every_queue_the_runbook_does() {
        // The runbook's and the timers dead-letter alarm's own command.
        let DlqAction::List { queue, target } = dlq(&["list", "--aws", "--queue", "timers"]) else {
            panic!("a listing")
        };
        assert_eq!(queue, Some(QueueName::Timers));
        assert!(matches!(target.target(), Target::Aws(None)));
        for (name, kind) in [
            ("inbound", Some(QueueKind::Inbound)),
            ("outbound", Some(QueueKind::Outbound)),
            ("crm", Some(QueueKind::Crm)),
            ("timers", Some(QueueKind::Timers)),
            ("live-stream", None),
        ] {
            let DlqAction::List { queue, .. } = dlq(&["list", "--queue", name]) else { panic!("{name}") };
            assert_eq!(queue.and_then(QueueName::kind), kind, "{name}");
        }
        // Every queue of the port has a name here.
        for kind in QueueKind::ALL {
            let value =
                QueueName::from_str(kind.name(), false).unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
            assert_eq!(value.kind(), Some(kind));
        }
        let DlqAction::Redrive { queue, all, .. } = dlq(&["redrive", "--aws", "--queue", "timers", "--all"])
        else {
            panic!("a redrive")
        };
        assert_eq!((queue, all), (QueueName::Timers, true));
        assert!(Cli::try_parse_from(["smsdesk", "dlq", "list", "--queue", "nothing"]).is_err());
    }
}
