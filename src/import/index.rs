//! The validator's index of a file's items (built in pass 1, in file
//! order), the reference checks of pass 2 and the distinct-channel check
//! of pass 3.

use super::fields::{ChannelRef, Checked, Chunk, Context, Key, canonical, strings, text};
use super::flat::{Envelope, Flat};
use super::schema::Schemas;
use super::schema::quote;
use super::{ImportOptions, ImportRules, Problem, Stage};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

/// The import order, by type.
const ORDER: &[&str] = &[
    "user",
    "device",
    "future_channel_ban",
    "channel",
    "member",
    "message",
    "reaction",
];

/// What pass 1 learnt of the file's valid items.
pub(crate) struct Index {
    /// Keyed per run: ids from the file cannot be chosen to collide.
    hasher: RandomState,
    roles: Option<HashSet<String>>,
    channel_types: Option<HashSet<String>>,
    /// User id hash → the user's teams.
    users: HashMap<u64, Box<[String]>>,
    /// Channel identity hash → its team.
    channels: HashMap<u64, Option<Box<str>>>,
    /// Distinct channels in file order: where declared, and their members.
    distinct: Vec<(u64, u64, ChannelRef)>,
    /// Hashes of (channel identity, user id).
    members: HashSet<u64>,
    /// Message id hash → is it a reply?
    messages: HashMap<u64, bool>,
    reactions: HashSet<u64>,
    devices: HashSet<u64>,
    counts: [u64; 7],
    /// Check that members of a channel with a team are in that team
    /// (stream-cli's rule; the current schemas and docs do not state it).
    teams: bool,
    /// The latest position in [`ORDER`] seen (current rules).
    order: usize,
}

impl Index {
    pub(crate) fn new(options: &ImportOptions, rules: ImportRules) -> Index {
        let set = |v: &Option<Vec<String>>| v.as_ref().map(|v| v.iter().cloned().collect());
        Index {
            hasher: RandomState::new(),
            roles: set(&options.roles),
            channel_types: set(&options.channel_types),
            users: HashMap::new(),
            channels: HashMap::new(),
            distinct: Vec::new(),
            members: HashSet::new(),
            messages: HashMap::new(),
            reactions: HashSet::new(),
            devices: HashSet::new(),
            counts: [0; 7],
            teams: rules == ImportRules::Legacy,
            order: 0,
        }
    }

    fn hash(&self, parts: &[&[u8]]) -> u64 {
        use std::hash::Hasher;
        let mut h = self.hasher.build_hasher();
        for p in parts {
            h.write(p);
            // A separator no id contains keeps ("ab","c") from ("a","bc").
            h.write_u8(0xff);
        }
        h.finish()
    }

    /// Indexes one item of pass 1 (in file order): its order and, when
    /// its fields are valid, its key (a duplicate is a problem).
    pub(crate) fn add(&mut self, rules: ImportRules, item: &Checked) -> Vec<(Stage, String)> {
        let mut out = Vec::new();
        if let (ImportRules::Current, Some(t)) = (rules, item.type_name) {
            let rank = ORDER.iter().position(|o| *o == t).unwrap_or(0);
            if rank < self.order {
                out.push((
                    Stage::Order,
                    format!(
                        "{} item after {} items: the import order is users, devices, future_channel_ban, channels, members, messages, reactions",
                        quote(t),
                        quote(ORDER[self.order])
                    ),
                ));
            }
            self.order = self.order.max(rank);
        }
        let Some(key) = &item.key else {
            return out;
        };
        let (slot, duplicate) = match key {
            Key::User { id, teams } => {
                let h = self.hash(&[id.as_bytes()]);
                let new = !self.users.contains_key(&h);
                if new {
                    self.users.insert(h, teams.clone().into_boxed_slice());
                }
                (
                    0,
                    (!new).then(|| format!("duplicate user found {}", quote(id))),
                )
            }
            Key::Channel { channel, team } => {
                let h = self.hash(&[&channel.identity()]);
                let new = !self.channels.contains_key(&h);
                if new {
                    self.channels.insert(h, team.as_deref().map(Box::from));
                    if channel.id.is_none() {
                        self.distinct
                            .push((item.offset, item.line, channel.clone()));
                    }
                }
                let message = format!("duplicate channel '{}'", channel.display());
                (3, (!new).then_some(message))
            }
            Key::Member { channel, user } => {
                let h = self.hash(&[&channel.identity(), user.as_bytes()]);
                let message = format!(
                    "duplicate member {} of channel {}",
                    quote(user),
                    quote(&channel.display())
                );
                (4, (!self.members.insert(h)).then_some(message))
            }
            Key::Message { id, reply } => {
                let h = self.hash(&[id.as_bytes()]);
                let new = !self.messages.contains_key(&h);
                if new {
                    self.messages.insert(h, *reply);
                }
                (
                    5,
                    (!new).then(|| format!("duplicate message {}", quote(id))),
                )
            }
            Key::Reaction {
                message,
                kind,
                user,
            } => {
                let h = self.hash(&[message.as_bytes(), kind.as_bytes(), user.as_bytes()]);
                let text = format!("duplicate reaction message:{message}:type:{kind}:user:{user}");
                (6, (!self.reactions.insert(h)).then_some(text))
            }
            Key::Device { id } => {
                let h = self.hash(&[id.as_bytes()]);
                (
                    1,
                    (!self.devices.insert(h)).then(|| format!("duplicate device id:{id}")),
                )
            }
            Key::Ban => (2, None),
        };
        match duplicate {
            Some(message) => out.push((Stage::Duplicate, message)),
            None => self.counts[slot] += 1,
        }
        out
    }

    /// Items indexed per type, in the import order.
    pub(crate) fn counts(&self) -> Vec<(&'static str, u64)> {
        ORDER.iter().copied().zip(self.counts).collect()
    }

    fn user_exists(&self, id: &str) -> bool {
        self.users.contains_key(&self.hash(&[id.as_bytes()]))
    }

    fn channel(&self, channel: &ChannelRef) -> Option<&Option<Box<str>>> {
        self.channels.get(&self.hash(&[&channel.identity()]))
    }

    fn message(&self, id: &str) -> Option<bool> {
        self.messages.get(&self.hash(&[id.as_bytes()])).copied()
    }

    /// Pass 2 over one chunk: the references of every item, valid or not.
    pub(crate) fn check_chunk(&self, ctx: &Context<'_>, chunk: &Chunk<'_>) -> Vec<Problem> {
        let mut out = Vec::new();
        chunk.for_each(|offset, line, bytes| {
            let repaired;
            let bytes = match crate::decode::surrogates::first_lone_surrogate(bytes) {
                None => bytes,
                Some(_) => {
                    repaired = crate::decode::surrogates::replace_lone_surrogates(bytes);
                    repaired.as_deref().unwrap_or(bytes)
                }
            };
            // Items pass 1 could not place (not JSON, no known type, no
            // object payload) have no references to check.
            let Ok(envelope) = super::fields::from_bytes::<Envelope<'_>>(bytes) else {
                return;
            };
            let payload = match ctx.rules {
                ImportRules::Current => envelope.data,
                ImportRules::Legacy => envelope.item,
            };
            let (Some(type_name), Some(payload)) = (envelope.type_name, payload) else {
                return;
            };
            if Schemas::for_type(&type_name).is_none() {
                return;
            }
            let Ok(data) = serde_json::from_str::<Flat<'_>>(payload.get()) else {
                return;
            };
            for message in self.references(canonical(&type_name), &data) {
                out.push(Problem {
                    offset,
                    line,
                    stage: Stage::Reference,
                    message,
                });
            }
        });
        out
    }

    fn references(&self, type_name: &str, data: &Flat<'_>) -> Vec<String> {
        let mut out = Vec::new();
        let s = |k: &str| text(data, k).unwrap_or("");
        match type_name {
            "user" => self.user_references(data, &mut out),
            "channel" => {
                let channel = ChannelRef::read(data, ["type", "id", "member_ids"]);
                if let Some(types) = &self.channel_types
                    && !types.contains(&channel.ty)
                {
                    out.push(format!(
                        "channel.type {} doesn't exist (channel {})",
                        quote(&channel.ty),
                        quote(&channel.display())
                    ));
                }
                let by = s("created_by");
                if !self.user_exists(by) {
                    out.push(format!(
                        "channel.created_by {} doesn't exist (channel {})",
                        quote(by),
                        quote(&channel.display())
                    ));
                }
            }
            "member" => self.member_references(data, &mut out),
            "message" => self.message_references(data, &mut out),
            "reaction" => {
                let message = s("message_id");
                if self.message(message).is_none() {
                    out.push(format!("message_id {} doesn't exist", quote(message)));
                }
                let user = s("user_id");
                if !self.user_exists(user) {
                    out.push(format!(
                        "user {} doesn't exist (reaction to message_id {message})",
                        quote(user)
                    ));
                }
            }
            "device" => {
                let user = s("user_id");
                // A device without a user was reported by pass 1; stream-cli
                // does not report it again here (unlike a member's).
                if !user.is_empty() && !self.user_exists(user) {
                    out.push(format!("device.user_id {} doesn't exist", quote(user)));
                }
            }
            _ => {
                for key in ["target_id", "created_by"] {
                    let user = s(key);
                    if !self.user_exists(user) {
                        out.push(format!(
                            "future_channel_ban.{key} {} doesn't exist",
                            quote(user)
                        ));
                    }
                }
            }
        }
        out
    }

    fn user_references(&self, data: &Flat<'_>, out: &mut Vec<String>) {
        let id = text(data, "id").unwrap_or("");
        if let (Some(roles), Some(role)) = (&self.roles, text(data, "role"))
            && !roles.contains(role)
        {
            out.push(format!(
                "user.role {} doesn't exist (user {})",
                quote(role),
                quote(id)
            ));
        }
        for cid in strings(data, "channel_mutes") {
            let Some((ty, channel_id)) = cid.split_once(':') else {
                out.push(format!(
                    "channel {} should have the following format \"type:id\"",
                    quote(&cid)
                ));
                continue;
            };
            let channel = ChannelRef {
                ty: ty.to_string(),
                id: Some(channel_id.to_string()),
                members: Vec::new(),
            };
            if self.channel(&channel).is_none() {
                out.push(format!(
                    "muted channel {} by user {} doesn't exist",
                    quote(&cid),
                    quote(id)
                ));
            }
        }
        for muted in strings(data, "user_mutes") {
            if !self.user_exists(&muted) {
                out.push(format!(
                    "muted user {} by user {} doesn't exist",
                    quote(&muted),
                    quote(id)
                ));
            }
        }
    }

    /// "channel … doesn't exist", in stream-cli's words for either kind of
    /// reference.
    fn missing_channel(channel: &ChannelRef) -> String {
        match &channel.id {
            Some(_) => format!("channel {} doesn't exist", quote(&channel.display())),
            None => format!(
                "distinct channel with type {} and members:[{}] doesn't exist",
                quote(&channel.ty),
                channel.members.join(" ")
            ),
        }
    }

    fn member_references(&self, data: &Flat<'_>, out: &mut Vec<String>) {
        let user = text(data, "user_id").unwrap_or("");
        let channel = ChannelRef::read(data, ["channel_type", "channel_id", "channel_member_ids"]);
        let teams = self.users.get(&self.hash(&[user.as_bytes()]));
        if teams.is_none() {
            out.push(format!("user {} doesn't exist", quote(user)));
        }
        match self.channel(&channel) {
            None => out.push(Index::missing_channel(&channel)),
            Some(Some(team)) if self.teams => {
                if let Some(teams) = teams
                    && !teams.iter().any(|t| **t == **team)
                {
                    let teams: Vec<String> = teams.iter().map(|t| format!("{t}:{{}}")).collect();
                    out.push(format!(
                        "user {} with teams map[{}] cannot be a member of channel {} with team {}",
                        quote(user),
                        teams.join(" "),
                        channel.display(),
                        quote(team)
                    ));
                }
            }
            Some(_) => {}
        }
        if channel.id.is_none()
            && !channel.members.is_empty()
            && !channel.members.iter().any(|m| m == user)
        {
            out.push(format!(
                "user {} specified as channel member but not present in channel_members_ids: [{}]",
                quote(user),
                channel.members.join(" ")
            ));
        }
    }

    fn message_references(&self, data: &Flat<'_>, out: &mut Vec<String>) {
        let id = text(data, "id").unwrap_or("");
        let channel = ChannelRef::read(data, ["channel_type", "channel_id", "channel_member_ids"]);
        if self.channel(&channel).is_none() {
            out.push(Index::missing_channel(&channel));
        }
        let user = text(data, "user").unwrap_or("");
        if !self.user_exists(user) {
            out.push(format!(
                "user {} doesn't exist (message_id {id})",
                quote(user)
            ));
        }
        if let Some(parent) = text(data, "parent_id").filter(|p| !p.is_empty()) {
            match self.message(parent) {
                None => out.push(format!("message parent_id {} doesn't exist", quote(parent))),
                Some(true) => out.push(format!(
                    "only one level thread is supported (message_id {id}: its parent {} is a reply)",
                    quote(parent)
                )),
                Some(false) => {}
            }
        }
        for mentioned in strings(data, "mentioned_users_ids") {
            if !self.user_exists(&mentioned) {
                out.push(format!(
                    "mentioned user {} doesn't exist (message_id {})",
                    quote(&mentioned),
                    quote(id)
                ));
            }
        }
        if let Some(quoted) = text(data, "quoted_message_id").filter(|q| !q.is_empty())
            && self.message(quoted).is_none()
        {
            out.push(format!(
                "quoted message {} doesn't exist (message_id {})",
                quote(quoted),
                quote(id)
            ));
        }
        if let Some(by) = text(data, "pinned_by_id").filter(|b| !b.is_empty())
            && !self.user_exists(by)
        {
            out.push(format!(
                "message.pinned_by_id {} doesn't exist (message_id {})",
                quote(by),
                quote(id)
            ));
        }
    }

    /// Pass 3: each distinct channel's users without a member entry.
    pub(crate) fn membership(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for (offset, line, channel) in &self.distinct {
            let identity = channel.identity();
            let missing: Vec<&String> = channel
                .members
                .iter()
                .filter(|m| {
                    !self
                        .members
                        .contains(&self.hash(&[&identity, m.as_bytes()]))
                })
                .collect();
            if missing.is_empty() {
                continue;
            }
            let list = |v: &mut dyn Iterator<Item = &String>| {
                v.map(|m| quote(m)).collect::<Vec<_>>().join(" ")
            };
            out.push(Problem {
                offset: *offset,
                line: *line,
                stage: Stage::Membership,
                message: format!(
                    "distinct channel: [{}] is missing members: [{}]. Please include all members as separate member entries",
                    list(&mut channel.members.iter()),
                    list(&mut missing.into_iter())
                ),
            });
        }
        out
    }
}
