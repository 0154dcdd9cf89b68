//! `smsdesk webhook verify`: a captured webhook's signature checked offline by its provider's plug-in
//! ([`smsdesk_providers::Provider::explain_signature`]); this module only reads the arguments and files.

use clap::Args;
use smsdesk_providers::{Providers, SignatureCheck, SignatureReport, WebhookRequest};
use std::path::PathBuf;
use time::OffsetDateTime;

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// The provider's name as in the webhook URL (`/webhooks/{provider}/...`).
    #[arg(long)]
    pub provider: String,
    /// The full public URL the provider called, query string included.
    #[arg(long)]
    pub url: String,
    /// The secret the provider signs with (TeleSign API key, Twilio auth token, Vonage signature secret,
    /// ACS Event Grid secret).
    #[arg(long, env = "SMSDESK_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// A request header as captured, `Name: value` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The raw body as captured (none for a GET).
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// The HTTP method of the captured request.
    #[arg(long, default_value = "POST")]
    pub method: String,
    /// Vonage: md5hash (default), md5, sha1, sha256 or sha512.
    #[arg(long)]
    pub signature_method: Option<String>,
    /// SNS (aws): the signing certificate (PEM) named by the message's SigningCertURL, downloaded.
    #[arg(long)]
    pub cert_file: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookVerifyError {
    #[error("the signature is not valid")]
    Invalid,
    #[error("unknown provider '{0}' (one of: {1})")]
    UnknownProvider(String, String),
    #[error("--header {0:?} is not 'Name: value'")]
    Header(String),
    #[error("cannot read {0}: {1}")]
    File(PathBuf, std::io::Error),
    #[error("{0}")]
    Http(#[from] reqwest::Error),
}

fn read(path: &Option<PathBuf>) -> Result<Option<Vec<u8>>, WebhookVerifyError> {
    path.as_ref().map(|p| std::fs::read(p).map_err(|e| WebhookVerifyError::File(p.clone(), e))).transpose()
}

/// Checks the captured webhook; the report's `valid` is the signature's verdict alone.
pub fn verify(args: &VerifyArgs, now: OffsetDateTime) -> Result<SignatureReport, WebhookVerifyError> {
    let providers = Providers::signing(smsdesk_providers::http::client()?);
    let provider = providers.get(&args.provider).ok_or_else(|| {
        WebhookVerifyError::UnknownProvider(args.provider.clone(), providers.names().join(", "))
    })?;
    let headers = args
        .headers
        .iter()
        .map(|h| {
            h.split_once(':')
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| WebhookVerifyError::Header(h.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let body = read(&args.body_file)?.unwrap_or_default();
    let certificate = read(&args.cert_file)?;
    let request = WebhookRequest { method: &args.method, url: &args.url, headers: &headers, body: &body };
    Ok(provider.explain_signature(&SignatureCheck {
        request,
        secret: args.secret.as_deref(),
        signature_method: args.signature_method.as_deref(),
        certificate: certificate.as_deref(),
        now,
    }))
}

/// The report as printed.
pub fn render(provider: &str, report: &SignatureReport) -> String {
    let mut out = format!("provider: {provider}\n");
    for line in &report.checked {
        out.push_str(&format!("checked: {line}\n"));
    }
    for line in &report.notes {
        out.push_str(&format!("note: {line}\n"));
    }
    out.push_str(if report.valid { "signature: valid\n" } else { "signature: NOT valid\n" });
    out
}
