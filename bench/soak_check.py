"""The soak's check of the database after the run (bench/soak.py), and its figures: the
table of requests, the 500s by exception, the worker's failed tasks."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soak_load import TOKEN_RE
from soak_stack import Stack


@dataclass
class Restart:
    down: float = 0.0
    up: float = 0.0
    note: str = ""

    def overlaps(self, record: dict[str, Any]) -> bool:
        return bool(self.down) and record["t0"] <= self.up and record["t1"] >= self.down


# Where each token must be found: the kind of thread entry (exactly one), and the kinds of
# entry that repeat it by design (a requester's reopen is also told in the event).
ENTRY_KIND: dict[str, tuple[str, tuple[str, ...]]] = {
    "open": ("message", ()),
    "reply": ("message", ()),
    "reopen": ("message", ("event",)),  # the event only when it did reopen (not appended)
    "agent_request_info": ("reply", ()),
    "agent_resolve": ("reply", ()),
    "agent_reply": ("reply", ()),
    "agent_escalate": ("note", ()),
    "agent_close": ("event", ()),
    "agent_reopen": ("event", ()),
}


@dataclass
class Check:
    checked: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    misplaced: list[str] = field(default_factory=list)
    stored_refused: list[str] = field(default_factory=list)
    stored_after_error: Counter[str] = field(default_factory=Counter)
    errors_not_stored: Counter[str] = field(default_factory=Counter)
    tickets_opened: int = 0
    tickets_in_db: int = 0
    follow_ups: int = 0
    task_failures: Counter[str] = field(default_factory=Counter)

    @property
    def broken_tasks(self) -> int:
        """Worker tasks that failed for another reason than the restart's lost connections."""
        return sum(n for failure, n in self.task_failures.items() if "OperationalError" not in failure)

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.doubled or self.misplaced or self.stored_refused or self.broken_tasks)


def check(stack: Stack, records: list[dict[str, Any]]) -> Check:
    """Every success stored exactly once where it belongs; nothing refused stored at all."""
    with stack.connect() as conn:
        rows = conn.execute(
            "SELECT e.kind, e.body, t.number, parent.number FROM tickets_threadentry e "
            "JOIN tickets_ticket t ON t.id = e.ticket_id "
            "LEFT JOIN tickets_ticket parent ON parent.id = t.follow_up_of_id "
            "WHERE e.body LIKE '%soak-%'"
        ).fetchall()
        doubled_numbers = conn.execute(
            "SELECT number FROM tickets_ticket WHERE number IS NOT NULL GROUP BY number HAVING count(*) > 1"
        ).fetchall()
        result = Check(tickets_in_db=conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()[0])
    result.task_failures = worker_failures(stack.tmp / "worker.log")
    found: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for kind, body, number, parent in rows:
        for token in set(TOKEN_RE.findall(body)):
            found[token].append((kind, number, parent))
    result.doubled += [f"ticket number {number} twice" for (number,) in doubled_numbers]
    for record in records:
        token = record.get("token")
        if not token:
            continue
        entries = found.get(token, [])
        expected, extras = ENTRY_KIND[record["kind"]]
        main = [entry for entry in entries if entry[0] == expected]
        others = Counter(entry[0] for entry in entries if entry[0] != expected)
        if len(main) > 1 or any(n > 1 or kind not in extras for kind, n in others.items()):
            result.doubled.append(f"{record['kind']} {token}: {[entry[0] for entry in entries]}")
        if record["outcome"] != "ok":
            if entries and record["outcome"] in ("stale", "refused", "throttled", "not_found"):
                result.stored_refused.append(f"{record['kind']} {token} ({record.get('detail', '')})")
            elif entries:
                result.stored_after_error[f"{record['kind']} ({record['outcome']})"] += 1
            elif record["outcome"] in ("server_error", "conn_error", "unknown"):
                result.errors_not_stored[record["kind"]] += 1
            continue
        result.checked += 1
        result.tickets_opened += record["kind"] == "open"
        result.follow_ups += bool(record.get("follow_up"))
        if not main:
            result.lost.append(f"{record['kind']} {token} on #{record.get('landed') or record.get('target')}")
            continue
        _, number, parent = main[0]
        target, landed = record.get("target"), record.get("landed")
        if record["kind"] == "open":
            right = number == landed
        elif record["kind"] in ("reply", "reopen"):
            right = number == landed and (number == target or parent == target)
        else:
            right = number == target and all(entry[1] == target for entry in entries)
        if not right:
            result.misplaced.append(f"{record['kind']} {token}: on #{number}, expected #{landed or target}")
    return result


# -- the report ----------------------------------------------------------------------------------

ROWS = [
    ("open", "Portal: open a ticket (POST)"),
    ("reply", "Portal: requester reply (POST)"),
    ("confirm", "Portal: confirm the fix (POST)"),
    ("reopen", "Portal: reopen (POST)"),
    ("agent_claim", "Console: claim"),
    ("agent_start_work", "Console: start work"),
    ("agent_request_info", "Console: ask the requester"),
    ("agent_reply", "Console: reply"),
    ("agent_escalate", "Console: escalate"),
    ("agent_resolve", "Console: resolve"),
    ("agent_reopen", "Console: reopen"),
    ("agent_close", "Console: close"),
    ("portal_get", "Portal pages (GET)"),
    ("console_get", "Console pages (GET)"),
    ("login", "Console sign-in (GET, POST)"),
]
GROUP = {
    "form": "portal_get",
    "view": "portal_get",
    "follow": "portal_get",
    "agent_view": "console_get",
    "agent_follow": "console_get",
    "login_form": "login",
}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def request_table(records: list[dict[str, Any]], restart: Restart) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[GROUP.get(record["kind"], record["kind"])].append(record)
    lines = [
        "| Requests | sent | success | refused: ticket changed | refused: other | 404 | 5xx | no answer "
        "| outcome unknown | errors in the restart window | errors outside it | success ms median / p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total: Counter[str] = Counter()
    for key, label in [*ROWS, *[(k, k) for k in groups if k not in dict(ROWS)]]:
        rows = groups.get(key, [])
        if not rows:
            continue
        counts = Counter(record["outcome"] for record in rows)
        errors = [r for r in rows if r["outcome"] in ("server_error", "conn_error")]
        in_window = sum(restart.overlaps(r) for r in errors)
        times = [r["t1"] - r["t0"] for r in rows if r["outcome"] == "ok"]
        row = Counter(counts)
        row.update(sent=len(rows), refused=counts["throttled"], in_window=in_window)
        row["outside"] = len(errors) - in_window
        total.update(row)
        timing = f"{ms(statistics.median(times))} / {ms(p95(times))}" if times else ""
        lines.append(f"| {label} | " + " | ".join(f"{row[c]:,}" for c in COLUMNS) + f" | {timing} |")
    lines.append("| **All** | " + " | ".join(f"**{total[c]:,}**" for c in COLUMNS) + " | |")
    return lines


COLUMNS = [
    "sent",
    "ok",
    "stale",
    "refused",
    "not_found",
    "server_error",
    "conn_error",
    "unknown",
    "in_window",
    "outside",
]


def server_errors(log: Path) -> Counter[str]:
    """The exceptions behind the 500s, from Django's log in gunicorn's output."""
    found: Counter[str] = Counter()
    if not log.exists():
        return found
    last = None
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("Internal Server Error:"):
            if last:
                found[last] += 1
            last = "?"
        elif last is not None and re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupted)\b", line):
            last = re.sub(r"\d+", "N", line)[:110]
    if last:
        found[last] += 1
    return found


def worker_failures(log: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    if log.exists():
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            failed = re.search(r"Task ([\w.]+)\[[^\]]+\] (raised unexpected|retry): (\w+)", line)
            if failed:
                found[f"{failed.group(1)}: {failed.group(2)} {failed.group(3)}"] += 1
    return found
