//! `SendTextMessage` and the credential check through the AWS SDK (SigV4 by the SDK). The SDK's own
//! retries are off: a send is attempted once per delivery and the outbound policy retries what can be
//! retried, so a text whose answer was lost is never sent again by the SDK behind our back.

use super::{AwsCredentials, CONTEXT_MESSAGE_ID};
use crate::credentials::CredentialsError;
use crate::{SendError, SendReceipt, SendRequest, SmsProvider, Validation};
use async_trait::async_trait;
use aws_sdk_pinpointsmsvoicev2 as sms;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use secrecy::ExposeSecret;
use sms::config::retry::RetryConfig;
use sms::config::timeout::TimeoutConfig;
use sms::config::{BehaviorVersion, Credentials, Region};
use sms::error::{ProvideErrorMetadata, SdkError};
use smsdesk_domain::Channel;
use std::time::Duration;

/// The SDK's HTTPS client: rustls on *ring*, as every other AWS client of smsdesk.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// The channel's access key pair, else the process's (the function's role, from Lambda's environment).
fn credentials(creds: &AwsCredentials) -> Result<Credentials, CredentialsError> {
    if let (Some(id), Some(secret)) = (&creds.access_key_id, &creds.secret_access_key) {
        return Ok(Credentials::new(id, secret.expose_secret(), None, None, "smsdesk-channel"));
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => {
            Ok(Credentials::new(id, secret, env("AWS_SESSION_TOKEN"), None, "environment"))
        }
        _ => Err(CredentialsError::new(
            "credentials.access_key_id",
            "is required where the process has no AWS credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
        )),
    }
}

/// One channel's End User Messaging SMS client.
pub struct AwsSmsClient {
    client: sms::Client,
    creds: AwsCredentials,
}

impl AwsSmsClient {
    pub fn new(
        http: SharedHttpClient,
        channel: &Channel,
        creds: AwsCredentials,
    ) -> Result<Self, CredentialsError> {
        let mut config = sms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(creds.region.clone()))
            .credentials_provider(credentials(&creds)?)
            .http_client(http)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_millis(3100))
                    .operation_timeout(Duration::from_secs(10))
                    .build(),
            );
        if let Some(url) =
            channel.base_url.as_deref().map(|u| u.trim_end_matches('/')).filter(|u| !u.is_empty())
        {
            config = config.endpoint_url(url);
        }
        Ok(Self { client: sms::Client::from_conf(config.build()), creds })
    }

    /// An MMS: `SendMediaMessage` with the items' `s3://` URIs (End User Messaging reads them from the
    /// bucket with the caller's role) and the text, if any.
    async fn send_media(&self, request: &SendRequest, origination: String) -> Result<SendReceipt, SendError> {
        if let Some(bad) = request.media_urls.iter().find(|u| !u.starts_with("s3://")) {
            return Err(SendError::Permanent {
                reason: format!(
                    "AWS End User Messaging sends media only from S3, not {}",
                    bad.split('?').next().unwrap_or_default()
                ),
            });
        }
        let mut call = self
            .client
            .send_media_message()
            .destination_phone_number(request.to.e164())
            .origination_identity(origination)
            .set_media_urls(Some(request.media_urls.clone()))
            .context(CONTEXT_MESSAGE_ID, request.external_id.as_str());
        if !request.text.trim().is_empty() {
            call = call.message_body(&request.text);
        }
        if let Some(set) = &self.creds.configuration_set {
            call = call.configuration_set_name(set);
        }
        match call.send().await {
            Ok(out) => receipt(out.message_id()),
            Err(e) => Err(classify_media_send(&e)),
        }
    }
}

/// The receipt of an accepted send (text or media): AWS's MessageId, which must be there.
fn receipt(message_id: Option<&str>) -> Result<SendReceipt, SendError> {
    match message_id {
        Some(id) if !id.is_empty() => Ok(SendReceipt::one(id)),
        _ => {
            // Taken: not failed (a resend would send it twice), unknown.
            Err(SendError::Unknown { reason: "AWS accepted the message but returned no MessageId".into() })
        }
    }
}

#[async_trait]
impl SmsProvider for AwsSmsClient {
    async fn send(&self, request: &SendRequest) -> Result<SendReceipt, SendError> {
        let origination =
            self.creds.origination_identity.clone().unwrap_or_else(|| request.from.e164().to_string());
        if !request.media_urls.is_empty() {
            return self.send_media(request, origination).await;
        }
        let mut call = self
            .client
            .send_text_message()
            .destination_phone_number(request.to.e164())
            .origination_identity(origination)
            .message_body(&request.text)
            .message_type(sms::types::MessageType::Transactional)
            .context(CONTEXT_MESSAGE_ID, request.external_id.as_str());
        if let Some(set) = &self.creds.configuration_set {
            call = call.configuration_set_name(set);
        }
        match call.send().await {
            Ok(out) => receipt(out.message_id()),
            Err(e) => Err(classify_send(&e)),
        }
    }

    async fn validate(&self) -> Validation {
        let phone_id = self
            .creds
            .origination_identity
            .as_deref()
            .filter(|id| id.starts_with("phone-") || id.contains(":phone-number/"));
        match phone_id {
            Some(id) => match self.client.describe_phone_numbers().phone_number_ids(id).send().await {
                Ok(out) => match out.phone_numbers().first() {
                    Some(n) if n.status().as_str() != "ACTIVE" => Validation::Invalid {
                        reason: format!("phone number {id} is {}", n.status().as_str()),
                    },
                    Some(n) if !n.two_way_enabled() => Validation::Invalid {
                        reason: format!("phone number {id} has two-way SMS off: inbound texts cannot arrive"),
                    },
                    Some(_) => Validation::Valid,
                    None => Validation::Invalid { reason: format!("phone number {id} was not found") },
                },
                Err(e) => classify_validation(&e),
            },
            None => match self.client.describe_account_attributes().send().await {
                Ok(_) => Validation::Valid,
                Err(e) => classify_validation(&e),
            },
        }
    }
}

/// `AWS ThrottlingException: Rate exceeded`.
fn describe<E: ProvideErrorMetadata>(e: &E) -> String {
    format!("AWS {}: {}", e.code().unwrap_or("error"), e.message().unwrap_or_default())
        .trim_end_matches(": ")
        .to_string()
}

/// The SDK's answer to a send: throttling retried later, the opted-out conflict is the customer's opt-out,
/// 5xx and internal errors transient, every other refusal permanent; no answer (a timeout, a connection
/// lost once the request may have been written) is unknown; a connection that never opened is transient.
fn classify_send<R>(error: &SdkError<sms::operation::send_text_message::SendTextMessageError, R>) -> SendError
where
    R: std::fmt::Debug + 'static,
{
    use sms::operation::send_text_message::SendTextMessageError as E;
    let opted_out = |e: &E| match e {
        E::ConflictException(c) => {
            c.reason() == Some(&sms::types::ConflictExceptionReason::DestinationPhoneNumberOptedOut)
        }
        _ => false,
    };
    classify_any(error, opted_out)
}

/// As [`classify_send`], for `SendMediaMessage`.
fn classify_media_send<R>(
    error: &SdkError<sms::operation::send_media_message::SendMediaMessageError, R>,
) -> SendError
where
    R: std::fmt::Debug + 'static,
{
    use sms::operation::send_media_message::SendMediaMessageError as E;
    let opted_out = |e: &E| match e {
        E::ConflictException(c) => {
            c.reason() == Some(&sms::types::ConflictExceptionReason::DestinationPhoneNumberOptedOut)
        }
        _ => false,
    };
    classify_any(error, opted_out)
}

/// A send's SDK error, whichever operation: by the error code (the operations share their exceptions).
fn classify_any<E, R>(error: &SdkError<E, R>, opted_out: impl Fn(&E) -> bool) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let reason = describe(err);
            let code = err.code().unwrap_or_default();
            if opted_out(err) {
                SendError::OptedOut { reason }
            } else if code.contains("Throttl") {
                SendError::Throttled { reason, retry_after: None }
            } else if ["InternalServerException", "ServiceUnavailable", "InternalFailure"].contains(&code) {
                SendError::Transient { reason }
            } else {
                SendError::Permanent { reason }
            }
        }
        SdkError::ConstructionFailure(_) => {
            SendError::Permanent { reason: format!("AWS: {}", crate::http::chain(error)) }
        }
        SdkError::DispatchFailure(d) if !d.is_timeout() && never_connected(error) => {
            SendError::Transient { reason: format!("AWS: {}", crate::http::chain(error)) }
        }
        _ => SendError::Unknown { reason: format!("AWS: {}", crate::http::chain(error)) },
    }
}

/// Whether the request never left: the HTTP client failed to connect (refused, name not resolved, TLS
/// handshake), so trying again cannot send twice. Anything else after dispatch, a connection reset or
/// closed while the answer was awaited included, may have reached AWS. Told by the HTTP client's own
/// error in the chain, not by its text ("Connection reset by peer" is no connect failure).
fn never_connected(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(client) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            return client.is_connect();
        }
        next = e.source();
    }
    false
}

/// The credential check's answer: an authentication or permission refusal, or an id AWS does not know,
/// says the credentials are wrong; anything else gives no verdict.
fn classify_validation<E, R>(error: &SdkError<E, R>) -> Validation
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let SdkError::ServiceError(service) = error {
        let err = service.err();
        let code = err.code().unwrap_or_default();
        let invalid = [
            "AccessDeniedException",
            "UnrecognizedClientException",
            "InvalidSignatureException",
            "ResourceNotFoundException",
            "ValidationException",
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "ExpiredTokenException",
        ];
        if invalid.contains(&code) {
            return Validation::Invalid { reason: describe(err) };
        }
        return Validation::Unreachable { reason: format!("could not reach AWS: {}", describe(err)) };
    }
    Validation::Unreachable { reason: format!("could not reach AWS: {}", crate::http::chain(error)) }
}
