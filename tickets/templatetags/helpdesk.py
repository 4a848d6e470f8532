"""Template helpers shared by the portal, the console and e-mails."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import filesizeformat

from tickets.markup import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """A message body as sanitized HTML."""
    return render_markdown(text)


@register.filter
def filesize(size: int) -> str:
    return filesizeformat(size)
