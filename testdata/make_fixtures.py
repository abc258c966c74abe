#!/usr/bin/env python3
"""Write the synthetic test fixtures of stream-chat-export and their oracle.

Run from anywhere:  python3 testdata/make_fixtures.py

Part 1 builds every fixture as exact bytes (CRLF, BOM, escapes, gzip with
mtime=0) in testdata/fixtures/.  Part 2 is an independent oracle: it reads each
written file back with Python's `json` module (plus `zlib` for gzip) and
computes testdata/fixtures/expected.json from the bytes alone, following the
counting contract in testdata/README.md.  Nothing in expected.json is typed by
hand except the per-file `format` each fixture was designed to have, which the
oracle re-derives and asserts.  The documented samples in testdata/samples/
are analysed too (keys `samples/<name>`).

Standard library only.  Output is deterministic; only the gzip fixtures could
differ on a machine whose zlib deflates differently (expected.json is always
computed from the bytes actually written, so it stays consistent).
"""

import datetime
import gzip
import json
import os
import re
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
SAMPLES = os.path.join(HERE, "samples")

# ---------------------------------------------------------------------------
# Part 1: building blocks with realistic Stream Chat shapes
# ---------------------------------------------------------------------------

UTC = datetime.timezone.utc
T0 = datetime.datetime(2021, 2, 17, 8, 17, 49, 745857, tzinfo=UTC)


def at(seconds):
    """Timestamp T0 + seconds, Stream style: UTC, 6 fractional digits."""
    t = T0 + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def at_ns(seconds, extra_ns=123):
    """Like at() but with 9 fractional digits (users' last_active)."""
    return at(seconds)[:-1] + "%03dZ" % extra_ns


# id -> (name, role, created offset in seconds; users predate every channel)
USERS = {
    "user-17": ("Ada Lovelace", "user", -90 * 86400),
    "user-170": ("Ada Byron", "user", -80 * 86400),  # "user-17" is a prefix
    "user-1": ("Grace Hopper", "admin", -70 * 86400),
    "user-2": ("Linus Pauling", "user", -60 * 86400),
    "user-7": ("Katherine Johnson", "moderator", -50 * 86400),
}


def user_obj(uid, **extra):
    name, role, created = USERS[uid]
    u = {
        "id": uid,
        "role": role,
        "created_at": at(created),
        "updated_at": at(created + 3600),
        "last_active": at_ns(created + 7200),
        "banned": False,
        "online": False,
        "name": name,
    }
    u.update(extra)
    return u


CONFIG = {
    "created_at": "2020-11-02T10:00:00.000000Z",
    "updated_at": "2020-11-02T10:00:00.000000Z",
    "name": "messaging",
    "typing_events": True,
    "read_events": True,
    "reactions": True,
    "replies": True,
    "uploads": True,
    "message_retention": "infinite",
    "max_message_length": 5000,
    "automod": "disabled",
    "automod_thresholds": {"explicit": {"flag": 0.6, "block": 0.9}},
    "commands": ["giphy", "mute"],
}


def channel_obj(ctype, cid_id, creator, created, member_count, **extra):
    c = {
        "id": cid_id,
        "type": ctype,
        "cid": "%s:%s" % (ctype, cid_id),
        "created_at": at(created),
        "updated_at": at(created),
        "created_by": user_obj(creator),
        "frozen": False,
        "disabled": False,
        "member_count": member_count,
        "config": CONFIG,
    }
    c.update(extra)
    return c


def html_of(text):
    esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<p>" + esc.replace("\n", "<br>\n") + "</p>\n"


def reaction_obj(mid, uid, rtype, created, score=1, **extra):
    r = {
        "message_id": mid,
        "user_id": uid,
        "user": user_obj(uid),
        "type": rtype,
        "score": score,
        "created_at": at(created),
        "updated_at": at(created),
    }
    r.update(extra)
    return r


def message_obj(mid, cid, uid, text, created, reactions=(), **extra):
    counts, scores = {}, {}
    for r in reactions:
        counts[r["type"]] = counts.get(r["type"], 0) + 1
        scores[r["type"]] = scores.get(r["type"], 0) + r["score"]
    m = {
        "id": mid,
        "text": text,
        "html": html_of(text),
        "type": "regular",
        "user": user_obj(uid),
        "attachments": [],
        "latest_reactions": list(reactions),
        "own_reactions": [],
        "reaction_counts": counts,
        "reaction_scores": scores,
        "reply_count": 0,
        "deleted_reply_count": 0,
        "cid": cid,
        "created_at": at(created),
        "updated_at": at(created),
        "shadowed": False,
        "mentioned_users": [],
        "silent": False,
        "pinned": False,
        "pinned_at": None,
        "pinned_by": None,
        "pin_expires": None,
    }
    m.update(extra)
    return m


def member_obj(uid, created, channel_role="channel_member", **extra):
    m = {
        "user_id": uid,
        "user": user_obj(uid),
        "status": "member",
        "created_at": at(created),
        "updated_at": at(created),
        "banned": False,
        "shadow_banned": False,
        "role": "owner" if channel_role == "channel_moderator" else "member",
        "channel_role": channel_role,
        "notifications_muted": False,
    }
    m.update(extra)
    return m


def read_obj(uid, last_read, unread, last_mid):
    return {"user": user_obj(uid), "last_read": at(last_read),
            "unread_messages": unread, "last_read_message_id": last_mid}


def go_json(obj, indent=None):
    """Serialise like Go's encoding/json, which Stream's exporter uses:
    non-ASCII raw, `<`, `>`, `&`, U+2028 and U+2029 escaped as \\u00XX."""
    if indent is None:
        s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    else:
        s = json.dumps(obj, ensure_ascii=False, indent=indent)
    # These characters can only occur inside strings, so replacing them in the
    # whole text is exact.
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        s = s.replace(ch, esc)
    return s


def lines_bytes(lines, end="\n", final=True):
    body = end.join(lines)
    if final:
        body += end
    return body.encode("utf-8")


def env(kind, obj, key="item"):
    return go_json({"type": kind, key: obj})


# ---------------------------------------------------------------------------
# Channels used by several fixtures
# ---------------------------------------------------------------------------

def channel_doc(ctype, cid_id, creator, start, member_ids, n_messages,
                texts=None, with_reactions=False, name=None):
    """A v1 channel object {channel, messages, members}."""
    cid = "%s:%s" % (ctype, cid_id)
    extra = {"name": name} if name else {}
    ch = channel_obj(ctype, cid_id, creator, start, len(member_ids), **extra)
    messages = []
    for i in range(n_messages):
        author = member_ids[i % len(member_ids)]
        text = (texts[i % len(texts)] if texts else
                "Message %d in %s" % (i + 1, cid_id))
        reactions = []
        if with_reactions and i % 2 == 0:
            other = member_ids[(i + 1) % len(member_ids)]
            reactions = [reaction_obj("%s-m%d" % (cid_id, i + 1), other,
                                      "like", start + 60 * i + 30)]
        messages.append(message_obj("%s-m%d" % (cid_id, i + 1), cid, author,
                                    text, start + 60 * (i + 1),
                                    reactions=reactions))
    members = [member_obj(u, start + k, "channel_moderator" if u == creator
                          else "channel_member")
               for k, u in enumerate(member_ids)]
    return {"channel": ch, "messages": messages, "members": members}


TEXTS = [
    "Hello everyone!",
    "Has anyone read the <notes> from Tuesday? Q&A is at 3",
    "Yes — see https://example.com/notes?a=1&b=2",
    "I'll bring coffee ☕",
    "Meeting moved to **Thursday**",
]

DOC_GENERAL = channel_doc("messaging", "general", "user-1", 0,
                          ["user-1", "user-17", "user-2"], 5, TEXTS,
                          with_reactions=True, name="General")
DOC_RANDOM = channel_doc("messaging", "random", "user-17", 86400,
                         ["user-17", "user-170"], 3, name="Random")
DOC_DM = channel_doc("messaging", "!members-Qx9Zr1kLmN0pA2bC3dE4", "user-2",
                     2 * 86400, ["user-2", "user-7"], 2)
DOC_TEAM = channel_doc("team", "engineering", "user-7", 3 * 86400,
                       ["user-7", "user-1", "user-170", "user-17"], 4,
                       name="Engineering")
DOC_SMALL = channel_doc("livestream", "launch", "user-170", 6 * 86400,
                        ["user-170"], 1, name="Launch")


# ---------------------------------------------------------------------------
# Fixture builders
# ---------------------------------------------------------------------------

FIXTURES = []  # (name, bytes, designed format, description, note or None)


def fixture(name, data, fmt, desc, note=None):
    assert isinstance(data, bytes)
    FIXTURES.append((name, data, fmt, desc, note))


def build_v1():
    fixture("v1_single.json", (go_json(DOC_GENERAL, indent=2) + "\n").encode(),
            "v1", "one v1 channel object {channel, messages, members}, "
            "pretty-printed, reactions inside messages")
    fixture("v1_compact.json", go_json(DOC_RANDOM).encode(), "v1",
            "one v1 channel object on a single line, no final newline")
    arr = [DOC_GENERAL, DOC_RANDOM, DOC_DM]
    fixture("v1_array.json", (go_json(arr, indent=2) + "\n").encode(), "v1",
            "top-level array of 3 v1 channel objects")
    wrapper = {"channels": [DOC_RANDOM, DOC_DM, DOC_SMALL]}
    fixture("v1_wrapper.json", (go_json(wrapper, indent=1) + "\n").encode(),
            "v1", 'object whose array key "channels" holds 3 channel objects '
            "(1-space indent)")

    # Sequence: pretty object, a compact one, two on one line separated by
    # spaces, then a blank line and a tab-indented pretty one.
    seq = (go_json(DOC_DM, indent=2) + "\n"
           + go_json(DOC_RANDOM) + "\n"
           + go_json(DOC_TEAM) + "   " + go_json(DOC_SMALL) + "\n"
           + "\n"
           + json.dumps(DOC_GENERAL, ensure_ascii=False, indent="\t") + "\n")
    fixture("v1_sequence.json", seq.encode(), "v1",
            "5 top-level v1 channel objects separated by whitespace: pretty "
            "(2-space and tab), compact, two on one line; a blank line between "
            "(blank_lines stays 0: tree documents have no line records)")
    fixture("v1_sequence_lines.jsonl",
            lines_bytes([go_json(d) for d in (DOC_GENERAL, DOC_RANDOM, DOC_DM,
                                               DOC_SMALL)]),
            "v1", "one compact v1 channel object per line (looks like a "
            "line file; every line is expanded)")

    # v1 with reactions inside messages, reaction_groups object vs null.
    cid = "messaging:reactions"
    r1 = reaction_obj("rx-m1", "user-2", "love", 100, score=1)
    r2 = reaction_obj("rx-m1", "user-7", "love", 110, score=1)
    r3 = reaction_obj("rx-m1", "user-7", "clap", 120, score=3)
    m1 = message_obj("rx-m1", cid, "user-17", "React to this", 90,
                     reactions=[r1, r2, r3])
    m1["own_reactions"] = [r1]
    m1["reaction_groups"] = {
        "love": {"count": 2, "sum_scores": 2,
                 "first_reaction_at": r1["created_at"],
                 "last_reaction_at": r2["created_at"]},
        "clap": {"count": 1, "sum_scores": 3,
                 "first_reaction_at": r3["created_at"],
                 "last_reaction_at": r3["created_at"]},
    }
    m2 = message_obj("rx-m2", cid, "user-1", "No reactions here", 200)
    m2["reaction_groups"] = None
    r4 = reaction_obj("rx-m3", "user-17", "like", 320)
    m3 = message_obj("rx-m3", cid, "user-2", "Thread reply", 300,
                     reactions=[r4], type="reply", parent_id="rx-m1",
                     show_in_channel=False)
    m3["reaction_groups"] = {"like": {"count": 1, "sum_scores": 1,
                                      "first_reaction_at": r4["created_at"],
                                      "last_reaction_at": r4["created_at"]}}
    m1["reply_count"] = 1
    doc = {"channel": channel_obj("messaging", "reactions", "user-17", 10, 2),
           "messages": [m1, m2, m3],
           "members": [member_obj("user-17", 11), member_obj("user-1", 12)]}
    fixture("v1_reactions_inside.json", (go_json(doc, indent=2) + "\n").encode(),
            "v1", "messages with latest_reactions/own_reactions/"
            "reaction_counts/reaction_scores/reaction_groups (null in one); "
            "reactions by user-7 exist only inside messages and are not "
            "counted")

    # Synchronous per-user export.
    u = "user-17"
    msgs = [message_obj("sync-m%d" % i, c, u, t, 5000 + 100 * i)
            for i, (c, t) in enumerate([
                ("messaging:general", "first"),
                ("messaging:random", "second"),
                ("team:engineering", "third <b>bold</b>"),
                ("messaging:general", "fourth"),
            ], 1)]
    reacts = [reaction_obj("general-m1", u, "like", 5050),
              reaction_obj("engineering-m2", u, "love", 5150)]
    sync = {"user": user_obj(u, teams=["blue"], language="en"),
            "messages": msgs, "reactions": reacts}
    fixture("user_export_sync.json", (go_json(sync, indent=2) + "\n").encode(),
            "v1", "synchronous GET /users/{id}/export shape "
            "{user, messages, reactions}")


def v2_channel_block(doc, with_reads=False):
    """Item-envelope lines for one channel: channel, members, messages,
    reactions (taken out of the messages), optional read states."""
    out = [env("channel", doc["channel"])]
    out += [env("member", m) for m in doc["members"]]
    for m in doc["messages"]:
        out.append(env("message", m))
    for m in doc["messages"]:
        out += [env("reaction", r) for r in m["latest_reactions"]]
    if with_reads:
        last = doc["messages"][-1]
        for k, mem in enumerate(doc["members"]):
            out.append(env("read", read_obj(mem["user_id"], 7200 + k, k,
                                            last["id"])))
    return out


def v2_item_lines():
    lines = [env("user", user_obj("user-1")), env("user", user_obj("user-17"))]
    lines += v2_channel_block(DOC_GENERAL, with_reads=True)
    lines += v2_channel_block(DOC_DM)
    lines.append(env("call", {
        "type": "default", "id": "call-5f2a", "cid": "default:call-5f2a",
        "created_by": user_obj("user-2"), "created_at": at(9000),
        "updated_at": at(9600), "ended_at": at(9600),
        "session": {"participants_count_by_role": {"user": 2}}}))
    lines.append(env("future_channel_ban", {
        "target_id": "user-170", "created_by": "user-1",
        "reason": "spam", "shadow": False, "created_at": at(9100)}))
    lines.append(env("poll_vote", {
        "id": "vote-1", "poll_id": "poll-1", "option_id": "opt-2",
        "user_id": "user-2", "user": user_obj("user-2"),
        "created_at": at(9200)}))
    return lines


def build_v2():
    item_lines = v2_item_lines()
    fixture("v2_item.jsonl", lines_bytes(item_lines), "v2",
            '{"type","item"} lines: users, then per channel: channel, '
            "members, messages, reactions (+ read); kinds call, "
            "future_channel_ban and unknown poll_vote")

    # Data envelope with export-shaped entities.
    d = [env("user", user_obj("user-7"), "data")]
    d.append(env("channel", DOC_TEAM["channel"], "data"))
    d += [env("member", m, "data") for m in DOC_TEAM["members"]]
    d += [env("message", m, "data") for m in DOC_TEAM["messages"]]
    d.append(env("reaction", reaction_obj("engineering-m1", "user-1", "like",
                                          3 * 86400 + 90), "data"))
    d.append(env("read", read_obj("user-170", 3 * 86400 + 500, 2,
                                  "engineering-m4"), "data"))
    fixture("v2_data.jsonl", lines_bytes(d), "v2",
            '{"type","data"} lines holding export-shaped entities (cid, '
            "user objects): format v2, not import")

    # Bare entities, several per classification rule, in rule order.
    g = DOC_GENERAL
    bare = []
    # rule 1: cid+config, cid+member_count (no config)
    bare.append(go_json(g["channel"]))
    ch = dict(DOC_RANDOM["channel"])
    del ch["config"]
    bare.append(go_json(ch))
    # rule 2: message_id+type -> reaction (has user+user_id too: rule 2 wins
    # over rule 4)
    bare.append(go_json(reaction_obj("general-m1", "user-17", "like", 40)))
    bare.append(go_json({"message_id": "general-m3", "type": "love",
                         "user_id": "user-2", "score": 1,
                         "created_at": at(170)}))
    # rule 3: id+text or id+html
    bare.append(go_json(g["messages"][0]))
    bare.append(go_json({"id": "bare-html-only", "cid": "messaging:general",
                         "html": "<p>html only</p>\n",
                         "user_id": "user-2", "created_at": at(400)}))
    bare.append(go_json({"id": "bare-text-name", "text": "has a name too",
                         "name": "not a user", "user": user_obj("user-7"),
                         "created_at": at(410)}))
    # rule 4: channel_role; or user_id+user
    bare.append(go_json(g["members"][0]))
    bare.append(go_json({"user_id": "user-170", "user": user_obj("user-170"),
                         "created_at": at(20)}))
    bare.append(go_json({"user_id": "user-7", "channel_role": "channel_member",
                         "last_read": at(500), "created_at": at(21)}))
    # rule 5: last_read
    bare.append(go_json(read_obj("user-2", 600, 0, "general-m5")))
    bare.append(go_json({"user_id": "user-1", "last_read": at(610),
                         "unread_messages": 3}))
    # rule 6: id + role or name
    bare.append(go_json(user_obj("user-7")))
    bare.append(go_json({"id": "user-2", "name": "Linus Pauling"}))
    bare.append(go_json({"id": "user-1", "role": "admin",
                         "created_at": at(-70 * 86400)}))
    # rule 7: unclassifiable
    bare.append(go_json({"id": "only-an-id"}))
    bare.append(go_json({"cid": "messaging:general", "event": "typing.start",
                         "user_id": "user-17"}))
    bare.append(go_json({"kind": "custom_data", "payload": {"a": [1, 2, 3]},
                         "created_at": at(700)}))
    fixture("v2_bare.jsonl", lines_bytes(bare), "v2",
            "bare entities without envelope, several per FORMAT.md bare rule "
            "1-7 in order, including tie-break cases (reaction with "
            "user+user_id, member with last_read, message with name) and "
            "unclassifiable objects (rule 7 -> other)")

    cm = [env("channel", DOC_DM["channel"])]
    cm += [env("channel_member", m) for m in DOC_DM["members"]]
    cm += [env("message", m) for m in DOC_DM["messages"]]
    cm.append(env("member", member_obj("user-1", 2 * 86400 + 5)))
    fixture("v2_channel_member.jsonl", lines_bytes(cm), "v2",
            'member lines spelled "channel_member" (counted as member), '
            'plus one spelled "member"')

    # User export (async): the user, their messages in several channels,
    # reactions, a call.
    u = "user-170"
    ue = [env("user", user_obj(u, teams=["blue", "red"]))]
    for i, c in enumerate(["messaging:random", "team:engineering",
                           "messaging:random", "messaging:!members-Zz",
                           "team:engineering"], 1):
        ue.append(env("message", message_obj(
            "ue-m%d" % i, c, u, "user export message %d" % i,
            4 * 86400 + 60 * i)))
    ue.append(env("message", message_obj(
        "ue-m6", "messaging:random", u, "reply in thread", 4 * 86400 + 400,
        type="reply", parent_id="ue-m1")))
    for i, mid in enumerate(["random-m1", "engineering-m3", "ue-m4"]):
        ue.append(env("reaction", reaction_obj(mid, u, "like",
                                               4 * 86400 + 500 + i)))
    ue.append(env("call", {
        "type": "default", "id": "call-9", "cid": "default:call-9",
        "created_by": user_obj(u), "created_at": at(4 * 86400 + 900),
        "ended_at": at(4 * 86400 + 1500)}))
    fixture("user_export.jsonl", lines_bytes(ue), "v2",
            "async user export: the user, 6 messages in 4 channels (one "
            "reply), 3 reactions, one call")


def build_import():
    def d(kind, obj):
        return json.dumps({"type": kind, "data": obj}, ensure_ascii=False,
                          separators=(",", ":"))
    L = []
    for uid in ("user-1", "user-17", "user-2", "user-170"):
        name, role, created = USERS[uid]
        L.append(d("user", {"id": uid, "name": name, "role": role,
                            "created_at": at(created), "teams": ["blue"],
                            "favorite_color": "green"}))
    L.append(d("device", {"id": "device-a1", "user_id": "user-17",
                          "push_provider_type": "firebase",
                          "push_provider_name": "firebase",
                          "created_at": at(-10)}))
    L.append(d("device", {"id": "device-b2", "user_id": "user-2",
                          "push_provider_type": "apn",
                          "created_at": at(-9)}))
    L.append(d("future_channel_ban", {"target_id": "user-170",
                                      "created_by": "user-1",
                                      "reason": "spam",
                                      "created_at": at(-8)}))
    L.append(d("channel", {"id": "general", "type": "messaging",
                           "created_by": "user-1", "name": "General",
                           "team": "blue", "created_at": at(0)}))
    L.append(d("channel", {"type": "messaging",
                           "member_ids": ["user-17", "user-2"],
                           "created_by": "user-17", "created_at": at(10)}))
    for k, uid in enumerate(("user-1", "user-17", "user-2")):
        L.append(d("member", {"channel_type": "messaging",
                              "channel_id": "general", "user_id": uid,
                              "channel_role": "channel_member",
                              "created_at": at(1 + k)}))
    L.append(d("channel_member", {"channel_type": "messaging",
                                  "channel_member_ids": ["user-17", "user-2"],
                                  "user_id": "user-17", "created_at": at(11)}))
    L.append(d("member", {"channel_type": "messaging",
                          "channel_member_ids": ["user-17", "user-2"],
                          "user_id": "user-2", "invited": True,
                          "invite_accepted_at": at(12), "created_at": at(12)}))
    L.append(d("message", {"id": "imp-m1", "channel_type": "messaging",
                           "channel_id": "general", "user": "user-1",
                           "type": "regular", "text": "Welcome <all> & hi",
                           "created_at": at(60),
                           "attachments": [{"type": "image",
                                            "image_url": "https://example.com/a.png"}]}))
    L.append(d("message", {"id": "imp-m2", "channel_type": "messaging",
                           "channel_id": "general", "user": "user-17",
                           "type": "reply", "parent_id": "imp-m1",
                           "show_in_channel": True, "text": "thanks",
                           "mentioned_users_ids": ["user-1"],
                           "created_at": at(120)}))
    L.append(d("message", {"id": "imp-m3", "channel_type": "messaging",
                           "channel_id": "general", "user": "user-2",
                           "type": "deleted", "deleted_at": at(200),
                           "created_at": at(180)}))
    L.append(d("message", {"id": "imp-m4", "channel_type": "messaging",
                           "channel_id": "general", "user": "user-1",
                           "text": "pinned notice", "pinned_at": at(250),
                           "pinned_by_id": "user-1", "quoted_message_id": "imp-m1",
                           "created_at": at(240)}))
    L.append(d("message", {"id": "imp-m5", "channel_type": "messaging",
                           "channel_member_ids": ["user-17", "user-2"],
                           "user": "user-2", "text": "psst",
                           "created_at": at(300)}))
    L.append(d("reaction", {"message_id": "imp-m1", "type": "like",
                            "user_id": "user-17", "created_at": at(70)}))
    L.append(d("reaction", {"message_id": "imp-m1", "type": "thumbs-up:+1",
                            "user_id": "user-2", "created_at": at(71)}))
    L.append(d("reaction", {"message_id": "imp-m5", "type": "love",
                            "user_id": "user-17", "created_at": at(310)}))
    fixture("import.jsonl", lines_bytes(L), "import",
            "current import format ({type,data}, string references) in the "
            "required order users, devices, future_channel_ban, channels, "
            "members (one spelled channel_member), messages, reactions")

    legacy = [
        {"type": "user", "item": {"id": "user1", "role": "user",
                                  "teams": ["teamA"], "foo": "bar"}},
        {"type": "user", "item": {"id": "user2", "role": "admin",
                                  "created_at": "2022-01-01T00:00:00Z"}},
        {"type": "user", "item": {"id": "user3", "role": "user"}},
        {"type": "channel", "item": {"id": "channelA", "type": "messaging",
                                     "team": "teamA", "created_by": "user1",
                                     "created_at": "2022-01-01T00:30:00Z"}},
        {"type": "channel", "item": {"type": "messaging",
                                     "member_ids": ["user2", "user3"],
                                     "created_by": "user2"}},
        {"type": "member", "item": {"channel_id": "channelA",
                                    "channel_type": "messaging",
                                    "user_id": "user1"}},
        {"type": "member", "item": {"channel_id": "channelA",
                                    "channel_type": "messaging",
                                    "user_id": "user2",
                                    "channel_role": "channel_moderator"}},
        {"type": "member", "item": {"channel_member_ids": ["user2", "user3"],
                                    "channel_type": "messaging",
                                    "user_id": "user3"}},
        {"type": "message", "item": {"id": "message1",
                                     "channel_id": "channelA",
                                     "channel_type": "messaging",
                                     "user": "user1", "text": "hi!",
                                     "created_at": "2022-01-01T01:00:00Z"}},
        {"type": "message", "item": {"id": "message2",
                                     "channel_id": "channelA",
                                     "channel_type": "messaging",
                                     "user": "user2", "text": "hello",
                                     "parent_id": "message1", "type": "reply",
                                     "created_at": "2022-01-01T01:00:05.5Z"}},
        {"type": "message", "item": {"id": "message3",
                                     "channel_member_ids": ["user2", "user3"],
                                     "channel_type": "messaging",
                                     "user": "user3", "text": "dm"}},
        {"type": "reaction", "item": {"message_id": "message1", "type": "like",
                                      "user_id": "user2",
                                      "created_at": "2022-01-01T01:01:01Z"}},
        {"type": "device", "item": {"id": "123", "user_id": "user1",
                                    "created_at": "2022-01-01T01:01:01Z",
                                    "push_provider_type": "xiaomi"}},
    ]
    fixture("import_legacy.json",
            (json.dumps(legacy, indent=2) + "\n").encode(), "import-legacy",
            "legacy import: one pretty-printed JSON array of {type,item}, "
            "modelled on stream-cli's valid-data.json")


def small_v2_lines(tag, n=6):
    """A few short item-envelope lines used by the tolerance fixtures."""
    cid = "messaging:%s" % tag
    lines = [env("channel", channel_obj("messaging", tag, "user-2", 0, 2))]
    lines.append(env("member", member_obj("user-2", 1)))
    for i in range(1, n + 1):
        uid = ("user-17", "user-2")[i % 2]
        lines.append(env("message", {
            "id": "%s-%d" % (tag, i), "cid": cid, "type": "regular",
            "text": "line %d" % i, "html": "<p>line %d</p>\n" % i,
            "user": {"id": uid, "name": USERS[uid][0]},
            "created_at": at(100 * i)}))
    lines.append(env("reaction", {"message_id": "%s-1" % tag,
                                  "user_id": "user-2", "type": "like",
                                  "score": 1, "created_at": at(150)}))
    return lines


def build_tolerance():
    fixture("v2_crlf.jsonl", lines_bytes(small_v2_lines("crlf"), end="\r\n"),
            "v2", "item lines ended by CRLF")
    fixture("v2_bom.jsonl", b"\xef\xbb\xbf" + lines_bytes(small_v2_lines("bom")),
            "v2", "UTF-8 byte-order mark before the first line")
    L = small_v2_lines("blank")
    blank = ("\n" + L[0] + "\n" + L[1] + "\n\n\n" + L[2] + "\n   \n"
             + L[3] + "\n\t \t\n" + "\n".join(L[4:]) + "\n \r\n\n")
    fixture("v2_blank_lines.jsonl", blank.encode(), "v2",
            "blank lines at start, middle and end, whitespace-only lines "
            "(spaces, tabs, a space line ended by CRLF)")
    fixture("v2_no_final_newline.jsonl",
            lines_bytes(small_v2_lines("nofinal"), final=False), "v2",
            "last line has no newline")


def build_damage():
    L = small_v2_lines("dmg", n=9)  # 12 lines
    assert len(L) == 12
    L[3] = L[3][:-1]                          # line 4: missing final brace
    L[8] = L[8][:-2] + ',}}'                  # line 9: trailing comma
    fixture("v2_malformed.jsonl", lines_bytes(L), "v2",
            "12 lines; line 4 lacks its closing brace, line 9 has a trailing "
            "comma")

    L = small_v2_lines("trunc")
    last = L[-2]  # a message line; cut inside its "text" string
    cut = last.index('"text":"') + len('"text":"') + 3
    data = lines_bytes(L[:-2]) + last[:cut].encode()
    fixture("v2_truncated.jsonl", data, "v2",
            "last line cut in the middle of a string, no final newline")

    L = small_v2_lines("utf8")
    bad = L[4].replace('"text":"line 3"', '"text":"line 3 XX"').encode()
    bad = bad.replace(b"XX", b"\xff")
    data = lines_bytes(L[:4]) + bad + b"\n" + lines_bytes(L[5:])
    fixture("v2_invalid_utf8.jsonl", data, "v2",
            "line 5 holds the byte 0xff inside a string")

    doc = go_json(DOC_GENERAL, indent=2)
    m3 = doc.index('"id": "general-m3"')
    cut = doc.index('"text": "', m3) + len('"text": "') + 4
    fixture("v1_truncated.json", doc[:cut].encode(), "v1",
            "pretty v1 document cut inside the third message's text",
            note="entities complete before the cut are counted (the channel, "
                 "messages 1-2); members come after messages and are lost; "
                 "error_lines holds the last line of the file, where the "
                 "input ends")


def build_text():
    # Written by hand: exact escapes matter.
    esc = [
        r'{"type":"channel","item":{"id":"\u0021members-esc","type":"messaging","cid":"messaging:\u0021members-esc","created_by":{"id":"user\u002D17","name":"Ada Lovelace"},"member_count":2,"config":{"name":"messaging"},"created_at":"2021-03-01T09:00:00.000001Z"}}',
        r'{"type":"member","item":{"user_id":"user-\u0031\u0037","user":{"id":"user-\u0031\u0037","name":"Ada"},"channel_role":"channel_member","created_at":"2021-03-01T09:00:01.000000Z"}}',
        r'{"type":"member","item":{"user_id":"user-170","user":{"id":"user-170","name":"Ada Byron"},"channel_role":"channel_member","created_at":"2021-03-01T09:00:02.000000Z"}}',
        r'{"type":"message","item":{"id":"esc-1","cid":"messaging:\u0021members-esc","type":"regular","text":"She said \"hi\"\nand left","html":"\u003cp\u003eShe said \u0026quot;hi\u0026quot;\u003cbr\u003e\nand left\u003c/p\u003e\n","user":{"id":"user-\u0031\u0037","name":"Ada"},"created_at":"2021-03-01T09:01:00.000000Z"}}',
        r'{"type":"message","item":{"id":"esc-2","cid":"messaging:\u0021members-esc","type":"regular","text":"Fish \u0026 chips <3","html":"\u003cp\u003eFish \u0026amp; chips \u0026lt;3\u003c/p\u003e\n","user":{"id":"user-170","name":"Ada Byron"},"mentioned_users":[{"id":"user-17","name":"Ada"}],"created_at":"2021-03-01T09:02:00.000000Z"}}',
        r'{"type":"message","item":{"id":"esc-3","cid":"messaging:\u0021members-esc","type":"regular","text":"link: https:\/\/example.com\/a\/b?x=1\u0026y=2","html":"\u003cp\u003e\u003ca href=\"https:\/\/example.com\/a\/b?x=1\u0026amp;y=2\"\u003elink\u003c\/a\u003e\u003c/p\u003e\n","attachments":[{"type":"image","image_url":"https:\/\/cdn.example.com\/img\/1.png"}],"user":{"id":"\u0075ser-17","name":"Ada"},"created_at":"2021-03-01T09:03:00.000000Z"}}',
        r'{"type":"message","item":{"id":"esc-4","cid":"messaging:\u0021members-esc","type":"regular","text":"tab\there, backslash \\ and slash \/ and \"quotes\"\r\n","user_id":"user\u002d17","created_at":"2021-03-01T09:04:00.000000Z"}}',
        r'{"type":"reaction","item":{"message_id":"esc-2","user_id":"user-\u0031\u0037","user":{"id":"user-\u0031\u0037"},"type":"love","score":1,"created_at":"2021-03-01T09:05:00.000000Z"}}',
        r'{"type":"reaction","item":{"message_id":"esc-1","user_id":"user-170","type":"like","score":1,"created_at":"2021-03-01T09:06:00.000000Z"}}',
    ]
    fixture("v2_escapes.jsonl", lines_bytes(esc), "v2",
            "JSON escapes: html \\u003cp\\u003e/\\u0026, user id "
            '"user-\\u0031\\u0037" (= user-17, also \\u002D, \\u002d and '
            "\\u0075 forms), channel id \\u0021members-esc, escaped quotes, "
            "\\n, \\t, \\\\, \\/ in URLs; user-170 and a mention of user-17 "
            "as prefilter traps")

    uni = [
        r'{"type":"channel","item":{"id":"unicode","type":"messaging","cid":"messaging:unicode","name":"🌍 Ünïcödé \ud83c\udf0d","created_by":{"id":"user-7","name":"Katherine"},"member_count":3,"config":{"name":"messaging"},"created_at":"2021-04-01T00:00:00.000000Z"}}',
        r'{"type":"message","item":{"id":"uni-1","cid":"messaging:unicode","type":"regular","text":"escaped emoji \ud83d\ude00 and raw 😀","user":{"id":"user-7","name":"Katherine"},"created_at":"2021-04-01T00:01:00.000000Z"}}',
        '{"type":"message","item":{"id":"uni-2","cid":"messaging:unicode","type":"regular","text":"👍🏽 👨‍👩‍👧 🏳️‍🌈 — family & flags","html":"\\u003cp\\u003e👍🏽 👨‍👩‍👧 🏳️‍🌈 — family \\u0026amp; flags\\u003c/p\\u003e\\n","user":{"id":"user-2","name":"Linus"},"created_at":"2021-04-01T00:02:00.000000Z"}}',
        '{"type":"message","item":{"id":"uni-3","cid":"messaging:unicode","type":"regular","text":"مرحبا بالعالم — Arabic, right to left","user":{"id":"user-ar","name":"سارة"},"created_at":"2021-04-01T00:03:00.000000Z"}}',
        '{"type":"message","item":{"id":"uni-4","cid":"messaging:unicode","type":"regular","text":"שלום עולם (Hebrew) mixed with English 123","user":{"id":"user-he","name":"נועה"},"created_at":"2021-04-01T00:04:00.000000Z"}}',
        '{"type":"message","item":{"id":"uni-5","cid":"messaging:unicode","type":"regular","text":"combining: cafe\u0301 vs caf\\u00e9 vs cafe\\u0301; Zalgo: Z\u0351\u0357a\u0352l\u0300g\u0301o","user":{"id":"user-\u00e9\u0301","name":"Élodie"},"created_at":"2021-04-01T00:05:00.000000Z"}}',
        '{"type":"message","item":{"id":"uni-6","cid":"messaging:unicode","type":"regular","text":"CJK 你好世界, Devanagari नमस्ते, supplementary 𝕏 \\ud835\\udd4f","user":{"id":"user-7","name":"Katherine"},"created_at":"2021-04-01T00:06:00.000000Z"}}',
        r'{"type":"reaction","item":{"message_id":"uni-1","user_id":"user-ar","type":"love","score":1,"created_at":"2021-04-01T00:07:00.000000Z"}}',
    ]
    fixture("v2_unicode.jsonl", lines_bytes(uni), "v2",
            "emoji as surrogate-pair escapes and raw UTF-8 (skin tone, ZWJ "
            "sequences, flags), Arabic and Hebrew RTL text and names, raw and "
            "escaped combining accents (user id with a combining accent), "
            "CJK, Devanagari, astral-plane letters")

    nulls = [
        r'{"type":"channel","item":{"id":"nulls","type":"messaging","cid":"messaging:nulls","created_by":null,"created_at":"2021-05-01T00:00:00.000000Z","deleted_at":null,"member_count":1,"config":{"name":"messaging"}}}',
        r'{"type":"member","item":{"user_id":"user-2","user":null,"channel_role":"channel_member","created_at":null}}',
        r'{"type":"message","item":{"id":"null-1","cid":"messaging:nulls","type":"regular","text":"null user","user":null,"created_at":"2021-05-01T00:01:00.000000Z"}}',
        r'{"type":"message","item":{"id":"null-2","cid":"messaging:nulls","type":"regular","text":"null created_at","user":{"id":"user-2"},"created_at":null}}',
        r'{"type":"message","item":{"id":"null-3","cid":"messaging:nulls","type":"regular","text":"null parent_id","parent_id":null,"quoted_message_id":null,"user":{"id":"user-2"},"created_at":"2021-05-01T00:03:00.000000Z","deleted_at":null}}',
        r'{"type":"message","item":{"id":"null-4","type":"regular","text":"missing cid: inherits messaging:nulls","user":{"id":"user-7"},"created_at":"2021-05-01T00:04:00.000000Z"}}',
        r'{"type":"message","item":{"id":"null-5","cid":null,"type":"regular","text":"null cid","user_id":null,"user":{"id":"user-7"},"created_at":"2021-05-01T00:05:00.000000Z"}}',
        r'{"type":"message","item":{"id":"null-6","cid":"messaging:nulls","type":"regular","text":null,"html":null,"user_id":"user-17","user":null,"attachments":null,"latest_reactions":null,"reaction_groups":null}}',
        r'{"type":"reaction","item":{"message_id":"null-3","user_id":null,"user":{"id":"user-17"},"type":"like","score":1,"created_at":"2021-05-01T00:06:00.000000Z","updated_at":null}}',
        r'{"type":"reaction","item":{"message_id":"null-3","user_id":"user-2","user":null,"type":"love","created_at":"2021-05-01T00:07:00.000000Z"}}',
        r'{"type":"read","item":{"user":null,"last_read":"2021-05-01T00:08:00.000000Z","unread_messages":0}}',
        r'{"type":"user","item":{"id":"user-2","name":null,"role":"user","created_at":null,"deleted_at":null}}',
    ]
    fixture("v2_nulls.jsonl", lines_bytes(nulls), "v2",
            "explicit null vs missing: null created_by/user/user_id/"
            "created_at/parent_id/cid/text, missing cid, missing created_at")

    ts = [
        ("2021-02-17T08:17:49Z", "0 fractional digits"),
        ("2021-02-17T08:17:49.745Z", "3 fractional digits"),
        ("2021-02-17T08:17:49.745857Z", "6 fractional digits"),
        ("2025-01-23T13:06:58.365621247Z", "9 fractional digits"),
        ("0001-01-01T00:00:00Z", "Go zero time"),
        ("2021-02-17T10:17:49+02:00", "offset, same instant as line 1"),
        ("2025-01-24T01:00:00+05:00", "offset; text sorts last, "
                                      "instant is 2025-01-23T20:00:00Z"),
        ("2025-01-23T21:00:00.5Z", "1 fractional digit; latest instant"),
        ("2021-02-16T23:30:00-05:00", "negative offset = 2021-02-17T04:30Z"),
        ("2019-12-31T23:59:59.999999999Z", "9 digits, year boundary"),
    ]
    T = [env("channel", {"id": "ts", "type": "messaging", "cid": "messaging:ts",
                         "created_by": {"id": "user-1"},
                         "created_at": "2020-06-01T12:00:00.000000Z",
                         "member_count": 0, "config": {"name": "messaging"}})]
    for i, (t, what) in enumerate(ts, 1):
        T.append(env("message", {"id": "ts-%d" % i, "cid": "messaging:ts",
                                 "type": "regular", "text": what,
                                 "user": {"id": "user-1"}, "created_at": t}))
    fixture("v2_timestamps.jsonl", lines_bytes(T), "v2",
            "created_at with 0/1/3/6/9 fractional digits, Go zero time "
            "0001-01-01T00:00:00Z (the minimum), +02:00/+05:00/-05:00 "
            "offsets (an offset form sorts last as text but is not the "
            "latest instant)")


def build_extras():
    """Fixtures beyond the brief, each isolating one decision."""
    L = [
        r'{"type":"message","item":{"id":"ek-1","cid":"messaging:general","type":"regular","text":"escaped key","user\u005fid":"user-17","created_at":"2021-03-02T00:00:00Z"}}',
        r'{"type":"message","item":{"id":"ek-2","cid":"messaging:general","type":"regular","text":"escaped nested key","\u0075ser":{"\u0069d":"user-2"},"created_at":"2021-03-02T00:01:00Z"}}',
        r'{"\u0074ype":"reaction","item":{"message_id":"ek-1","user_id":"user-2","type":"like","created_at":"2021-03-02T00:02:00Z"}}',
    ]
    fixture("v2_escaped_keys.jsonl", lines_bytes(L), "v2",
            "(extra, hostile) object keys written with \\u escapes "
            "(user\\u005fid, \\u0075ser, \\u0074ype); valid JSON, never seen "
            "from Stream")

    L = [
        r'{"type":"message","item":{"id":"ls-1","cid":"messaging:general","type":"regular","text":"lone high surrogate \ud83d here","user":{"id":"user-17"},"created_at":"2021-03-03T00:00:00Z"}}',
        r'{"type":"message","item":{"id":"ls-2","cid":"messaging:general","type":"regular","text":"lone low \ude00 and reversed \ude00\ud83d","user":{"id":"user-2"},"created_at":"2021-03-03T00:01:00Z"}}',
        r'{"type":"message","item":{"id":"ls-3","cid":"messaging:general","type":"regular","text":"fine \ud83d\ude00","user":{"id":"user-2"},"created_at":"2021-03-03T00:02:00Z"}}',
    ]
    fixture("v2_lone_surrogate.jsonl", lines_bytes(L), "v2",
            "(extra) escaped lone surrogates; FORMAT.md prefers a lossy "
            "fallback, so these lines count as records, not errors",
            note="lines 1-2 hold escaped lone surrogates; expected treats "
                 "them as valid records (lossy U+FFFD), as Python's json does")

    T = [env("message", {"id": "ns-%d" % i, "cid": "messaging:ts",
                         "type": "regular", "text": t,
                         "user": {"id": "user-1"}, "created_at": t})
         for i, t in enumerate([
             "2025-01-23T13:06:58.365621Z",
             "2025-01-23T13:06:58.365621247Z",
             "2025-01-23T13:06:58.000000001Z",
             "2025-01-23T13:06:58Z",
             "2025-01-23T13:06:58.365621001Z"], 1)]
    fixture("v2_timestamps_ns.jsonl", lines_bytes(T), "v2",
            "(extra) instants differing below a microsecond; min/max need "
            "nanosecond precision",
            note="max is the 9-digit .365621247Z, which ties with the "
                 "earlier .365621Z at microsecond precision; min is the one "
                 "without fraction, 1 ns before .000000001Z")


def build_gzip():
    item = lines_bytes(v2_item_lines())
    fixture("v2_item.jsonl.gz", gzip.compress(item, 9, mtime=0), "v2",
            "gzip of v2_item.jsonl")
    L = v2_item_lines()
    h = len(L) // 2
    two = (gzip.compress(lines_bytes(L[:h]), 9, mtime=0)
           + gzip.compress(lines_bytes(L[h:]), 9, mtime=0))
    fixture("v2_multimember.jsonl.gz", two, "v2",
            "two gzip members concatenated (lines of v2_item.jsonl split in "
            "half); a single-member decoder sees only the first half")
    arr = [DOC_GENERAL, DOC_RANDOM, DOC_DM]
    fixture("v1_array.json.gz",
            gzip.compress((go_json(arr, indent=2) + "\n").encode(), 9, mtime=0),
            "v1", "gzip of v1_array.json")

    # A v2 file whose text is pseudo-random (a fixed LCG), so deflate keeps
    # it roughly proportional and 60% of the bytes ends mid-file.
    L = [env("channel", DOC_TEAM["channel"])]
    seed = 17
    words = []
    for _ in range(600):
        seed = (seed * 1103515245 + 12345) % 2 ** 31
        n = 2 + seed % 8
        w = ""
        for _ in range(n):
            seed = (seed * 1103515245 + 12345) % 2 ** 31
            w += "abcdefghijklmnopqrstuvwxyz"[(seed >> 16) % 26]
        words.append(w)
    for i in range(24):
        uid = ("user-17", "user-7", "user-170", "user-1")[i % 4]
        L.append(env("message", {
            "id": "tg-%02d" % i, "cid": "team:engineering", "type": "regular",
            "text": " ".join(words[25 * i: 25 * i + 25]),
            "user": {"id": uid, "name": USERS[uid][0]},
            "created_at": at(5 * 86400 + 37 * i)}))
        if i % 6 == 5:
            L.append(env("reaction", {"message_id": "tg-%02d" % i,
                                      "user_id": "user-2", "type": "like",
                                      "score": 1,
                                      "created_at": at(5 * 86400 + 37 * i + 5)}))
    global TRUNC_GZIP_SOURCE
    TRUNC_GZIP_SOURCE = lines_bytes(L)
    full = gzip.compress(TRUNC_GZIP_SOURCE, 9, mtime=0)
    cut = full[: len(full) * 6 // 10]
    fixture("v2_truncated_gzip.jsonl.gz", cut, "v2",
            "a valid gzip of a %d-line v2 file cut to 60%% of its bytes"
            % len(L),
            note="Assumed: every line ended by a newline within the "
                 "decompressed prefix is a record; the unfinished final "
                 "line is 1 error (its line number is in error_lines); the "
                 "truncated gzip stream (no end of deflate data, no CRC "
                 "trailer) is 1 more error with no line number. errors = "
                 "len(error_lines) + 1. The prefix is what Python's zlib "
                 "inflates from the cut bytes; the oracle checks the cut "
                 "falls well inside a line so decoders that stop a few bytes "
                 "earlier give the same counts.")


# ---------------------------------------------------------------------------
# Part 2: the oracle
# ---------------------------------------------------------------------------

class Bad(Exception):
    def __init__(self, pos):
        super().__init__(pos)
        self.pos = pos


TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})"
                   r"(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")


def instant_ns(s):
    m = TS_RE.match(s)
    if not m:
        raise ValueError("not an RFC3339 timestamp: %r" % s)
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    frac = int((m.group(7) or "").ljust(9, "0"))
    off = 0
    if m.group(8) != "Z":
        sign = 1 if m.group(8)[0] == "+" else -1
        off = sign * (int(m.group(8)[1:3]) * 3600 + int(m.group(8)[4:6]) * 60)
    days = datetime.date(y, mo, d).toordinal()
    secs = days * 86400 + h * 3600 + mi * 60 + se - off
    return secs * 1_000_000_000 + frac


def record_user(kind, obj):
    """The contract's user of a top-level record (None when it has none)."""
    v = obj.get("user_id")
    if isinstance(v, str):
        return v
    u = obj.get("user")
    if isinstance(u, dict) and isinstance(u.get("id"), str):
        return u["id"]
    if kind == "message" and isinstance(u, str):
        return u
    if kind == "channel":
        cb = obj.get("created_by")
        if isinstance(cb, dict) and isinstance(cb.get("id"), str):
            return cb["id"]
        if isinstance(cb, str):
            return cb
    if kind == "user" and isinstance(obj.get("id"), str):
        return obj["id"]
    return None


def classify_bare(o):
    k = o.keys()
    if "cid" in k and ("config" in k or "member_count" in k):
        return "channel"
    if "message_id" in k and "type" in k:
        return "reaction"
    if "id" in k and ("text" in k or "html" in k):
        return "message"
    if "channel_role" in k or ("user_id" in k and "user" in k):
        return "member"
    if "last_read" in k:
        return "read"
    if "id" in k and ("role" in k or "name" in k):
        return "user"
    return "other"


def is_v1_channel(o):
    return (isinstance(o, dict) and isinstance(o.get("channel"), dict)
            and ("messages" in o or "members" in o))


def expand_v1(o):
    out = [("channel", o["channel"])]
    out += [("message", m) for m in o.get("messages") or []]
    out += [("member", m) for m in o.get("members") or []]
    return out


def norm_kind(t):
    return "member" if t == "channel_member" else t


def line_records(o):
    """Records of one parsed line, and how the line was shaped."""
    if not isinstance(o, dict):
        raise AssertionError("fixtures only hold objects per line")
    if is_v1_channel(o):
        return expand_v1(o), "v1"
    if isinstance(o.get("type"), str):
        for key in ("item", "data"):
            if isinstance(o.get(key), dict):
                return [(norm_kind(o["type"]), o[key])], key
    return [(classify_bare(o), o)], "bare"


DEC = json.JSONDecoder()
WS = " \t\r\n"


def skip_ws(s, i):
    while i < len(s) and s[i] in WS:
        i += 1
    return i


def raw_value(s, i):
    try:
        return DEC.raw_decode(s, i)
    except json.JSONDecodeError as e:
        raise Bad(e.pos)


def expect(s, i, ch):
    if i >= len(s) or s[i] != ch:
        raise Bad(i)
    return i + 1


def walk_array(s, i, elem, emit):
    i = skip_ws(s, expect(s, i, "["))
    if i < len(s) and s[i] == "]":
        return i + 1
    while True:
        i = skip_ws(s, elem(s, skip_ws(s, i), emit))
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        return expect(s, i, "]")


def walk_entity(kind):
    def elem(s, i, emit):
        v, j = raw_value(s, i)
        emit(kind, v)
        return j
    return elem


def walk_doc(s, i, emit):
    """Incremental walk over one v1 object (channel object, sync user export,
    wrapper) or legacy {type,item}: entities are emitted as soon as they are
    complete, so a truncated document yields what precedes the cut."""
    i = skip_ws(s, expect(s, i, "{"))
    kept = {}
    if i < len(s) and s[i] == "}":
        return i + 1
    while True:
        key, i = raw_value(s, skip_ws(s, i))
        i = skip_ws(s, expect(s, skip_ws(s, i), ":"))
        if i >= len(s):
            raise Bad(i)
        if key == "channel" and s[i] == "{":
            v, i = raw_value(s, i)
            emit("channel", v)
        elif key in ("messages", "members", "reactions") and s[i] == "[":
            i = walk_array(s, i, walk_entity(key[:-1]), emit)
        elif key == "user" and s[i] == "{":
            v, i = raw_value(s, i)
            emit("user", v)
        elif s[i] == "[":
            i = walk_array(s, i, walk_doc, emit)  # wrapper of channel objects
        else:
            v, i = raw_value(s, i)
            kept[key] = v
        i = skip_ws(s, i)
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        i = expect(s, i, "}")
        break
    if set(kept) == {"type", "item"}:
        emit("legacy:" + norm_kind(kept["type"]), kept["item"])
    return i


def tree_oracle(s):
    """Full-parse twin of walk_doc, to cross-check it on complete files."""
    out = []

    def expand(v):
        if isinstance(v, list):
            for e in v:
                expand(e)
        elif is_v1_channel(v):
            out.extend(expand_v1(v))
        elif isinstance(v, dict) and set(v) == {"type", "item"}:
            out.append(("legacy:" + norm_kind(v["type"]), v["item"]))
        elif isinstance(v, dict) and isinstance(v.get("user"), dict):
            out.append(("user", v["user"]))
            out.extend(("message", m) for m in v.get("messages") or [])
            out.extend(("reaction", r) for r in v.get("reactions") or [])
        elif isinstance(v, dict):
            for x in v.values():
                if isinstance(x, list):
                    expand(x)
    i = skip_ws(s, 0)
    while i < len(s):
        v, i = DEC.raw_decode(s, i)
        expand(v)
        i = skip_ws(s, i)
    return out


def gunzip(raw):
    """All members; returns (bytes, truncated?)."""
    out, data = b"", raw
    while data:
        d = zlib.decompressobj(wbits=31)
        out += d.decompress(data)
        if not d.eof:
            return out, True
        data = d.unused_data
    return out, False


def analyze(raw):
    res = {}
    stream_errors = 0
    if raw[:2] == b"\x1f\x8b":
        res["compression"] = "gzip"
        data, truncated = gunzip(raw)
        stream_errors = int(truncated)
    else:
        res["compression"] = "none"
        data = raw
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]

    records = []  # (kind, obj)
    error_lines = []
    blank = 0
    shapes = set()

    # Mode: a document tree when the data starts with '[' or when its first
    # non-blank line is not on its own a JSON object for a line record (a
    # pretty-printed value, or a v1 channel object: a sequence of v1
    # objects gives the same entities either way).
    first = next((ln for ln in data.split(b"\n") if ln.strip(b" \t\r")), b"")
    try:
        first_obj = json.loads(first.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        first_obj = None
    tree = (data.lstrip(b" \t\r\n")[:1] == b"[" or not isinstance(first_obj, dict)
            or is_v1_channel(first_obj) or isinstance(first_obj.get("user"), dict)
            and "messages" in first_obj)

    if tree:
        s = data.decode("utf-8")
        got = []
        i = skip_ws(s, 0)
        try:
            while i < len(s):
                if s[i] == "[":
                    i = walk_array(s, i, walk_doc, lambda k, v: got.append((k, v)))
                else:
                    i = walk_doc(s, i, lambda k, v: got.append((k, v)))
                i = skip_ws(s, i)
        except Bad:
            error_lines.append(s.count("\n") + 1)
        else:
            assert [(k, json.dumps(v)) for k, v in got] == \
                   [(k, json.dumps(v)) for k, v in tree_oracle(s)]
        for k, v in got:
            if k.startswith("legacy:"):
                shapes.add("legacy")
                records.append((k[7:], v))
            else:
                shapes.add("v1")
                records.append((k, v))
    else:
        pieces = data.split(b"\n")
        if pieces[-1] == b"":
            pieces.pop()  # text after the final newline, if none
        for n, piece in enumerate(pieces, 1):
            if piece.strip(b" \t\r") == b"":
                blank += 1
                continue
            try:
                o = json.loads(piece.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                error_lines.append(n)
                continue
            recs, shape = line_records(o)
            shapes.add(shape)
            records += recs

    # Format.
    if shapes == {"legacy"}:
        fmt = "import-legacy"
    elif shapes == {"v1"}:
        fmt = "v1"
    elif shapes == {"data"} and not any(
            "cid" in o or isinstance(o.get("user"), dict)
            or isinstance(o.get("created_by"), dict) for _, o in records):
        fmt = "import"
    else:
        assert "legacy" not in shapes
        fmt = "v2"
    res = {"format": fmt, "compression": res["compression"]}

    counts, users, times = {}, {}, []
    for k, o in records:
        counts[k] = counts.get(k, 0) + 1
        u = record_user(k, o)
        if u is not None:
            users[u] = users.get(u, 0) + 1
        t = o.get("created_at")
        if isinstance(t, str):
            times.append((instant_ns(t), t))
    res["counts"] = dict(sorted(counts.items()))
    res["errors"] = len(error_lines) + stream_errors
    res["error_lines"] = error_lines
    res["blank_lines"] = blank
    if times:
        lo = min(times)[0]
        hi = max(times)[0]
        lo_t = {t for n, t in times if n == lo}
        hi_t = {t for n, t in times if n == hi}
        assert len(lo_t) == 1 and len(hi_t) == 1, "ambiguous extreme text"
        res["min_created_at"] = lo_t.pop()
        res["max_created_at"] = hi_t.pop()
    res["users"] = dict(sorted(users.items()))
    return res


# ---------------------------------------------------------------------------
# Checks on designed properties (fail loudly if an edit breaks a fixture)
# ---------------------------------------------------------------------------

def check(name, exp, data):
    if name == "v2_malformed.jsonl":
        assert exp["error_lines"] == [4, 9], exp
    if name in ("v2_truncated.jsonl", "v2_invalid_utf8.jsonl",
                "v1_truncated.json"):
        assert exp["errors"] == 1, (name, exp)
    if name == "v2_invalid_utf8.jsonl":
        assert exp["error_lines"] == [5]
    if name == "v2_truncated_gzip.jsonl.gz":
        prefix, truncated = gunzip(data)
        assert truncated
        assert TRUNC_GZIP_SOURCE.startswith(prefix)
        start = prefix.rfind(b"\n") + 1
        end = TRUNC_GZIP_SOURCE.index(b"\n", start)
        # The cut must fall well inside a line: a decoder that inflates a
        # few bytes less or more still sees the same complete lines.
        assert 64 < len(prefix) - start < end - start - 64, (start, end)
        assert exp["errors"] == 2 and len(exp["error_lines"]) == 1
    if name == "v2_multimember.jsonl.gz":
        d = zlib.decompressobj(wbits=31)
        first = d.decompress(data)
        assert d.eof and d.unused_data and first.endswith(b"\n")
    if name == "v2_bare.jsonl":
        assert exp["counts"]["other"] == 3
    if name == "v2_escapes.jsonl":
        assert "user-17" in exp["users"] and "user-170" in exp["users"]


def main():
    os.makedirs(OUT, exist_ok=True)
    for build in (build_v1, build_v2, build_import, build_tolerance,
                  build_damage, build_text, build_extras, build_gzip):
        build()
    names = [f[0] for f in FIXTURES]
    assert len(names) == len(set(names))
    expected = {}
    for name, data, fmt, desc, note in FIXTURES:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    for name, data, fmt, desc, note in FIXTURES:
        with open(os.path.join(OUT, name), "rb") as f:
            raw = f.read()
        assert raw == data
        exp = analyze(raw)
        assert exp["format"] == fmt, (name, exp["format"], fmt)
        check(name, exp, raw)
        if note:
            exp["note"] = note
        expected[name] = exp
    # Same-content pairs must agree.
    for plain, gz in (("v2_item.jsonl", "v2_item.jsonl.gz"),
                      ("v2_item.jsonl", "v2_multimember.jsonl.gz"),
                      ("v1_array.json", "v1_array.json.gz")):
        a = dict(expected[plain], compression="gzip")
        assert a == expected[gz], (plain, gz)
    if os.path.isdir(SAMPLES):
        for name in sorted(os.listdir(SAMPLES)):
            if name.endswith((".json", ".jsonl")):
                with open(os.path.join(SAMPLES, name), "rb") as f:
                    expected["samples/" + name] = analyze(f.read())
    with open(os.path.join(OUT, "expected.json"), "wb") as f:
        f.write((json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
                .encode("utf-8"))
    listing = "\n".join("- `fixtures/%s` — %s" % (f[0], f[3]) for f in FIXTURES)
    with open(os.path.join(HERE, "README.md"), "wb") as f:
        f.write(README.replace("@FIXTURES@", listing).encode("utf-8"))


README = """\
# Test data

Generated by `make_fixtures.py` (this README too: edit the descriptions
there). Regenerate from the repository root with:

    python3 testdata/make_fixtures.py

Python 3 standard library only; the output is deterministic (gzip written
with `mtime=0`; a different zlib build could deflate the `.gz` files
differently, and expected.json is always recomputed from the bytes written).

## expected.json: the oracle

`fixtures/expected.json` maps each file name (`samples/<name>` for the
documented samples) to what a reader must report. It is computed by the
script from the written bytes with Python's `json` and `zlib`, never typed
by hand:

- `format`: `v1` (every v1 tree shape, v1 channel objects one per line, the
  sync user export), `v2` (item envelope, bare entities, or data envelope
  holding export-shaped entities with `cid`/user objects), `import` (data
  envelope with string references only), `import-legacy` (one array of
  `{type,item}`).
- `compression`: `gzip` when the file starts with `1f 8b`, else `none`.
- `counts`: records per kind. v1: each channel object 1 `channel`, each
  element of `messages`/`members` 1 `message`/`member`; reactions inside
  messages are not counted; the sync export counts its `user`, `messages`,
  `reactions`. Lines: one record per non-blank line under the envelope
  `type` (`channel_member` counted as `member`, unknown kinds keep their
  name), bare objects by FORMAT.md's bare rules 1-7 in order (rule 7 is
  `other`); a line holding a v1 channel object is expanded like v1.
  Legacy array: one record per element by its `type`.
- `errors` / `error_lines`: bad records (invalid JSON, invalid UTF-8,
  truncated) are errors, not counted in `counts`. Line numbers are 1-based
  and count every line, blank ones included. A truncated v1 document is
  1 error; the entities complete before the cut are counted; its error line
  is the last line of the file. A truncated gzip stream adds 1 error with no
  line number (see the file's `note`).
- `blank_lines`: empty or whitespace-only lines (space, tab, CR) of line
  files; always 0 for tree documents.
- `min_created_at` / `max_created_at`: the original text of the earliest /
  latest string `created_at` of a counted record, compared as instants with
  nanosecond precision (offsets applied; `0001-01-01T00:00:00Z` is a real
  instant). Nested `created_at` (user objects, config, reactions inside
  messages) do not count. Omitted when no record has one.
- `users`: user id (escapes decoded) -> number of records belonging to it,
  resolved as FORMAT.md says: `user_id`; else `user.id` when `user` is an
  object; else, for a message, `user` as a string; else, for a channel,
  `created_by` (`.id` or string); else, for a user record, its `id`. Null
  counts as missing. This generic rule applies to every kind: a device,
  a poll vote, a read state or an `other` object with a `user_id`/`user`
  counts; a `call` or `future_channel_ban` (whose only user reference is
  `created_by` / `target_id`) counts for nobody.
- `note`: present where a fixture needed an assumption.

## Fixtures

@FIXTURES@

## Other data

- `samples/` — Stream's documented import samples, copied unchanged (origin
  in `samples/README.md`); expected results under `samples/<name>`.
- `JSONTestSuite/` — nst/JSONTestSuite `test_parsing` cases, vendored
  unchanged (MIT, see `JSONTestSuite/LICENSE` and `ORIGIN.txt`): `y_` must
  be accepted, `n_` rejected, `i_` either.
"""


if __name__ == "__main__":
    main()
