//! The schema and its migrations, numbered by `PRAGMA user_version`. Records live in a JSON `body`
//! column; the fields the store queries or changes atomically are columns beside it.

use rusqlite::{Connection, TransactionBehavior};

use crate::db::EmbeddedError;

/// Migration `n` (1-based) brings the schema from version `n - 1` to `n`. Append, never edit.
const MIGRATIONS: &[&str] = &[
    V1,
    V2,
    V3,
    V4,
    V5,
    V6,
    V7,
    V8,
    V9,
    V10,
    V11_NOTES,
    V12_QR,
    V13_TEAMS,
    V14_FIRST_REPLY,
    V15_NUMBER_CLAIMS,
    V16_MEDIA_CLAIMS,
    V17_PART_CLAIMS,
    V18_TIMELINE_PER_CONTACT,
    V19_NOTE_CHANGES,
];

const V1: &str = "
CREATE TABLE channels (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE work_queues (id TEXT PRIMARY KEY, body TEXT NOT NULL);

CREATE TABLE agents (id TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX agents_token ON agents (token_sha256);
CREATE TABLE agent_queues (
    queue_id TEXT NOT NULL, agent_id TEXT NOT NULL, PRIMARY KEY (queue_id, agent_id)
) WITHOUT ROWID;

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    channel_number TEXT NOT NULL,
    customer TEXT NOT NULL,
    queue_id TEXT NOT NULL,
    agent_id TEXT,
    state TEXT NOT NULL,
    last_message_at INTEGER NOT NULL,
    queued_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
-- One open conversation per customer and number: the database itself refuses a second.
CREATE UNIQUE INDEX conversations_open ON conversations (channel_id, channel_number, customer)
    WHERE state <> 'closed';
CREATE INDEX conversations_waiting ON conversations (queue_id, state, queued_at);
CREATE INDEX conversations_agent ON conversations (agent_id, state);
CREATE INDEX conversations_activity ON conversations (state, last_message_at);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    provider_message_id TEXT,
    created_at INTEGER NOT NULL,
    claimed_at INTEGER,
    body TEXT NOT NULL
);
CREATE INDEX messages_transcript ON messages (conversation_id, created_at);
CREATE INDEX messages_provider ON messages (channel_id, provider_message_id);

CREATE TABLE contacts (id TEXT PRIMARY KEY, phone TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX contacts_phone ON contacts (phone);
CREATE TABLE timeline (
    id TEXT PRIMARY KEY, contact_id TEXT NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL
);
CREATE INDEX timeline_contact ON timeline (contact_id, at);

CREATE TABLE consent (
    channel_id TEXT NOT NULL, customer TEXT NOT NULL, opted_out INTEGER NOT NULL, at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, customer)
) WITHOUT ROWID;
CREATE TABLE dedupe (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX dedupe_expiry ON dedupe (expires_at);
CREATE TABLE outbox (id TEXT PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX outbox_order ON outbox (at);

-- Provider credentials: read only by the secret store port, never by any listing.
CREATE TABLE credentials (channel_id TEXT PRIMARY KEY, body TEXT NOT NULL);

-- Queues with SQS semantics. Times are milliseconds since the epoch (wall clock).
CREATE TABLE queue_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    grp TEXT,
    body TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT UNIQUE
);
CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at);
CREATE INDEX queue_messages_order ON queue_messages (queue, seq);
CREATE TABLE queue_dedupe (
    queue TEXT NOT NULL, dedupe_id TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (queue, dedupe_id)
) WITHOUT ROWID;
CREATE INDEX queue_dedupe_expiry ON queue_dedupe (expires_at);
CREATE TABLE dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    grp TEXT,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX dead_letters_queue ON dead_letters (queue, seq);
";

/// Outbound messages still `queued`, by creation time: the timers' sweep of stranded replies
/// (`queued_before`). Partial, so it holds only the few messages on their way to the provider.
const V2: &str = "
CREATE INDEX messages_queued ON messages (created_at) WHERE json_extract(body, '$.status') = 'queued';
";

/// Agents' identity provider user ids (`subject`), unique when set.
const V3: &str = "
ALTER TABLE agents ADD COLUMN subject TEXT;
CREATE UNIQUE INDEX agents_subject ON agents (subject) WHERE subject IS NOT NULL;
";

/// `Idempotency-Key`s of API requests: what each first created, kept until `expires_at` (nanoseconds).
const V4: &str = "
CREATE TABLE idempotency (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, message_id TEXT NOT NULL, at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_expiry ON idempotency (expires_at);
";

/// Conversation states renamed as contact centers name them: `waiting` (in its queue) is `open`,
/// `assigned` (with an agent) is `active`.
const V5: &str = "
UPDATE conversations SET state = 'open', body = json_set(body, '$.state', 'open') WHERE state = 'waiting';
UPDATE conversations SET state = 'active', body = json_set(body, '$.state', 'active') WHERE state = 'assigned';
";

/// (helper chan, issue 9.10) Each number's send schedule: when its next send may go (nanoseconds).
const V6: &str = "
CREATE TABLE send_rates (number TEXT PRIMARY KEY, next_free INTEGER NOT NULL) WITHOUT ROWID;
";

/// (helper chan, issue 9.6) Parts of multipart inbound texts: each group (its generation `first_id`, when
/// it opened and when it was filed, nanoseconds) and each part kept until the text is filed.
const V7: &str = "
CREATE TABLE part_groups (
    grp TEXT PRIMARY KEY, first_id TEXT NOT NULL, first_at INTEGER NOT NULL, filed_at INTEGER
) WITHOUT ROWID;
CREATE INDEX part_groups_open ON part_groups (first_at) WHERE filed_at IS NULL;
CREATE TABLE inbound_parts (
    grp TEXT NOT NULL, number INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (grp, number)
) WITHOUT ROWID;
";

/// The change feed behind the console's live updates (`/v1/events`): every insert or
/// update of a conversation or a message appends a row, written by triggers in the same transaction as the
/// write itself, so no service has to remember to emit an event and none is lost or seen before its commit.
/// `seq` only grows (AUTOINCREMENT never reuses a number). A conversation's row carries its routing fields
/// before and after (who may see it changes with them); a message's its status. No text, no phone number.
/// Retention: the newest 50 000 rows; a client that resumes from before that is told to reload.
const V8: &str = "
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    body TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE TRIGGER changes_conversation_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO changes (entity, id, conversation_id, body, at) VALUES ('conversation', NEW.id, NEW.id,
        json_object('state', NEW.state, 'queue_id', NEW.queue_id, 'agent_id', NEW.agent_id),
        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER changes_conversation_update AFTER UPDATE ON conversations BEGIN
    INSERT INTO changes (entity, id, conversation_id, body, at) VALUES ('conversation', NEW.id, NEW.id,
        json_object('state', NEW.state, 'queue_id', NEW.queue_id, 'agent_id', NEW.agent_id,
            'before', json_object('state', OLD.state, 'queue_id', OLD.queue_id, 'agent_id', OLD.agent_id)),
        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER changes_message_insert AFTER INSERT ON messages BEGIN
    INSERT INTO changes (entity, id, conversation_id, body, at) VALUES ('message', NEW.id, NEW.conversation_id,
        json_object('status', json_extract(NEW.body, '$.status'),
            'direction', json_extract(NEW.body, '$.direction'), 'author', json_extract(NEW.body, '$.author')),
        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER changes_message_update AFTER UPDATE ON messages BEGIN
    INSERT INTO changes (entity, id, conversation_id, body, at) VALUES ('message', NEW.id, NEW.conversation_id,
        json_object('status', json_extract(NEW.body, '$.status'),
            'direction', json_extract(NEW.body, '$.direction'), 'author', json_extract(NEW.body, '$.author')),
        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
CREATE TRIGGER changes_retention AFTER INSERT ON changes BEGIN
    DELETE FROM changes WHERE seq <= NEW.seq - 50000;
END;
";

/// (helper "consent") Consent per (our number, customer) and organization-wide, as an append-only log of
/// changes (the audit trail). The per-channel opt-outs kept before are carried over: an opted-out customer
/// stays opted out on every number of that channel, recorded with cause `migrated`. The old table stays
/// (unread) so nothing is lost.
const V9: &str = "
CREATE TABLE consent_log (id TEXT PRIMARY KEY, customer TEXT NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX consent_log_customer ON consent_log (customer, at);
INSERT OR IGNORE INTO consent_log (id, customer, at, body)
SELECT 'migrated:' || consent.channel_id || ':' || json_extract(n.value, '$.number') || ':' || consent.customer,
       consent.customer, consent.at,
       json_object(
           'id', 'migrated:' || consent.channel_id || ':' || json_extract(n.value, '$.number') || ':' || consent.customer,
           'customer', consent.customer,
           'number', json_extract(n.value, '$.number'),
           'channel_id', consent.channel_id,
           'event', CASE WHEN consent.opted_out THEN 'opt_out' ELSE 'opt_in' END,
           'cause', 'migrated',
           'detail', 'per-channel consent recorded before consent was per number',
           'at', strftime('%Y-%m-%dT%H:%M:%fZ', consent.at / 1000000000.0, 'unixepoch'))
FROM consent JOIN channels ON channels.id = consent.channel_id, json_each(channels.body, '$.numbers') AS n;
";

/// (helper "menu") Keyword menus, the secrets queues' bot requests are signed with (read only by the
/// secret store port), and each queue's answers per UTC day (`YYYY-MM-DD`) for its service level.
const V10: &str = "
CREATE TABLE menus (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE bot_secrets (queue_id TEXT PRIMARY KEY, secret TEXT NOT NULL);
CREATE TABLE queue_answers (
    queue_id TEXT NOT NULL, day TEXT NOT NULL, answered INTEGER NOT NULL, within_target INTEGER NOT NULL,
    PRIMARY KEY (queue_id, day)
) WITHOUT ROWID;
";

/// Private notes on conversations, read per conversation in time order.
const V11_NOTES: &str = "
CREATE TABLE notes (
    id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, created_at INTEGER NOT NULL, body TEXT NOT NULL
);
CREATE INDEX notes_by_conversation ON notes (conversation_id, created_at, id);
";

/// Quick replies, each unique by `scope` (queue or `*`, language, shortcut), and each
/// customer's language (picked by a keyword or set by an admin), by E.164 phone; `at` in nanoseconds.
const V12_QR: &str = "
CREATE TABLE quick_replies (id TEXT PRIMARY KEY, scope TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
CREATE TABLE customer_languages (phone TEXT PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL);
";

/// Teams (issue 11.3): the record (with its `active` and `members` counts) as JSON; an agent's team is
/// its record's `team_id`.
const V13_TEAMS: &str = "
CREATE TABLE teams (id TEXT PRIMARY KEY, body TEXT NOT NULL);
";

/// (helper "cost3") The mark of a conversation's first agent reply (ns), set once by `touch_agent_reply`
/// (kept beside the record, as DynamoDB keeps it beside the item: no record field).
const V14_FIRST_REPLY: &str = "
ALTER TABLE conversations ADD COLUMN first_reply_at INTEGER;
";

/// One channel per number: each number a channel lists is claimed by it (`put_channel` claims and
/// releases them in the channel's own transaction; the primary key refuses a second claim). The numbers
/// channels list already are claimed here, by the first channel in id order where an older version let
/// two channels list one number.
const V15_NUMBER_CLAIMS: &str = "
CREATE TABLE number_claims (number TEXT PRIMARY KEY, channel_id TEXT NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO number_claims (number, channel_id)
SELECT json_extract(n.value, '$.number'), channels.id
FROM channels, json_each(channels.body, '$.numbers') AS n
ORDER BY channels.id;
";

/// Which reply each uploaded media item goes out with: one claim per item (the primary key refuses a
/// second), taken by `claim_media` before the reply is queued; `claimed_at` in nanoseconds.
const V16_MEDIA_CLAIMS: &str = "
CREATE TABLE media_claims (
    conversation_id TEXT NOT NULL, media_id TEXT NOT NULL, message_id TEXT NOT NULL, claimed_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, media_id)
) WITHOUT ROWID;
";

/// Multipart texts filed by claim (`claim_parts`): `filed_at` is when the group was claimed, `claimed` the
/// part numbers of the text filed (`1,2,3`; NULL on a group filed before: every part it kept), `done` set
/// once the text and the parts left out of it are filed (`parts_filed`), which takes it off the sweep.
const V17_PART_CLAIMS: &str = "
ALTER TABLE part_groups ADD COLUMN claimed TEXT;
ALTER TABLE part_groups ADD COLUMN done INTEGER NOT NULL DEFAULT 0;
UPDATE part_groups SET done = 1 WHERE filed_at IS NOT NULL;
DROP INDEX part_groups_open;
CREATE INDEX part_groups_open ON part_groups (first_at) WHERE done = 0;
";

/// Timeline entries keyed per contact, as DynamoDB keys them (`CONTACT#<contact>` / `TL#<id>`): an entry id
/// derives from its cause (`<conversation>:conversation_started`), and a conversation linked again to another
/// contact writes the same id there. Rows and their order (rowid) carried over.
const V18_TIMELINE_PER_CONTACT: &str = "
CREATE TABLE timeline_v18 (
    id TEXT NOT NULL, contact_id TEXT NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (contact_id, id)
);
INSERT INTO timeline_v18 (rowid, id, contact_id, at, body) SELECT rowid, id, contact_id, at, body FROM timeline;
DROP TABLE timeline;
ALTER TABLE timeline_v18 RENAME TO timeline;
CREATE INDEX timeline_contact ON timeline (contact_id, at);
";

/// A note added is a change (the console shows a colleague's note as it is written): its author's agent id,
/// never its text.
const V19_NOTE_CHANGES: &str = "
CREATE TRIGGER changes_note_insert AFTER INSERT ON notes BEGIN
    INSERT INTO changes (entity, id, conversation_id, body, at) VALUES ('note', NEW.id, NEW.conversation_id,
        json_object('agent_id', json_extract(NEW.body, '$.agent_id')),
        CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
";

/// The schema version this build writes.
pub(crate) fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Applies every migration the file has not seen yet, each in its own transaction with its version bump.
/// The version is read inside the transaction, so two processes opening a new file do not both migrate.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), EmbeddedError> {
    let known = current_version();
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > known {
            return Err(EmbeddedError::NewerSchema { found, known });
        }
        let Some(sql) = usize::try_from(found).ok().and_then(|i| MIGRATIONS.get(i)) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer_files() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v, current_version());
        conn.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(migrate(&mut conn), Err(EmbeddedError::NewerSchema { found: 99, .. })));
    }

    /// The numbers channels listed before claims existed are claimed by them; a number an older version let
    /// two channels list goes to the first in id order.
    #[test]
    fn numbers_listed_before_claims_are_claimed_by_their_channel() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..14] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 14).unwrap();
        for (id, numbers) in [("ch_b", r#"["+15555550101","+15555550102"]"#), ("ch_a", r#"["+15555550101"]"#)]
        {
            let body = format!(
                r#"{{"id":"{id}","numbers":[{}]}}"#,
                serde_json::from_str::<Vec<String>>(numbers)
                    .unwrap()
                    .iter()
                    .map(|n| format!(r#"{{"number":"{n}","type":"geo"}}"#))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            conn.execute("INSERT INTO channels (id, body) VALUES (?1, ?2)", [id, body.as_str()]).unwrap();
        }
        migrate(&mut conn).unwrap();
        let mut stmt = conn.prepare("SELECT number, channel_id FROM number_claims ORDER BY number").unwrap();
        let claims: Vec<(String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
        let expected = [("+15555550101", "ch_a"), ("+15555550102", "ch_b")];
        assert_eq!(claims, expected.map(|(n, c)| (n.to_string(), c.to_string())));
    }

    /// (helper "consent") A per-channel opt-out kept before V9 becomes an opt-out on each of the channel's
    /// numbers in the consent log, cause `migrated`, at its original time.
    #[test]
    fn per_channel_opt_outs_carry_over_to_each_number() {
        use smsdesk_domain::Phone;
        use smsdesk_domain::consent::{ConsentCause, ConsentChange, ConsentEvent, opted_out};
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..8] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 8).unwrap();
        let body = r#"{"id":"ch_1","numbers":[{"number":"+15555550100"},{"number":"+15555550101"}]}"#;
        conn.execute("INSERT INTO channels (id, body) VALUES ('ch_1', ?1)", [body]).unwrap();
        let at: i64 = 1_780_000_000_123_000_000;
        conn.execute(
            "INSERT INTO consent (channel_id, customer, opted_out, at) VALUES ('ch_1', '+15555550123', 1, ?1)",
            [at],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let mut stmt = conn.prepare("SELECT body FROM consent_log ORDER BY id").unwrap();
        let changes: Vec<ConsentChange> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|b| serde_json::from_str(&b.unwrap()).unwrap())
            .collect();
        assert_eq!(changes.len(), 2, "{changes:?}");
        for c in &changes {
            assert_eq!((c.event, c.cause), (ConsentEvent::OptOut, ConsentCause::Migrated));
            assert_eq!(c.customer, Phone::parse("+15555550123").unwrap());
            assert_eq!(c.at.unix_timestamp_nanos() / 1_000_000, i128::from(at) / 1_000_000);
        }
        for n in ["+15555550100", "+15555550101"] {
            assert!(opted_out(&changes, &Phone::parse(n).unwrap()), "{n}");
        }
        assert!(!opted_out(&changes, &Phone::parse("+15555550199").unwrap()));
    }

    #[test]
    fn v5_renames_stored_conversation_states() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        for (id, state) in [("c1", "waiting"), ("c2", "assigned"), ("c3", "closed")] {
            conn.execute(
                "INSERT INTO conversations VALUES (?1, 'ch', '+1', ?1, 'q', NULL, ?2, 0, 0, json_object('state', ?2))",
                [id, state],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT state, json_extract(body, '$.state') FROM conversations ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let want = [("open", "open"), ("active", "active"), ("closed", "closed")];
        assert_eq!(rows, want.map(|(a, b)| (a.to_string(), b.to_string())));
    }

    #[test]
    fn the_change_feed_keeps_the_newest_50000() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();
        for i in 0..50_010 {
            tx.execute(
                "INSERT INTO changes (entity, id, conversation_id, body, at) VALUES ('message', ?1, 'cv', '{}', 0)",
                [format!("m{i}")],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        let (oldest, newest, count): (i64, i64, i64) = conn
            .query_row("SELECT min(seq), max(seq), count(*) FROM changes", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((oldest, newest, count), (11, 50_010, 50_000));
    }
}
