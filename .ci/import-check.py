#!/usr/bin/env python3
"""Independent check of `convert --to stream-import`, run by .ci/run.

Converts every fixture and sample with the tool, then checks each output
with code that shares nothing with the crate: the official JSON Schemas
(evaluated by the reference `jsonschema` package, draft 2020-12, formats
checked) and the import rules of FORMAT.md written out again here — line
shape, the required order, references resolvable within the file, no
duplicate ids, `deleted_at` iff type `deleted`, one thread level, both or
neither of `pinned_at`/`pinned_by_id` — and that every message of the
input (as counted by the fixtures' Python oracle, expected.json) is in the
output exactly once or reported dropped in the summary.

    python3 .ci/import-check.py TOOL SCHEMA_DIR TESTDATA_DIR
"""

import json
import os
import subprocess
import sys
import tempfile

import jsonschema
from referencing import Registry, Resource

ORDER = ["user", "device", "future_channel_ban", "channel", "member", "message", "reaction"]
SCHEMA_OF = {
    "user": "user.schema.json",
    "device": "device.schema.json",
    "future_channel_ban": "future_channel_ban.schema.json",
    "channel": "channel.schema.json",
    "member": "channel_member.schema.json",
    "message": "message.schema.json",
    "reaction": "reaction.schema.json",
}


def load_schemas(folder):
    resources = []
    schemas = {}
    for name in os.listdir(folder):
        if name.endswith(".schema.json"):
            with open(os.path.join(folder, name)) as f:
                doc = json.load(f)
            schemas[name] = doc
            resources.append((name, Resource.from_contents(doc)))
    registry = Registry().with_resources(resources)
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    validators = {
        kind: jsonschema.Draft202012Validator(
            schemas[file], registry=registry, format_checker=checker
        )
        for kind, file in SCHEMA_OF.items()
    }
    return validators


def channel_key(data, prefix):
    """A channel reference: (type, id) or (type, sorted member ids)."""
    ctype = data.get(prefix + "type") if prefix else data.get("type")
    if prefix:
        cid = data.get("channel_id")
        members = data.get("channel_member_ids")
    else:
        cid = data.get("id")
        members = data.get("member_ids")
    if cid is not None:
        return (ctype, "id", cid)
    return (ctype, "members", tuple(sorted(members or [])))


def check_file(path, validators):
    problems = []
    users, channels, messages = set(), set(), {}
    parents = {}
    seen_order = -1
    counts = {}
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for n, raw in enumerate(lines, 1):
        where = f"{path}:{n}"
        try:
            item = json.loads(raw)
        except ValueError as e:
            problems.append(f"{where}: not JSON: {e}")
            continue
        if not isinstance(item, dict) or set(item) != {"type", "data"}:
            problems.append(f"{where}: not exactly {{type, data}}")
            continue
        kind, data = item["type"], item["data"]
        if kind not in SCHEMA_OF:
            problems.append(f"{where}: unknown type {kind!r}")
            continue
        counts[kind] = counts.get(kind, 0) + 1
        rank = ORDER.index(kind)
        if rank < seen_order:
            problems.append(f"{where}: {kind} after {ORDER[seen_order]} (order)")
        seen_order = max(seen_order, rank)
        for err in validators[kind].iter_errors(data):
            problems.append(f"{where}: schema ({kind}): {err.message}")
        if not isinstance(data, dict):
            continue
        if kind == "user":
            if data.get("id") in users:
                problems.append(f"{where}: duplicate user {data.get('id')!r}")
            users.add(data.get("id"))
        elif kind == "channel":
            key = channel_key(data, "")
            if key in channels:
                problems.append(f"{where}: duplicate channel {key!r}")
            channels.add(key)
            if data.get("created_by") not in users:
                problems.append(f"{where}: created_by {data.get('created_by')!r} is not a user of the file")
            for m in data.get("member_ids") or []:
                if m not in users:
                    problems.append(f"{where}: member id {m!r} is not a user of the file")
        elif kind == "member":
            if data.get("user_id") not in users:
                problems.append(f"{where}: member user_id {data.get('user_id')!r} is not a user of the file")
            if channel_key(data, "channel_") not in channels:
                problems.append(f"{where}: member of a channel not in the file")
        elif kind == "message":
            mid = data.get("id")
            if mid in messages:
                problems.append(f"{where}: duplicate message {mid!r}")
            messages[mid] = data
            if data.get("user") not in users:
                problems.append(f"{where}: message user {data.get('user')!r} is not a user of the file")
            if channel_key(data, "channel_") not in channels:
                problems.append(f"{where}: message {mid!r} in a channel not in the file")
            deleted = data.get("type") == "deleted"
            if deleted != ("deleted_at" in data):
                problems.append(f"{where}: deleted_at must be set iff type is deleted")
            if ("pinned_at" in data) != ("pinned_by_id" in data):
                problems.append(f"{where}: pinned_at and pinned_by_id go together")
            if data.get("pinned_by_id") is not None and data["pinned_by_id"] not in users:
                problems.append(f"{where}: pinned_by_id is not a user of the file")
            for u in data.get("mentioned_users_ids") or []:
                if u not in users:
                    problems.append(f"{where}: mentioned user {u!r} is not a user of the file")
            if data.get("type") == "reply" and not data.get("parent_id"):
                problems.append(f"{where}: a reply without parent_id")
            if data.get("parent_id"):
                parents[mid] = (where, data["parent_id"])
        elif kind == "reaction":
            if data.get("user_id") not in users:
                problems.append(f"{where}: reaction user_id is not a user of the file")
            if data.get("message_id") not in messages:
                problems.append(f"{where}: reaction to a message not in the file (messages come first)")
    for mid, (where, parent) in parents.items():
        if parent not in messages:
            problems.append(f"{where}: parent {parent!r} is not a message of the file")
        elif messages[parent].get("parent_id"):
            problems.append(f"{where}: reply to a reply (one thread level)")
    return problems, counts


def main():
    tool, schema_dir, testdata = sys.argv[1:4]
    validators = load_schemas(schema_dir)
    with open(os.path.join(testdata, "fixtures", "expected.json")) as f:
        expected = json.load(f)
    failures = 0
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, want in sorted(expected.items()):
            if want.get("errors"):
                continue  # damaged inputs: the converter skips and counts
            folder = "samples" if name.startswith("samples/") else "fixtures"
            path = os.path.join(testdata, folder, name.split("/", 1)[-1])
            out = os.path.join(tmp, f"{checked}.jsonl")
            run = subprocess.run(
                [tool, "convert", "--to", "stream-import", "--no-progress", "--out", out, path],
                capture_output=True,
                text=True,
            )
            checked += 1
            if run.returncode != 0:
                print(f"{name}: convert exited {run.returncode}: {run.stderr.strip()}")
                failures += 1
                continue
            problems, counts = check_file(out, validators)
            # Nothing may vanish: a message is written, or its drop is
            # counted in the summary on stderr ("dropped: N messages ...").
            messages = want.get("counts", {}).get("message", 0)
            dropped = 0
            for line in run.stderr.splitlines():
                words = line.split()
                if len(words) > 2 and words[0] == "dropped:" and words[2].startswith("message"):
                    dropped += int(words[1])
            written = counts.get("message", 0)
            if written + dropped != messages:
                problems.append(
                    f"{written} messages written and {dropped} reported dropped; the input has {messages}"
                )
            for p in problems:
                print(f"{name}: {p}")
            failures += bool(problems)
    print(f"import-check: {checked} inputs converted, {failures} with problems")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
