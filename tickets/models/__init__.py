"""The help desk's domain models, one module per concern: configuration (``config``), the ticket
and its state machine (``ticket``), its thread and transition log (``thread``), routing rules and
timers (``routing``), mail in (``mail``), API keys and webhooks (``integrations``). Every
model is importable from here.

The lifecycle (docs/lifecycle.md) lives on ``Ticket``: every stage is a value of ``state``
and every move is a ``django_fsm`` transition. Transition methods change only the
ticket's own fields; the services in ``tickets.services`` run them, save, log and notify.
"""

from tickets.models.config import (
    AgentProfile,
    BusinessHours,
    BusinessHoursWindow,
    CannedResponse,
    Department,
    HelpTopic,
    Holiday,
    Priority,
    SLAPlan,
    SLATarget,
    Team,
    display_name,
)
from tickets.models.integrations import (
    ApiKey,
    IdempotencyRecord,
    Webhook,
    WebhookDelivery,
)
from tickets.models.kb import (
    Article,
    ArticleDay,
)
from tickets.models.mail import (
    InboundMessage,
    Mailbox,
)
from tickets.models.reports import ReportSnapshot
from tickets.models.requester import Requester
from tickets.models.routing import (
    LifecycleTimers,
    RoutingCondition,
    RoutingRule,
)
from tickets.models.thread import (
    Attachment,
    RelatedLink,
    ThreadEntry,
    TicketContact,
    TicketTransition,
    _attachment_path,
)
from tickets.models.ticket import (
    ACTIVE_STATES,
    NO_PRIORITY_RANK,
    PUBLIC_STAGE_LABELS,
    State,
    Ticket,
)

# _attachment_path: migration 0001 names it as tickets.models._attachment_path.
__all__ = [
    "ACTIVE_STATES",
    "NO_PRIORITY_RANK",
    "AgentProfile",
    "ApiKey",
    "Article",
    "ArticleDay",
    "Attachment",
    "RelatedLink",
    "BusinessHours",
    "BusinessHoursWindow",
    "CannedResponse",
    "Department",
    "HelpTopic",
    "Holiday",
    "IdempotencyRecord",
    "InboundMessage",
    "LifecycleTimers",
    "Mailbox",
    "PUBLIC_STAGE_LABELS",
    "Priority",
    "ReportSnapshot",
    "Requester",
    "RoutingCondition",
    "RoutingRule",
    "SLAPlan",
    "SLATarget",
    "State",
    "Team",
    "ThreadEntry",
    "Ticket",
    "TicketContact",
    "TicketTransition",
    "Webhook",
    "WebhookDelivery",
    "_attachment_path",
    "display_name",
]
