//! Operational metrics: what an operator's dashboard shows of the channel's health (texts in and out,
//! send failures by reason, time to assignment and to first reply, conversations waiting). Two adapters:
//! CloudWatch embedded metric format lines in AWS (`smsdesk_aws::EmfMetrics`), Prometheus text at
//! `/metrics` in `smsdesk dev` (`smsdesk_embedded::PrometheusMetrics`); one contract suite for both.
//!
//! Recording never fails and never waits on the network: a metric must not stop the work it measures.

/// What a sample measures, which decides how samples of one series combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// Events: samples add up.
    Count,
    /// Durations in milliseconds: count, sum and distribution.
    Milliseconds,
    /// A level at a moment (e.g. conversations waiting): the latest sample wins.
    Gauge,
}

/// One measurement of a named series. Dimensions are few and low-cardinality (provider, queue, reason):
/// never a phone number, a message or a conversation id.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: &'static str,
    pub unit: Unit,
    pub value: f64,
    pub dimensions: Vec<(&'static str, String)>,
}

impl Sample {
    /// One event of `name`.
    pub fn count(name: &'static str, dimensions: Vec<(&'static str, String)>) -> Self {
        Self { name, unit: Unit::Count, value: 1.0, dimensions }
    }

    /// A duration of `name`, in milliseconds.
    pub fn millis(name: &'static str, millis: f64, dimensions: Vec<(&'static str, String)>) -> Self {
        Self { name, unit: Unit::Milliseconds, value: millis, dimensions }
    }

    /// The current level of `name`.
    pub fn gauge(name: &'static str, value: f64, dimensions: Vec<(&'static str, String)>) -> Self {
        Self { name, unit: Unit::Gauge, value, dimensions }
    }
}

/// Records samples. Implementations are cheap and thread-safe; `record` must not block on I/O beyond
/// writing one line.
pub trait Metrics: Send + Sync {
    fn record(&self, sample: Sample);
}

/// Records nothing (unit tests, tools).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn record(&self, _sample: Sample) {}
}

/// The series smsdesk records; the SAM template's dashboard and alarms name the same ones.
pub mod names {
    /// Inbound texts accepted from a provider (dimensions `Channel`, `Provider`).
    pub const TEXTS_IN: &str = "TextsIn";
    /// Texts the provider accepted from us (dimensions `Channel`, `Provider`).
    pub const TEXTS_OUT: &str = "TextsOut";
    /// Provider send calls made (dimension `Provider`).
    pub const SEND_ATTEMPTS: &str = "SendAttempts";
    /// Provider send calls that failed (dimensions `Provider`, `Reason`: transient, permanent, unknown...).
    pub const SEND_FAILURES: &str = "SendFailures";
    /// From the customer's text reaching us to the conversation's assignment to an agent, ms (`Queue`).
    pub const ASSIGNMENT_LATENCY: &str = "AssignmentLatency";
    /// From a conversation's first customer text to the first agent reply, ms (`Queue`).
    pub const FIRST_REPLY_LATENCY: &str = "FirstReplyLatency";
    /// Conversations waiting for an agent (`Queue`).
    pub const WAITING_CONVERSATIONS: &str = "WaitingConversations";
    /// What a function failed at without Lambda counting an error (`FunctionName`): an HTTP function's 5xx
    /// answers (502 `provider_unreachable` aside: the provider's failure, not ours), a queue consumer's
    /// messages given up on, a stream batch not handled. Each function's rollback alarm reads it.
    pub const FAILURES: &str = "Failures";
    /// Messages waiting or in flight on a queue (`Stage`: the queue's name), as `/metrics` reads them.
    pub const QUEUE_DEPTH: &str = "QueueDepth";
    /// Messages in a queue's dead-letter queue (`Stage`), as `/metrics` reads them.
    pub const DEAD_LETTERS: &str = "DeadLetters";

    /// What a series measures, in a line: `/metrics`'s `# HELP` text.
    pub fn help(name: &str) -> Option<&'static str> {
        Some(match name {
            TEXTS_IN => "Customers' texts accepted from a provider, by channel and provider.",
            TEXTS_OUT => "Texts the provider took from us, by channel and provider.",
            SEND_ATTEMPTS => "Provider send calls made, by provider.",
            SEND_FAILURES => "Provider send calls that failed, by provider and class of failure (reason).",
            ASSIGNMENT_LATENCY => {
                "From a conversation's first text being filed to its assignment to an agent."
            }
            FIRST_REPLY_LATENCY => "From a conversation's first customer text to the first agent reply.",
            WAITING_CONVERSATIONS => {
                "Conversations waiting for an agent, by queue, at the last timers sweep."
            }
            FAILURES => "5xx answers and messages given up on, by function (AWS: the rollback alarms').",
            QUEUE_DEPTH => "Messages waiting or in flight, by queue (stage).",
            DEAD_LETTERS => "Messages in the dead-letter queue, by queue (stage).",
            _ => return None,
        })
    }
}
