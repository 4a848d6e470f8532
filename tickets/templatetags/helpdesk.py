"""Template helpers shared by the portal, the console and e-mails."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tickets import markup, selectors

register = template.Library()


@register.filter
def mail_html(html: SafeString) -> SafeString:
    """A thread entry's stored HTML (``entry.html``) as an HTML mail shows it."""
    return markup.for_mail(html)


@register.filter
def filesize(size: int) -> str:
    return filesizeformat(size)


def _duration(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


@register.filter
def due_label(when: datetime | None) -> str:
    """ "in 3 h 10 min" or "overdue by 20 min"; empty when there is no due time."""
    if when is None:
        return ""
    seconds = (when - timezone.now()).total_seconds()
    return f"in {_duration(seconds)}" if seconds >= 0 else f"overdue by {_duration(seconds)}"


@register.filter
def ago(when: datetime) -> str:
    """ "2 h 5 min ago", in the due times' units (and without translation lookups, which
    took most of a queue row's time with ``timesince``)."""
    return f"{_duration((timezone.now() - when).total_seconds())} ago"


@register.filter
def is_overdue(when: datetime | None) -> bool:
    return when is not None and when < timezone.now()


@register.filter
def count_label(count: int) -> str:
    """A queue count; above the cap it says "10000+"."""
    cap = selectors.COUNT_CAP
    return f"{cap}+" if count > cap else str(count)


@register.filter
def select_options(choices: Any, selected: Any = None) -> SafeString:
    """A select's ``<option>`` tags, the one whose value is ``selected`` marked so: built in
    Python, as a queue page has a hundred of them and the template language took a tenth of
    the page's time looping over them."""
    chosen = None if selected is None else str(selected)
    html = []
    for value, label in choices:
        value = "" if value is None else str(value)
        mark = " selected" if value == chosen else ""
        html.append(f'<option value="{escape(value)}"{mark}>{escape(label)}</option>')
    return mark_safe("".join(html))  # noqa: S308 (every value and label escaped above)
