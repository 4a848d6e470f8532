"""The console's search: full-text on PostgreSQL (over GIN indexes), substrings on SQLite."""

import pytest
from django.db import connection

from tickets import selectors, services
from tickets.selectors import QueueFilters


def _numbers(user, text):
    return {t.number for t in selectors.ticket_queue(user, filters=QueueFilters(search=text))}


@pytest.fixture
def tickets(lab, new_ticket):
    printer = new_ticket(subject="Printer jams on the third floor", body="Paper everywhere.")
    vpn = new_ticket(subject="VPN drops every hour", body="The tunnel resets at minute 59.")
    services.ticket_assign(ticket=vpn, actor=lab.john, agent=lab.john)
    services.ticket_note(ticket=vpn, actor=lab.john, body="Firmware zanzibar-7 is suspect.")
    return printer, vpn


def test_search_finds_number_subject_requester_and_thread_text(lab, tickets):
    printer, vpn = tickets
    assert _numbers(lab.john, printer.number) == {printer.number}
    assert _numbers(lab.john, f"#{vpn.number}") == {vpn.number}
    assert _numbers(lab.john, "printer") == {printer.number}
    assert _numbers(lab.john, "tunnel") == {vpn.number}
    assert _numbers(lab.john, "zanzibar") == {vpn.number}  # internal notes: agents search them
    assert _numbers(lab.john, "karen@example.com") == {printer.number, vpn.number}
    assert _numbers(lab.john, "nothing-like-this") == set()


def test_a_requester_is_found_by_name_and_by_address_in_any_case(lab, tickets, new_ticket):
    printer, vpn = tickets
    gus = services.requester_get_or_create(email="Gus.Grant@Example.org", name="Gus Grant")
    his = new_ticket(subject="Monitor flickers", requester=gus)
    assert _numbers(lab.john, "Karen") == {printer.number, vpn.number}
    assert _numbers(lab.john, "grant") == {his.number}
    assert _numbers(lab.john, "KAREN@EXAMPLE.COM") == {printer.number, vpn.number}
    assert _numbers(lab.john, "gus.grant@example.org") == {his.number}


def test_search_never_reaches_beyond_what_the_agent_sees(lab, tickets, stranger):
    assert _numbers(stranger, "printer") == set()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search is PostgreSQL's")
def test_on_postgresql_the_search_uses_full_text_indexes(lab, tickets):
    sql = str(selectors.ticket_queue(lab.john, filters=QueueFilters(search="printer")).query)
    assert "to_tsvector" in sql and "websearch_to_tsquery" in sql
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes"
            " WHERE indexname IN ('ticket_subject_fts', 'thread_body_fts', 'requester_name_fts')"
        )
        found = {row[0] for row in cursor.fetchall()}
        assert found == {"ticket_subject_fts", "thread_body_fts", "requester_name_fts"}
