//! The AWS SDK configuration and the HTTPS client, built once per cold start and tuned for init time
//! (measured in bench/coldstart/README.md):
//! - no aws-config: region and credentials come from the variables Lambda sets and the SDK configuration
//!   is built directly (`smsdesk_aws::sdk_config_from_env`), so neither aws-config's provider chains nor
//!   the STS/SSO clients they carry are linked or run;
//! - the SDK's HTTPS client connects lazily (`smsdesk_aws::LazyTls`): the CA store is read on the first AWS
//!   call, not while each service client is constructed;
//! - the providers' reqwest client has its roots compiled in (`smsdesk_providers::http`), so building it
//!   reads and parses nothing;
//! - TLS is rustls on *ring* everywhere: no aws-lc in the bootstrap.
//!
//! Outside Lambda (`cargo lambda watch`), export `AWS_REGION`, `AWS_ACCESS_KEY_ID` and
//! `AWS_SECRET_ACCESS_KEY` (dummy values for DynamoDB Local), e.g.
//! `eval "$(aws configure export-credentials --format env)"` for real credentials.

use smsdesk_aws::ConfigError;
use smsdesk_aws::aws_types::SdkConfig;

/// The SDK configuration every client of a function shares: region and credentials from Lambda's
/// variables, the lazily connecting HTTPS client.
pub fn sdk_config() -> Result<SdkConfig, ConfigError> {
    smsdesk_aws::sdk_config_from_env()
}

/// A reqwest builder whose TLS roots are compiled in; add timeouts and build.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    smsdesk_providers::http::client_builder()
}
