"""No user-facing string outside the translation machinery (docs/i18n.md).

The catalogue test (test_catalogues.py) sees only what is marked for translation; these read the
templates and the Python code for what a person reads but nobody marked: text between tags, the
attributes a person reads or hears (title, placeholder, aria-label, alt), messages, errors,
labels, verbose names and choices given as plain strings.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.conf import settings
from django.template.base import Lexer, TokenType

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "templates"
# Templates that are not ours to translate: the API's documentation page (Swagger UI's own).
NOT_TRANSLATED_TEMPLATES = {"drf_spectacular/swagger_ui.html"}
# Words that are the same in every shipped language (names and abbreviations).
SAME_IN_EVERY_LANGUAGE = {"SLA", "API", "CSV", "JSON", "URL", "ID", "Markdown", "HTML", "OK", "IP", "UTC"}
WORD = re.compile(r"[^\W\d_]{2,}")
READ_ATTRIBUTES = re.compile(r'\b(?:title|placeholder|aria-label|alt|aria-description)="([^"]*)"')
# A button's text: the value of an input of type submit or button.
BUTTONS = re.compile(r"<input\b[^>]*>", re.S)
BUTTON_VALUE = re.compile(r'\bvalue="([^"]*)"')
NOT_TEXT = re.compile(r"<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->|&\w+;|&#\w+;", re.S)
TAG = re.compile(r"<[^>]*>", re.S)
# Stand-in for whatever a variable or tag renders: it is never a word.
RENDERED = "\x00"


def _words(text: str) -> list[str]:
    return [word for word in WORD.findall(text.replace(RENDERED, " ")) if word not in SAME_IN_EVERY_LANGUAGE]


def untranslated_template_text(source: str) -> list[str]:
    """The words of a template a person reads that no {% translate %} or
    {% blocktranslate %} holds."""
    outside = []
    inside = 0  # blocktranslate, comment or verbatim blocks open
    blocks = []  # per open {% block %}: whether it fills an attribute (body_class...): CSS classes
    for token in Lexer(source).tokenize():
        bits = token.contents.split() if token.token_type == TokenType.BLOCK else []
        name = bits[0] if bits else ""
        if name in ("blocktranslate", "blocktrans", "comment", "verbatim"):
            inside += 1
        elif name in ("endblocktranslate", "endblocktrans", "endcomment", "endverbatim"):
            inside -= 1
        elif name == "block":
            blocks.append(len(bits) > 1 and "class" in bits[1])
        elif name == "endblock" and blocks:
            blocks.pop()
        if token.token_type == TokenType.TEXT and not inside and not any(blocks):
            outside.append(token.contents)
        elif token.token_type in (TokenType.VAR, TokenType.BLOCK):
            outside.append(RENDERED)
    text = NOT_TEXT.sub(" ", "".join(outside))
    found = [word for value in READ_ATTRIBUTES.findall(text) for word in _words(value)]
    for button in BUTTONS.findall(text):
        if re.search(r'type="(?:submit|button|reset)"', button):
            found += [word for value in BUTTON_VALUE.findall(button) for word in _words(value)]
    return found + _words(TAG.sub(" ", text))


def test_the_check_finds_what_it_should():
    page = '{% load i18n %}<h1 title="Tickets">Hello</h1>{% translate "Fine" %}<p>{{ x }}: SLA</p>'
    assert untranslated_template_text(page) == ["Tickets", "Hello"]
    assert untranslated_template_text('<input type="submit" value="Send it">') == ["Send", "it"]
    assert untranslated_template_text('<input type="hidden" name="a" value="fine">') == []
    marked = '{% blocktranslate trimmed %}All <b>fine</b>{% endblocktranslate %}<script>var a;</script>'
    assert untranslated_template_text(marked) == []


def test_every_template_translates_what_it_shows():
    unmarked = {}
    for path in sorted(TEMPLATES.rglob("*")):
        name = path.relative_to(TEMPLATES).as_posix()
        if path.suffix not in (".html", ".txt") or name in NOT_TRANSLATED_TEMPLATES:
            continue
        words = untranslated_template_text(path.read_text())
        if words:
            unmarked[name] = words[:8]
    assert not unmarked, f"{len(unmarked)} templates show text outside {{% translate %}}: {unmarked}"


# -- Python ---------------------------------------------------------------------------------------

PACKAGES = ["tickets", "portal", "agents", "api", "helpdesk"]
# Code that writes no text a person reads in the product: the demo's data (stored content,
# not interface), management commands (an operator's terminal), migrations.
NOT_INTERFACE = ("migrations", "management", "lab.py", "lab_incident.py")
MESSAGE_CALLS = {"success", "error", "info", "warning", "add_message"}
ERRORS = {"ValidationError", "TicketActionError", "TicketConflict"}
TEXT_KEYWORDS = {
    "label",
    "help_text",
    "verbose_name",
    "verbose_name_plural",
    "empty_label",
    "description",
    "short_description",
}
CHOICES = {"TextChoices", "IntegerChoices", "Choices"}
# Module constants that are sentences but no interface: stored as a record (the transition
# log's rule names, an entry's text written once), or the API schema's documentation.
RECORDS_AND_DOCS = {
    "REQUESTER_CONFIRMED",
    "EMAIL_RULE",
    "NO_TEXT",
    "REMINDER_TIMER",
    "EXPIRY_TIMER",
    "LINK_RULE",
    "ALLOWED_HELP",
}


def _plain_text(node: ast.AST | None) -> bool:
    """A string literal or f-string with words in it, rather than a translation call."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORD.search(node.value))
    return isinstance(node, ast.JoinedStr)


def _name(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def _sentence_constants(tree: ast.Module) -> list[tuple[int, str]]:
    """Module constants holding a sentence (three words or more) as a plain string."""
    found = []
    for statement in tree.body:
        target = statement.targets[0] if isinstance(statement, ast.Assign) else None
        target = getattr(statement, "target", target)
        value = getattr(statement, "value", None)
        if (
            isinstance(target, ast.Name)
            and target.id.isupper()
            and target.id not in RECORDS_AND_DOCS
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and sum(bool(WORD.fullmatch(word.strip(".,:;()“”"))) for word in value.value.split()) >= 3
        ):
            found.append((statement.lineno, ast.unparse(value)[:60]))
    return found


FIELD = re.compile(r"^(models\.\w*(Field|ForeignKey|OneToOneField|ManyToManyField)|FSMField)$")
RELATION = re.compile(r"(ForeignKey|OneToOneField|ManyToManyField)$")


def _unnamed_fields(tree: ast.Module) -> list[tuple[int, str]]:
    """A model's fields without a verbose name: the admin would show the English field name."""
    found = []
    for model in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        for statement in model.body:
            call = statement.value if isinstance(statement, ast.Assign) else None
            if not isinstance(call, ast.Call) or not FIELD.match(ast.unparse(call.func)):
                continue
            named = any(keyword.arg == "verbose_name" for keyword in call.keywords) or (
                len(call.args) >= (2 if RELATION.search(ast.unparse(call.func)) else 1)
            )
            if not named:
                found.append((statement.lineno, f"{ast.unparse(statement.targets[0])}: no verbose_name"))
    return found


def untranslated_python_text(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    found = _sentence_constants(tree) + _unnamed_fields(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = _name(node.func)
            owner = _name(node.func.value) if isinstance(node.func, ast.Attribute) else ""
            if owner == "messages" and called in MESSAGE_CALLS and len(node.args) >= 2:
                texts = [node.args[-1] if called != "add_message" else node.args[2]]
            elif called in ERRORS:
                texts = node.args[:1]
            elif owner == "models" and called.endswith("Field") and node.args:
                texts = node.args[:1]  # a field's verbose name
            else:
                texts = []
            texts += [keyword.value for keyword in node.keywords if keyword.arg in TEXT_KEYWORDS]
            found += [(text.lineno, ast.unparse(text)[:60]) for text in texts if _plain_text(text)]
        elif isinstance(node, ast.ClassDef) and {_name(base) for base in node.bases} & CHOICES:
            for statement in node.body:
                if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Tuple):
                    label = statement.value.elts[-1]
                    if len(statement.value.elts) > 1 and _plain_text(label):
                        found.append((statement.lineno, ast.unparse(label)[:60]))
    return sorted(found)


def test_the_python_check_finds_what_it_should():
    code = """
messages.success(request, "Saved.")
messages.error(request, _("Fine."))
raise TicketActionError(f"No {thing}.")
name = models.CharField("name", max_length=3)
form = forms.CharField(label="Subject", help_text=gettext_lazy("Fine"))
class State(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", _("Open")
DEFAULT_STATUS = "We are working on it."
FINE = _("We are working on it.")
class Ticket(models.Model):
    subject = models.CharField(max_length=255)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, verbose_name=_("team"))
"""
    assert [text for _, text in untranslated_python_text(code)] == [
        "'Saved.'",
        "f'No {thing}.'",
        "'name'",
        "'Subject'",
        "'New'",
        "'We are working on it.'",
        "subject: no verbose_name",
    ]


def _schema_text(path: Path, line: int) -> bool:
    """Whether the line gives a help text or description of the API's schema (documentation
    for developers, in English like the rest of docs/api.md)."""
    text = path.read_text().splitlines()[line - 1]
    return "help_text=" in text or "description=" in text


def test_every_module_translates_what_people_read():
    unmarked = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if any(part in relative.split("/") for part in NOT_INTERFACE):
                continue
            found = untranslated_python_text(path.read_text())
            if package == "api":  # its help texts and descriptions are the OpenAPI schema's: English
                found = [(line, text) for line, text in found if not _schema_text(path, line)]
            if found:
                unmarked[relative] = found[:5]
    assert not unmarked, f"{len(unmarked)} modules with text outside the translation functions: {unmarked}"
