//! `smsdesk`: the dev server and tools. `smsdesk dev` runs every function in one process.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = smsdesk::cli::Cli::parse();
    match smsdesk::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smsdesk: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
