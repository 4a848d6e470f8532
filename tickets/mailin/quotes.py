"""Leaving the quoted history and the signature out of a reply's thread entry."""

from __future__ import annotations

import re

# The line (or two: clients wrap it) with which a client introduces the history it quotes:
# "On Mon, 30 Nov 2026 at 10:02, Help Desk <…> wrote:" (Gmail, Apple Mail, Thunderbird),
# "Le … a écrit :", "Am … schrieb Help Desk <…>:", "El … escribió:".
_ATTRIBUTION = re.compile(
    r"^\s*(On|Le|Am|El)\b.{0,300}\b(wrote|a écrit|schrieb|escribió)\b.{0,200}:\s*$", re.I
)
_ATTRIBUTION_START = re.compile(r"^\s*(On|Le|Am|El)\b", re.I)
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|"
    r"Forwarded message|Weitergeleitete Nachricht|Message transféré)\s*-{2,}\s*$",
    re.I,
)
# Outlook: "From: …" then "Sent: …" (or "Date:") within the next lines, often after a rule;
# French Outlook puts a (no-break) space before the colon: "De : …", "Envoyé : …".
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|Von|De)\*?[ \u00a0]?:\s.+$")
_OUTLOOK_SENT = re.compile(r"^\s*\*?(Sent|Gesendet|Envoyé|Date)\*?[ \u00a0]?:\s")
_SIGNATURE = re.compile(
    r"^\s*(-- ?|Sent from my .{1,40}|Sent from Outlook for .{1,40}|Get Outlook for .{1,40}|"
    r"Von meinem .{1,40} gesendet|Envoyé de mon .{1,40})\s*$",
    re.I,
)


def _quote_start(lines: list[str], index: int) -> int:
    """How many lines the introduction of a quoted history at ``index`` takes (0: none)."""
    line = lines[index]
    after = lines[index + 1 : index + 4]
    if _ATTRIBUTION.match(line) or _SEPARATOR.match(line):
        return 1
    if _ATTRIBUTION_START.match(line) and after and _ATTRIBUTION.match(f"{line} {after[0].strip()}"):
        return 2
    if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_SENT.match(a) for a in after):
        return 1
    return 0


def _without_signature(lines: list[str]) -> list[str]:
    signature = next((i for i, line in enumerate(lines) if _SIGNATURE.match(line)), len(lines))
    kept = lines[:signature]
    # Trailing quoted lines (">"), rules and blank lines go too.
    while kept and (
        not kept[-1].strip() or kept[-1].lstrip().startswith(">") or set(kept[-1].strip()) <= {"_", "-"}
    ):
        kept.pop()
    return kept


def strip_quoted(text: str) -> str:
    """What the sender wrote, without the history they quote and their signature; the whole
    text if nothing would be left. Above the quote (most clients) or below it (a reply written
    under the quoted lines, Thunderbird's way): then the "> " lines are what goes."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut, span = next(((i, n) for i in range(len(lines)) if (n := _quote_start(lines, i))), (len(lines), 0))
    kept = _without_signature(lines[:cut])
    if not any(line.strip() for line in kept) and span:
        below = [line for line in lines[cut + span :] if not line.lstrip().startswith(">")]
        kept = _without_signature(below)
    return "\n".join(kept).strip() or text.strip()
