//! Mapping AWS SDK failures into [`PortError`], so handlers can tell "try again later" (throttling, 5xx,
//! timeouts, no connection) from a permanent refusal.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use smsdesk_ports::PortError;

/// Error codes that AWS services use for throttling and transient server trouble.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "LimitExceededException",
    "InternalServerError",
    "InternalFailure",
    "InternalServiceError",
    "InternalServiceErrorException",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "TransactionConflictException",
    "KMS.ThrottlingException",
];

/// Whether a service error code means "try again later".
pub(crate) fn is_retryable_code(code: &str) -> bool {
    RETRYABLE_CODES.contains(&code)
}

/// Whether an SDK error means "try again later": no answer in time, no connection, an unreadable answer,
/// throttling or a server error. Any other error is a refusal or a bug in the request.
pub fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            status >= 500 || status == 429 || service.err().code().is_some_and(is_retryable_code)
        }
        // Construction failures are bugs in the request we built, not transient.
        _ => false,
    }
}

/// Maps any SDK error into a [`PortError`], naming the operation that failed.
pub(crate) fn port_error<E>(op: &str, err: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("{op}: {}", DisplayErrorContext(&err));
    if is_transient(&err) { PortError::Unavailable(message) } else { PortError::Backend(message) }
}

/// A stored record could not be read back.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> PortError {
    PortError::Corrupt(what.to_string())
}

/// A request we built was refused by the SDK's own validation (a bug in this crate, not transient).
pub(crate) fn build_error(what: &str, err: impl std::fmt::Display) -> PortError {
    PortError::Backend(format!("building {what}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_codes_are_retryable() {
        assert!(is_retryable_code("ThrottlingException"));
        assert!(is_retryable_code("ProvisionedThroughputExceededException"));
        assert!(is_retryable_code("InternalServerError"));
        assert!(!is_retryable_code("ValidationException"));
        assert!(!is_retryable_code("ConditionalCheckFailedException"));
        assert!(!is_retryable_code("ResourceNotFoundException"));
    }
}
