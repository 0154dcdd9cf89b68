//! The failure count behind each function's rollback alarm (`<Function>FailuresAlarm` in
//! infra/template.yaml). Lambda's own `Errors` metric counts only what crashes, panics or times out: an HTTP
//! function answers its failures (a 500 is a response, not an error), and a queue consumer reports its
//! failures in the partial batch response, so a new version that fails every request or every message
//! leaves `Errors` at 0 and a gradual deployment would go through. Each function therefore counts them
//! itself, as the metric [`names::FAILURES`] with the dimension `FunctionName` (the Lambda function's name,
//! `AWS_LAMBDA_FUNCTION_NAME`, which the template's alarms name with `!Ref`):
//! - an HTTP function ([`CountFailures`] around its router): every answer whose status is a failure
//!   ([`is_failure_status`]);
//! - a queue consumer ([`crate::process_batch_until`]): every message its consumer gave up on
//!   (dead-lettered with a reason) or whose outcome the queue refused to carry out. A message handed back
//!   to wait (its number's send pace, a receipt ahead of its send, a contact not linked yet, an outage of
//!   the store: `Outcome::RetryAfter`) or not started (its group waits behind an earlier message, or the
//!   deadline came) is reported to Lambda as a batch item failure but is no failure of the function, so it
//!   is not counted;
//! - the live function: a WebSocket route answered 5xx or a client dropped because of our failure, and a
//!   stream batch whose changes could not be appended.

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use smsdesk_app::App;
use smsdesk_ports::metrics::names;
use smsdesk_ports::{Metrics, Sample, Unit};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::Service;

/// The dimension naming the function a failure is counted for.
pub const FUNCTION_NAME_DIMENSION: &str = "FunctionName";

/// The variable in which Lambda gives a function its name.
const LAMBDA_FUNCTION_NAME_VAR: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// The name failures are counted under: the Lambda function's own name (what the template's alarms
/// name), or `binary` outside Lambda (the AWS-shape tests run every function in one process).
pub fn function_name(binary: &str) -> String {
    std::env::var(LAMBDA_FUNCTION_NAME_VAR)
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| binary.to_owned())
}

/// Whether an HTTP answer with `status` counts as the function failing: every 5xx but 502, which the API
/// answers as `provider_unreachable` when a channel's provider could not be reached (its failure, not
/// ours; a provider outage must not roll a deployment back).
pub fn is_failure_status(status: u16) -> bool {
    (500..600).contains(&status) && status != 502
}

#[derive(Clone)]
enum Sink {
    /// The app's metrics, read when a failure is counted (the wiring sets them after the handlers exist).
    App(Arc<App>),
    Metrics(Arc<dyn Metrics>),
    Nowhere,
}

/// Counts one function's failures as the metric [`names::FAILURES`].
#[derive(Clone)]
pub struct Failures {
    sink: Sink,
    function: Arc<str>,
}

impl Failures {
    /// Counted into `app`'s metrics under [`function_name`]`(binary)`.
    pub fn of_app(app: Arc<App>, binary: &str) -> Self {
        Self { sink: Sink::App(app), function: function_name(binary).into() }
    }

    /// Counted into `metrics` under `function`.
    pub fn to(metrics: Arc<dyn Metrics>, function: &str) -> Self {
        Self { sink: Sink::Metrics(metrics), function: function.into() }
    }

    /// Not counted (tests of the batch glue, tools).
    pub fn nowhere() -> Self {
        Self { sink: Sink::Nowhere, function: "".into() }
    }

    /// The function they are counted under.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// `count` failures (none recorded for 0).
    pub fn record(&self, count: usize) {
        if count == 0 {
            return;
        }
        let sample = Sample {
            name: names::FAILURES,
            unit: Unit::Count,
            value: count as f64,
            dimensions: vec![(FUNCTION_NAME_DIMENSION, self.function.to_string())],
        };
        match &self.sink {
            Sink::App(app) => app.metrics().record(sample),
            Sink::Metrics(metrics) => metrics.record(sample),
            Sink::Nowhere => {}
        }
    }

    /// One HTTP answer with `status`: counted when [`is_failure_status`].
    pub fn answered(&self, status: u16) {
        if is_failure_status(status) {
            self.record(1);
        }
    }
}

/// An HTTP function's service (its axum `Router`) with every failed answer counted ([`Failures::answered`]).
/// One wrapper around the whole router, as [`crate::run_http`]'s others, rather than a layer on each route.
#[derive(Clone)]
pub struct CountFailures<S> {
    inner: S,
    failures: Failures,
}

impl<S> CountFailures<S> {
    pub fn new(inner: S, failures: Failures) -> Self {
        Self { inner, failures }
    }

    pub fn failures(&self) -> &Failures {
        &self.failures
    }
}

impl<S> Service<Request<Body>> for CountFailures<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let answer = self.inner.call(request);
        let failures = self.failures.clone();
        Box::pin(async move {
            let response = answer.await?;
            failures.answered(response.status().as_u16());
            Ok(response)
        })
    }
}

/// What an HTTP function serves: its router, failures counted.
pub type HttpService = CountFailures<axum::Router>;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use axum::http::StatusCode;
    use axum::routing::get;
    use std::sync::Mutex;
    use tower::ServiceExt;

    /// Keeps every sample.
    #[derive(Default)]
    pub(crate) struct Recorded(pub(crate) Mutex<Vec<Sample>>);

    impl Metrics for Recorded {
        fn record(&self, sample: Sample) {
            self.0.lock().unwrap().push(sample);
        }
    }

    impl Recorded {
        /// The failures counted, by function.
        pub(crate) fn failures(&self) -> Vec<(String, f64)> {
            let samples = self.0.lock().unwrap();
            samples
                .iter()
                .filter(|s| s.name == names::FAILURES && s.unit == Unit::Count)
                .map(|s| {
                    assert_eq!(s.dimensions.len(), 1, "{s:?}");
                    assert_eq!(s.dimensions[0].0, FUNCTION_NAME_DIMENSION);
                    (s.dimensions[0].1.clone(), s.value)
                })
                .collect()
        }
    }

    #[test]
    fn five_hundreds_are_failures_but_a_providers_bad_gateway_and_the_callers_mistakes_are_not() {
        for status in [500, 501, 503, 504, 599] {
            assert!(is_failure_status(status), "{status}");
        }
        for status in [200, 202, 400, 401, 404, 409, 413, 421, 422, 429, 502] {
            assert!(!is_failure_status(status), "{status}");
        }
    }

    #[tokio::test]
    async fn an_http_functions_5xx_answers_are_counted_under_its_name() {
        let metrics = Arc::new(Recorded::default());
        let router = axum::Router::new()
            .route("/ok", get(|| async { StatusCode::OK }))
            .route("/storage", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
            .route("/unavailable", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .route("/provider", get(|| async { StatusCode::BAD_GATEWAY }));
        let service = CountFailures::new(router, Failures::to(metrics.clone(), "stack-AgentApiFunction-x"));
        for path in ["/ok", "/storage", "/unavailable", "/provider", "/missing", "/storage"] {
            let request = Request::get(path).body(Body::empty()).unwrap();
            service.clone().oneshot(request).await.unwrap();
        }
        let name = "stack-AgentApiFunction-x".to_owned();
        assert_eq!(metrics.failures(), [(name.clone(), 1.0), (name.clone(), 1.0), (name, 1.0)]);
    }

    #[test]
    fn nothing_is_recorded_for_no_failures_or_nowhere() {
        let metrics = Arc::new(Recorded::default());
        Failures::to(metrics.clone(), "f").record(0);
        Failures::nowhere().record(3);
        assert!(metrics.0.lock().unwrap().is_empty());
    }

    #[test]
    fn outside_lambda_the_binary_names_the_function() {
        // Lambda sets AWS_LAMBDA_FUNCTION_NAME; the unit tests do not.
        if std::env::var(LAMBDA_FUNCTION_NAME_VAR).is_err() {
            assert_eq!(function_name("router"), "router");
        }
    }
}
