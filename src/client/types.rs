//! The API's requests and responses, typed.

use crate::model::timestamp::Timestamp;
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// The most channels one export request may name, by Stream's docs (its
/// OpenAPI says 100; the docs' 25 is what the service is known to take).
pub const MAX_CHANNELS_PER_REQUEST: usize = 25;
/// The most users one user export may name.
pub const MAX_USERS_PER_REQUEST: usize = 25;

/// The format of a channel export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportVersion {
    /// One JSON document per export.
    V1,
    /// One entity per line.
    V2,
}

impl ExportVersion {
    /// `v1` or `v2`, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportVersion::V1 => "v1",
            ExportVersion::V2 => "v2",
        }
    }
}

/// One channel to export, optionally limited to messages in a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    /// The channel type (`messaging`).
    pub channel_type: String,
    /// The channel id.
    pub id: String,
    /// Only messages created at or after this time.
    pub messages_since: Option<Timestamp>,
    /// Only messages created before this time.
    pub messages_until: Option<Timestamp>,
}

impl ChannelSpec {
    /// The channel `type:id`, split at its first colon (ids may hold
    /// colons, types may not).
    pub fn from_cid(cid: &str) -> Option<ChannelSpec> {
        let (channel_type, id) = cid.split_once(':')?;
        (!channel_type.is_empty() && !id.is_empty()).then(|| ChannelSpec {
            channel_type: channel_type.to_string(),
            id: id.to_string(),
            messages_since: None,
            messages_until: None,
        })
    }

    /// The channel's cid, `type:id`.
    pub fn cid(&self) -> String {
        format!("{}:{}", self.channel_type, self.id)
    }
}

/// A request to export channels (`POST /export_channels`). Options left at
/// `false` or `None` are not sent, so Stream's defaults apply to them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportChannels {
    /// The channels, at most [`MAX_CHANNELS_PER_REQUEST`].
    pub channels: Vec<ChannelSpec>,
    /// The file format; Stream's default (v1) when `None`.
    pub version: Option<ExportVersion>,
    /// Include messages removed by truncating the channel.
    pub include_truncated_messages: bool,
    /// Include channels that were soft-deleted.
    pub include_soft_deleted_channels: bool,
    /// Blank the text of deleted messages.
    pub clear_deleted_message_text: bool,
    /// Include the users of the exported channels.
    pub export_users: bool,
}

impl ExportChannels {
    /// A request for these channels, with Stream's defaults otherwise.
    pub fn new(channels: Vec<ChannelSpec>) -> ExportChannels {
        ExportChannels {
            channels,
            ..ExportChannels::default()
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Value {
        #[derive(Serialize)]
        struct Channel<'a> {
            #[serde(rename = "type")]
            channel_type: &'a str,
            id: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            messages_since: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            messages_until: Option<String>,
        }
        let channels: Vec<Channel<'_>> = self
            .channels
            .iter()
            .map(|c| Channel {
                channel_type: &c.channel_type,
                id: &c.id,
                messages_since: c.messages_since.map(|t| t.to_string()),
                messages_until: c.messages_until.map(|t| t.to_string()),
            })
            .collect();
        let mut body = serde_json::Map::new();
        body.insert(
            "channels".into(),
            serde_json::to_value(channels).expect("plain strings serialize"),
        );
        if let Some(v) = self.version {
            body.insert("version".into(), v.as_str().into());
        }
        for (name, on) in [
            (
                "include_truncated_messages",
                self.include_truncated_messages,
            ),
            (
                "include_soft_deleted_channels",
                self.include_soft_deleted_channels,
            ),
            (
                "clear_deleted_message_text",
                self.clear_deleted_message_text,
            ),
            ("export_users", self.export_users),
        ] {
            if on {
                body.insert(name.into(), true.into());
            }
        }
        Value::Object(body)
    }
}

/// The id of an export task.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub String);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TaskId {
    fn from(s: &str) -> TaskId {
        TaskId(s.to_string())
    }
}

/// Where a task is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskStatus {
    /// Queued.
    Waiting,
    /// About to run.
    Pending,
    /// Running.
    Running,
    /// Done: the result has the file's URL.
    Completed,
    /// Failed: the task's error says why.
    Failed,
    /// A status this client does not know, treated as still running.
    Other(String),
}

impl TaskStatus {
    fn parse(s: &str) -> TaskStatus {
        match s {
            "waiting" => TaskStatus::Waiting,
            "pending" => TaskStatus::Pending,
            "running" => TaskStatus::Running,
            "completed" => TaskStatus::Completed,
            "failed" => TaskStatus::Failed,
            other => TaskStatus::Other(other.to_string()),
        }
    }

    /// The status as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            TaskStatus::Waiting => "waiting",
            TaskStatus::Pending => "pending",
            TaskStatus::Running => "running",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Other(s) => s,
        }
    }
}

/// A task's error, when it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// `error.type`.
    pub kind: Option<String>,
    /// `error.description`.
    pub description: String,
}

/// A task as `GET /tasks/{id}` returns it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Task {
    /// The task.
    pub id: TaskId,
    /// Its status.
    pub status: TaskStatus,
    /// `created_at`, as sent.
    pub created_at: Option<String>,
    /// `updated_at`, as sent.
    pub updated_at: Option<String>,
    /// The download URL (`result.url`), once completed. It is signed and
    /// expires: a fresh one comes with every status request.
    pub url: Option<String>,
    /// The whole `result` object (null or `{}` until completed).
    pub result: Value,
    /// Why it failed.
    pub error: Option<TaskError>,
}

impl Task {
    /// Reads the task response.
    pub(crate) fn from_json(requested: &TaskId, v: &Value) -> Result<Task, String> {
        let status = v
            .get("status")
            .and_then(Value::as_str)
            .ok_or("the task has no status")?;
        let id = v
            .get("task_id")
            .and_then(Value::as_str)
            .map(TaskId::from)
            .unwrap_or_else(|| requested.clone());
        let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        let result = v.get("result").cloned().unwrap_or(Value::Null);
        let url = result
            .get("url")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        let error = v.get("error").filter(|e| !e.is_null()).map(|e| TaskError {
            kind: e.get("type").and_then(Value::as_str).map(str::to_string),
            description: e
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string()),
        });
        Ok(Task {
            id,
            status: TaskStatus::parse(status),
            created_at: text("created_at"),
            updated_at: text("updated_at"),
            url,
            result,
            error,
        })
    }
}

/// A completed task: the file is ready at `url`.
#[derive(Debug, Clone, PartialEq)]
pub struct Completed {
    /// The task.
    pub task: Task,
    /// The download URL (signed, expiring).
    pub url: String,
}

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Downloaded {
    /// Bytes in the file.
    pub bytes: u64,
    /// The SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Times the download was resumed after a break.
    pub resumed: u32,
    /// Times the URL was refreshed because it had expired.
    pub refreshed: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_sends_only_what_was_set() {
        let mut since = ChannelSpec::from_cid("messaging:a:b").unwrap();
        assert_eq!(since.id, "a:b");
        since.messages_since = Timestamp::parse("2024-01-01T00:00:00Z");
        let mut r = ExportChannels::new(vec![since]);
        assert_eq!(
            r.body(),
            serde_json::json!({"channels":[{"type":"messaging","id":"a:b","messages_since":"2024-01-01T00:00:00Z"}]})
        );
        r.version = Some(ExportVersion::V2);
        r.export_users = true;
        let body = r.body();
        assert_eq!(body["version"], "v2");
        assert_eq!(body["export_users"], true);
        assert!(body.get("include_truncated_messages").is_none());
        assert!(ChannelSpec::from_cid("nocolon").is_none());
        assert!(ChannelSpec::from_cid(":x").is_none());
    }

    #[test]
    fn task_parses_statuses_and_results() {
        let id = TaskId::from("t1");
        let t = Task::from_json(
            &id,
            &serde_json::json!({"task_id":"t1","status":"running","result":{}}),
        )
        .unwrap();
        assert_eq!(t.status, TaskStatus::Running);
        assert_eq!(t.url, None);
        let t = Task::from_json(
            &id,
            &serde_json::json!({"status":"completed","result":{"url":"https://x/y"}}),
        )
        .unwrap();
        assert_eq!(t.url.as_deref(), Some("https://x/y"));
        let t = Task::from_json(
            &id,
            &serde_json::json!({"status":"failed","error":{"type":"export","description":"boom"}}),
        )
        .unwrap();
        assert_eq!(t.error.unwrap().description, "boom");
        let t = Task::from_json(&id, &serde_json::json!({"status":"queued"})).unwrap();
        assert_eq!(t.status, TaskStatus::Other("queued".into()));
        assert!(Task::from_json(&id, &serde_json::json!({})).is_err());
    }
}
