//! The domain of smsdesk: types that can only hold valid values, and the decisions of the product
//! (routing, assignment, consent, segmentation, status ordering, retries, CRM matching).
//! No AWS, no HTTP and no I/O live here; everything is tested by plain unit tests.

pub mod access;
pub mod assign;
pub mod automated;
pub mod bot;
pub mod consent;
pub mod crm;
pub mod events;
pub mod handback;
pub mod hours;
pub mod ids;
pub mod language;
pub mod lifecycle;
pub mod live;
pub mod media;
pub mod media_send;
pub mod menu;
pub mod model;
pub mod multipart;
pub mod notes;
pub mod offer;
pub mod pacing;
pub mod phone;
pub mod placeholder;
pub mod quick_reply;
pub mod redact;
pub mod retry;
pub mod segment;
pub mod service_level;
pub mod status;
pub mod stranded;
pub mod team;
pub mod text;
pub mod transfer;
pub mod validation;

pub use ids::*;
pub use menu::{Menu, MenuOption, MenuTarget};
pub use model::*;
pub use phone::{Phone, PhoneError, mask};
pub use quick_reply::QuickReply;
pub use status::MessageStatus;
pub use team::Team;
pub use text::{MAX_MESSAGE_CHARS, MessageText, TextError};
