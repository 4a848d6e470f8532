"""The lifecycle services: every write to a ticket goes through here, one module per kind of
write (intake, moves, thread, requesters, timers, alerts, bulk), the shared helpers in ``_common``.

A service checks who is asking (visibility from ``tickets.selectors``, transition
permissions with ``has_transition_perm``), runs in one transaction, records the move in
``TicketTransition`` and the thread, and queues mail with ``transaction.on_commit`` so that
nothing is sent for a change that rolls back. ``actor=None`` is the system (intake, timers,
mail), which must name the rule that acted.
"""

from tickets.services._common import (
    CONFLICT_MESSAGE,
    TicketActionError,
    TicketConflict,
    assignment_label,
    display_name,
    ticket_ensure_unchanged,
)
from tickets.services.alerts import (
    agent_alerts_update,
)
from tickets.services.bulk import (
    ACTION_LABELS,
    BULK_ACTIONS,
    AvailableAction,
    BulkOutcome,
    available_actions,
    tickets_bulk,
)
from tickets.services.checks import (
    LIFECYCLE_MOVES,
    MoveCheck,
    Refusal,
    move_checks,
    move_refusal,
)
from tickets.services.incidents import (
    Audience,
    ReportsResolved,
    incident_audience,
    incident_declare,
    incident_open,
    incident_post_update,
    incident_refusal,
    incident_set_status,
    ticket_link_incident,
    ticket_unlink_incident,
)
from tickets.services.intake import (
    priority_rank_changed,
    requester_get_or_create,
    ticket_create,
    ticket_create_for_contact,
    ticket_update_properties,
)
from tickets.services.merge import (
    MergeNeedsConfirmation,
    MergeOutcome,
    ticket_merge,
)
from tickets.services.moves import (
    ticket_assign,
    ticket_cancel,
    ticket_claim,
    ticket_close,
    ticket_escalate,
    ticket_reopen,
    ticket_request_info,
    ticket_resolve,
    ticket_start_work,
)
from tickets.services.preferences import (
    preferences_set,
    requester_heard_from,
)
from tickets.services.related import (
    ticket_relate,
    ticket_unrelate,
)
from tickets.services.requesters import (
    REQUESTER_CONFIRMED,
    RequesterWrite,
    ticket_confirm_fix,
    ticket_receive_reply,
    ticket_requester_reopen,
)
from tickets.services.thread import (
    ticket_note,
    ticket_reply,
    ticket_system_note,
)
from tickets.services.timers import (
    OVERDUE_LABELS,
    SLA_WATCH,
    OverdueMark,
    ticket_mark_overdue,
    ticket_remind_requester,
    tickets_mark_overdue,
)

__all__ = [
    "preferences_set",
    "requester_heard_from",
    "MergeNeedsConfirmation",
    "MergeOutcome",
    "ticket_merge",
    "ticket_relate",
    "ticket_unrelate",
    "Audience",
    "ReportsResolved",
    "incident_audience",
    "incident_declare",
    "incident_refusal",
    "incident_open",
    "incident_post_update",
    "incident_set_status",
    "ticket_link_incident",
    "ticket_unlink_incident",
    "ACTION_LABELS",
    "LIFECYCLE_MOVES",
    "MoveCheck",
    "Refusal",
    "move_checks",
    "move_refusal",
    "AvailableAction",
    "BULK_ACTIONS",
    "BulkOutcome",
    "CONFLICT_MESSAGE",
    "OVERDUE_LABELS",
    "REQUESTER_CONFIRMED",
    "RequesterWrite",
    "SLA_WATCH",
    "TicketActionError",
    "TicketConflict",
    "agent_alerts_update",
    "assignment_label",
    "available_actions",
    "display_name",
    "requester_get_or_create",
    "ticket_assign",
    "ticket_cancel",
    "ticket_claim",
    "ticket_close",
    "ticket_confirm_fix",
    "ticket_create",
    "ticket_create_for_contact",
    "ticket_ensure_unchanged",
    "ticket_escalate",
    "ticket_mark_overdue",
    "tickets_mark_overdue",
    "OverdueMark",
    "ticket_note",
    "ticket_receive_reply",
    "ticket_remind_requester",
    "ticket_reopen",
    "ticket_reply",
    "ticket_request_info",
    "ticket_requester_reopen",
    "ticket_resolve",
    "ticket_start_work",
    "ticket_system_note",
    "ticket_update_properties",
    "priority_rank_changed",
    "tickets_bulk",
]
