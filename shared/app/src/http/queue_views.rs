//! Typed answers of the queue and menu routes (`/v1/queues...`, `/v1/menus...`) and of the console's
//! wrap-up form (`GET /v1/conversations/{id}/wrap-up-options`): each field is named in `/openapi.json`.

use crate::http::views::ts;
use serde::Serialize;
use smsdesk_domain::hours::OperatingHours;
use smsdesk_domain::service_level::{DayCounts, Report};
use smsdesk_domain::*;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A queue's staffed hours: its IANA `time_zone`, weekly spans per weekday (`mon` .. `sun` ->
/// `[["09:00", "17:00"]]`, local time) and closed `holidays` (`YYYY-MM-DD`).
#[derive(Serialize, ToSchema)]
pub struct OperatingHoursView {
    pub time_zone: String,
    pub days: BTreeMap<String, Vec<[String; 2]>>,
    pub holidays: Vec<String>,
}

impl From<&OperatingHours> for OperatingHoursView {
    fn from(h: &OperatingHours) -> Self {
        Self { time_zone: h.time_zone.clone(), days: h.days.clone(), holidays: h.holidays.clone() }
    }
}

/// A queue's bot: where it listens; its secret is never shown.
#[derive(Serialize, ToSchema)]
pub struct BotView {
    pub url: String,
    /// Always `[redacted]`.
    #[schema(example = "[redacted]")]
    pub secret: String,
}

/// A number that feeds the queue.
#[derive(Serialize, ToSchema)]
pub struct QueueNumberView {
    #[schema(value_type = String)]
    pub channel_id: ChannelId,
    /// The number, E.164.
    #[schema(value_type = String)]
    pub number: Phone,
    /// The keyword menu the number shows first, if any.
    #[schema(value_type = Option<String>)]
    pub menu: Option<MenuId>,
}

/// An agent that serves the queue.
#[derive(Serialize, ToSchema)]
pub struct QueueAgentView {
    #[schema(value_type = String)]
    pub id: AgentId,
    pub name: String,
    /// `available`, `busy`, `away` or `offline`.
    pub presence: String,
    /// Conversations the agent holds now, in any queue.
    pub active: u32,
    /// How many the agent may hold at once.
    pub capacity: u32,
}

/// A queue as the admin API shows it: its settings, the `numbers` that feed it and the `agents` that serve
/// it (both derived), and how many conversations are `waiting` in it.
#[derive(Serialize, ToSchema)]
pub struct QueueView {
    #[schema(value_type = String)]
    pub id: QueueId,
    pub name: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operating_hours: Option<OperatingHoursView>,
    /// What an agent picks from at wrap-up.
    pub dispositions: Vec<String>,
    /// What an agent may add at wrap-up.
    pub tags: Vec<String>,
    /// Whether wrap-up needs a disposition.
    pub disposition_required: bool,
    pub wrap_up_limit_secs: u64,
    pub initial_priority: u32,
    pub escalation_add: u32,
    pub escalation_every_secs: u64,
    pub max_priority: u32,
    /// Conversations go straight to their agent instead of being offered first.
    pub auto_accept: bool,
    /// How long an agent has to accept an offer.
    pub refusal_timeout_secs: u64,
    /// Offers an agent may miss in a row before being set `away` (0: never).
    pub max_missed_offers: u32,
    /// Affinity: a returning customer goes first to the agent who had them within this many seconds (0: off).
    pub affinity_secs: u64,
    /// How long a conversation transferred to this queue waits for one of its agents before the transfer
    /// fails back to its sender (default 120).
    pub transfer_timeout_secs: u64,
    /// Offline hand-back: seconds after an agent goes offline before what they hold here goes back to the
    /// queue (absent: they keep it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline_handback_secs: Option<u32>,
    pub hidden: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_level_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_seconds: Option<u32>,
    pub expiry_message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotView>,
    pub numbers: Vec<QueueNumberView>,
    pub agents: Vec<QueueAgentView>,
    /// Conversations waiting in the queue now.
    pub waiting: usize,
}

impl QueueView {
    /// The queue's settings with what the store derives about it.
    pub fn new(
        q: &WorkQueue,
        numbers: Vec<QueueNumberView>,
        agents: Vec<QueueAgentView>,
        waiting: usize,
    ) -> Self {
        Self {
            id: q.id.clone(),
            name: q.name.clone(),
            created_at: ts(q.created_at),
            operating_hours: q.operating_hours.as_ref().map(OperatingHoursView::from),
            dispositions: q.dispositions.clone(),
            tags: q.tags.clone(),
            disposition_required: q.disposition_required,
            wrap_up_limit_secs: q.wrap_up_limit_secs,
            initial_priority: q.initial_priority,
            escalation_add: q.escalation_add,
            escalation_every_secs: q.escalation_every_secs,
            max_priority: q.max_priority,
            auto_accept: q.auto_accept,
            refusal_timeout_secs: q.refusal_timeout_secs,
            max_missed_offers: q.max_missed_offers,
            affinity_secs: q.affinity_secs,
            transfer_timeout_secs: q.transfer_timeout_secs,
            offline_handback_secs: q.offline_handback_secs,
            hidden: q.hidden,
            service_level_seconds: q.service_level_seconds,
            expiry_seconds: q.expiry_seconds,
            expiry_message: q.expiry_message.clone(),
            bot: q.bot.as_ref().map(|b| BotView { url: b.url.clone(), secret: "[redacted]".into() }),
            numbers,
            agents,
            waiting,
        }
    }
}

/// One UTC day of a queue's service level.
#[derive(Serialize, ToSchema)]
pub struct QueueDayStats {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub answered: u64,
    pub within_target: u64,
}

/// `GET /v1/queues/{id}/stats`: the service level over the last `days` UTC days, and what waits now.
#[derive(Serialize, ToSchema)]
pub struct QueueStats {
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    /// First day counted (`YYYY-MM-DD`, UTC).
    pub from: String,
    /// Last day counted (today, UTC).
    pub to: String,
    /// The queue's target now.
    pub service_level_seconds: Option<u32>,
    pub answered: u64,
    pub answered_within_target: u64,
    /// A share from 0 to 1, or null when nothing was answered or the queue has no target.
    pub service_level: Option<f64>,
    pub days: Vec<QueueDayStats>,
    /// Conversations waiting in the queue now.
    pub waiting: usize,
    /// How long the longest-waiting one has waited, in seconds.
    pub oldest_waiting_seconds: Option<i64>,
}

impl QueueStats {
    pub fn new(
        queue: &QueueId,
        (from, to): (time::Date, time::Date),
        report: &Report,
        days: &[(time::Date, DayCounts)],
        waiting: usize,
        oldest_waiting_seconds: Option<i64>,
    ) -> Self {
        Self {
            queue_id: queue.clone(),
            from: from.to_string(),
            to: to.to_string(),
            service_level_seconds: report.service_level_seconds,
            answered: report.answered,
            answered_within_target: report.answered_within_target,
            service_level: report.service_level,
            days: days
                .iter()
                .map(|(day, c)| QueueDayStats {
                    day: day.to_string(),
                    answered: c.answered,
                    within_target: c.within_target,
                })
                .collect(),
            waiting,
            oldest_waiting_seconds,
        }
    }
}

/// Where a menu option leads: exactly one of `queue` or `menu`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MenuTargetView {
    /// Into this queue.
    Queue(String),
    /// Into this nested menu.
    Menu(String),
}

/// One answer a menu understands.
#[derive(Serialize, ToSchema)]
pub struct MenuOptionView {
    /// A word the customer may answer (any case).
    pub keyword: String,
    /// A digit the customer may answer instead (0-9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digit: Option<u8>,
    pub target: MenuTargetView,
}

/// A keyword menu.
#[derive(Serialize, ToSchema)]
pub struct MenuView {
    #[schema(value_type = String)]
    pub id: MenuId,
    pub name: String,
    /// The menu's text per language (`en`, `es`, ...).
    pub text: BTreeMap<String, String>,
    pub options: Vec<MenuOptionView>,
    /// Unanswered this long, the conversation goes to `default_queue` (or the number's queue).
    pub timeout_seconds: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub default_queue: Option<QueueId>,
    pub created_at: String,
}

impl From<&Menu> for MenuView {
    fn from(m: &Menu) -> Self {
        Self {
            id: m.id.clone(),
            name: m.name.clone(),
            text: m.text.clone(),
            options: m
                .options
                .iter()
                .map(|o| MenuOptionView {
                    keyword: o.keyword.clone(),
                    digit: o.digit,
                    target: match &o.target {
                        MenuTarget::Queue(q) => MenuTargetView::Queue(q.to_string()),
                        MenuTarget::Menu(m) => MenuTargetView::Menu(m.to_string()),
                    },
                })
                .collect(),
            timeout_seconds: m.timeout_seconds,
            default_queue: m.default_queue.clone(),
            created_at: ts(m.created_at),
        }
    }
}

/// `GET /v1/conversations/{id}/wrap-up-options`: what the wrap-up form of this conversation offers, from
/// its queue's settings (an agent may read it for any conversation it may read).
#[derive(Serialize, ToSchema)]
pub struct WrapUpOptions {
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    pub dispositions: Vec<String>,
    pub tags: Vec<String>,
    /// Wrap-up is refused (400 naming `disposition`) without one of `dispositions`.
    pub disposition_required: bool,
    /// How long the agent may stay in wrap-up before the conversation closes by itself.
    pub wrap_up_limit_secs: u64,
}

impl From<&WorkQueue> for WrapUpOptions {
    fn from(q: &WorkQueue) -> Self {
        Self {
            queue_id: q.id.clone(),
            dispositions: q.dispositions.clone(),
            tags: q.tags.clone(),
            disposition_required: q.disposition_required,
            wrap_up_limit_secs: q.wrap_up_limit_secs,
        }
    }
}
