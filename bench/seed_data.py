"""The data bench/seed.py writes: the phrase lists its texts are built from, the sizes and
markers the benchmarks look for, and ``Mix``, how the tickets spread over the states.

Standard library only: bench/console.py reads the markers from here without seeding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_TICKETS = 1_000_000
REQUESTERS = 10_000
REQUESTER_DOMAIN = "bench.example.org"
# One ticket in KAREN_EVERY is karen@example.com's: about 50 at a million tickets.
KAREN_EVERY = 20_000
# A word found in the first message of one ticket in RARE_EVERY (20 at a million tickets).
RARE_WORD = "zanzibarite"
RARE_EVERY = 50_000
# A subject word the console benchmark searches for (one of the subjects below).
SUBJECT_WORD = "printer"

# (username, first name, last name, department, in the Online Banking team)
BENCH_AGENTS = [
    *[(f"agent{i:02d}", "Support", f"Agent {i:02d}", "Support", False) for i in range(1, 13)],
    *[(f"agent{i:02d}", "SysAdmin", f"Agent {i:02d}", "SysAdmins", i >= 15) for i in range(13, 17)],
]

FIRST_NAMES = [
    "Alice",
    "Bob",
    "Carla",
    "David",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wim",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Anna",
    "Ben",
    "Chloe",
    "Dario",
    "Elif",
    "Finn",
    "Greta",
    "Hannah",
    "Ivan",
    "Julia",
    "Karl",
    "Lena",
    "Marco",
    "Nina",
]
LAST_NAMES = [
    "Smith",
    "Jones",
    "Müller",
    "Rossi",
    "Dubois",
    "García",
    "Novak",
    "Kowalski",
    "Jensen",
    "Silva",
    "Costa",
    "Ivanova",
    "Nagy",
    "Horvat",
    "Berg",
    "Fischer",
    "Weber",
    "Moreau",
    "Lopez",
    "Martin",
    "Bianchi",
    "Romano",
    "Larsen",
    "Nielsen",
    "Hansen",
    "Olsen",
    "Popescu",
    "Petrov",
    "Kaya",
    "Demir",
    "Yilmaz",
    "Santos",
    "Pereira",
    "Ferreira",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
]

SUBJECTS = [
    "Printer on the third floor jams on every job",
    "Cannot reset my password",
    "Outlook keeps asking for my password",
    "VPN disconnects every few minutes",
    "New laptop for a new hire",
    "Second monitor flickers",
    "Mobile banking app logs me out after a transfer",
    "Online banking login page does not load",
    "Request access to the finance share",
    "Wi-Fi is very slow in the meeting rooms",
    "Laptop battery drains within an hour",
    "Teams calls drop after a minute",
    "Keyboard missing keys",
    "Excel crashes when opening large files",
    "Phone extension does not ring",
    "Need a licence for the design software",
    "Account locked after holiday",
    "Cannot print to the colour printer",
    "Shared calendar not syncing",
    "Scanner sends empty PDFs",
    "Card payment declined in the app",
    "Two-factor codes never arrive by SMS",
    "Disk almost full on my workstation",
    "Browser shows a certificate warning on the intranet",
    "Webcam not detected",
    "Invoice portal returns an error",
    "Request a new mobile phone",
    "Mailbox is full",
    "Software update stuck at 99 percent",
    "Docking station does not charge the laptop",
    "Access badge stopped working",
    "Transfer to a foreign account is pending for days",
    "File server is very slow",
    "Statement download is empty",
    "Cannot join the guest Wi-Fi",
    "Projector in room 4 shows no signal",
    "Spam e-mails from an unknown sender",
    "Password expiry e-mail looks suspicious",
    "Remote desktop connection refused",
    "Headset microphone too quiet",
]
SUBJECT_SUFFIXES = [
    "",
    "",
    "",
    " again",
    " since Monday",
    " (urgent)",
    " for the sales team",
    " after the update",
    " in the Berlin office",
    " - please help",
    " on my home office setup",
    " since this morning",
]
OPENINGS = [
    "Hello,",
    "Hi team,",
    "Good morning,",
    "Dear support,",
    "Hi,",
    "Hello IT,",
    "Good afternoon,",
    "To whom it may concern,",
]
DETAILS = [
    "since yesterday the problem happens every time I try.",
    "it started after the last update and nothing I tried helps.",
    "my colleagues in accounting see the same thing.",
    "I restarted the computer twice but the error stays.",
    "the screen shows an error message and then closes.",
    "it works at home but not in the office.",
    "this blocks me from finishing the monthly report.",
    "the customer is waiting and it is getting urgent.",
    "I attached nothing because the upload fails too.",
    "it happens only in the afternoon, the morning is fine.",
    "the app freezes for a minute and then signs me out.",
    "I cleared the browser cache and cookies already.",
    "the same request worked last week without problems.",
    "our branch manager asked me to report it here.",
    "I need this before the audit on Friday.",
    "the error code changes each time I retry.",
]
CLOSINGS = [
    "Thank you.",
    "Thanks in advance.",
    "Best regards.",
    "Kind regards.",
    "Many thanks for your help.",
    "Please call me back.",
    "Cheers.",
    "Regards.",
]
REPLIES = [
    "Thanks for the details, we are looking into it.",
    "Could you send a screenshot of the error?",
    "We applied a fix on our side; please try again.",
    "A technician will come by this afternoon.",
    "We reset the account; please sign in again.",
    "The update is rolled back; it should work now.",
]
NOTES = [
    "Same issue as last week; check the gateway logs.",
    "Known bug, vendor ticket open.",
    "Asked the network team for the switch logs.",
    "Probably a stale credential after the password change.",
]
STATES = ("closed", "open", "assigned", "awaiting_user", "in_progress", "escalated", "resolved")


@dataclass(frozen=True)
class Mix:
    """How ``seed`` spreads the tickets over the states, and which of them are overdue.

    ``shares``: the share of the tickets in each of ``STATES``, in that order (summing to 1).
    Each ticket draws its state at random, and an active one is overdue with the probability
    ``overdue``; with ``exact``, ticket g of n takes the state its position g/n falls in and
    every (1 / ``overdue``)th active ticket is overdue, so the counts are exact (for shares
    that are whole hundreds of tickets).

    ``waiting``: the awaiting-user and resolved tickets as the lifecycle timers
    (``tickets.sla.jobs.state_timers``, with the delays of ``LifecycleTimers``) would have left
    them, each at least ``MARGIN_DAYS`` short of its next timer: the job has nothing to do on
    them for that long. Otherwise their last move is spread over 60 days like the other
    active tickets', and none was reminded.
    """

    shares: tuple[float, ...] = (0.85, 0.05, 0.03, 0.02, 0.03, 0.01, 0.01)
    overdue: float = 0.01
    exact: bool = False
    waiting: bool = False

    @classmethod
    def of_counts(cls, counts: dict[str, int], **options: Any) -> tuple[int, Mix]:
        """The number of tickets and the exact mix that give each state its count."""
        n = sum(counts.values())
        return n, cls(shares=tuple(counts.get(state, 0) / n for state in STATES), exact=True, **options)

    def params(self, n: int) -> dict[str, Any]:
        if len(self.shares) != len(STATES) or abs(sum(self.shares) - 1) > 1e-9:
            raise ValueError(f"Mix.shares must give a share for each of {STATES}, summing to 1")
        upto = 0.0
        params: dict[str, Any] = {}
        for state, share in zip(STATES[:-1], self.shares, strict=False):
            upto += share
            params[f"upto_{state}"] = round(upto, 12)
        return {
            **params,
            "exact": self.exact,
            "overdue": self.overdue,
            "overdue_every": round(1 / self.overdue),
            "waiting": self.waiting,
        }


CONSOLE_MIX = Mix()
# The waiting profile keeps each waiting ticket this many days short of its next timer.
MARGIN_DAYS = 0.5

FINAL_TRANSITION = {
    "assigned": "assign",
    "awaiting_user": "request_info",
    "in_progress": "start_work",
    "escalated": "escalate",
    "resolved": "resolve",
    "closed": "close",
}
