//! Command-line arguments.

use crate::dev::{DevError, DevOptions};
use clap::{Parser, Subcommand};
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
    },
}

pub async fn run(cli: Cli) -> Result<(), DevError> {
    match cli.command {
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
            };
            let server = crate::dev::start(options).await?;
            server.print_banner();
            server.run_until_signal().await
        }
    }
}
