"""Template helpers shared by the portal, the console and e-mails."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from tickets import locales, markup, selectors

register = template.Library()


@register.filter
def mail_html(html: SafeString) -> SafeString:
    """A thread entry's stored HTML (``entry.html``) as an HTML mail shows it."""
    return markup.for_mail(html)


@register.filter
def in_sentence(label: Any) -> str:
    """A state's name inside a sentence: lower case, except where nouns keep their capital."""
    return locales.in_sentence(label)


@register.filter
def filesize(size: int) -> str:
    return filesizeformat(size)


def _duration(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        # Translators: a duration in days and hours, e.g. "2 d 5 h" (short units).
        return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        # Translators: a duration in hours and minutes, e.g. "3 h 10 min" (short units).
        return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    # Translators: a duration in minutes, e.g. "20 min" (short unit).
    return gettext("%(minutes)d min") % {"minutes": minutes}


@register.filter
def due_label(when: datetime | None) -> str:
    """ "in 3 h 10 min" or "overdue by 20 min"; empty when there is no due time."""
    if when is None:
        return ""
    seconds = (when - timezone.now()).total_seconds()
    if seconds >= 0:
        # Translators: when a ticket is due, e.g. "in 3 h 10 min".
        return gettext("in %(duration)s") % {"duration": _duration(seconds)}
    # Translators: how late a ticket is, e.g. "overdue by 20 min".
    return gettext("overdue by %(duration)s") % {"duration": _duration(seconds)}


@register.filter
def ago(when: datetime) -> str:
    """ "2 h 5 min ago", in the due times' units (and with plain catalogue lookups rather than
    ``timesince``, which took most of a queue row's time)."""
    # Translators: how long ago something happened, e.g. "2 h 5 min ago".
    return gettext("%(duration)s ago") % {"duration": _duration((timezone.now() - when).total_seconds())}


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
