"""Time the knowledge base's suggestions (tickets.kb.selectors.suggest) beside the floor.

    createdb -h 127.0.0.1 -U postgres helpdesk_bench_kb
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench_kb DEBUG=1 \\
    HELPDESK_VAR_DIR=/tmp/benchvar .venv/bin/python bench/kb.py [--articles 10000] [--runs 20]

Migrates, loads the lab's configuration (its five articles), replaces the bench's articles
with ``--articles`` generated ones (bulk_create: 90% published and public; titles of 4-8 words,
bodies of 80-250, a word in seven from 84 help-desk words such as "password" and "reset", the
rest from 3,000 made-up ones, so each of the 84 is in about one article in four; "kiosk" ends
a fifth of the bodies and is in no title), one or two of the lab's topics each, then VACUUM
ANALYZE. In this process, with DEBUG off and the bench's URLconf: the floor view (2 queries and
a template, bench/benchurls.py) as john, ``suggest()`` for a few texts under the "Password
Reset" topic, ``search()`` for two, and the portal's suggestions fragment as Karen when the
portal has one. Each: a warm-up, one call with its queries counted, ``--runs`` timed calls;
prints the medians (and the slowest) in Markdown, each as a ratio to the floor's median (of
the floor's runs before and after).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import django

ROOT = Path(os.environ.get("BENCH_SRC") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402

from tickets import lab as lab_data  # noqa: E402
from tickets.kb import selectors as kb  # noqa: E402
from tickets.models import Article, ArticleDay, HelpTopic  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

BENCH_SETTINGS = {"DEBUG": False, "ROOT_URLCONF": "benchurls", "ALLOWED_HOSTS": ["testserver"]}
_WORDS = """
password reset login account locked email mailbox printer driver scanner laptop monitor keyboard
mouse headset phone mobile banking online payment transfer card statement branch vpn network wifi
connection certificate browser cache cookie update install software licence backup restore file
folder share drive permission access request approval manager equipment order delivery invoice
outage incident status page error message timeout slow crash freeze screen display battery charger
dock cable meeting calendar room booking teams chat video camera microphone sound security
phishing spam virus token authenticator code
"""
HELPDESK_WORDS = _WORDS.split()
# In a fifth of the bodies and no title: the suggestions' slowest case, where the titles give
# nothing and the body tier sorts every article that holds it.
BODY_ONLY_WORD = "kiosk"
TEXTS = {
    "the issue's text": "password reset",
    "a word in 1,800 bodies, no title": BODY_ONLY_WORD,
    "one word, as typed": "passw",
    "a subject and a description": (
        "Cannot log in to online banking: I forgot my password and the reset mail never arrives, "
        "the account says locked"
    ),
}


def made_up_words(rng: random.Random, count: int) -> list[str]:
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < count:
        syllables = rng.randint(2, 4)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    return sorted(words)


def text(rng: random.Random, vocabulary: list[str], low: int, high: int) -> str:
    return " ".join(
        rng.choice(HELPDESK_WORDS) if rng.random() < 1 / 7 else rng.choice(vocabulary)
        for _ in range(rng.randint(low, high))
    )


def seed_articles(count: int) -> None:
    rng = random.Random(18)  # noqa: S311 - the same articles every run
    vocabulary = made_up_words(rng, 3000)
    topics = list(HelpTopic.objects.values_list("pk", flat=True))
    with transaction.atomic():
        # The lab's own articles stay ("Reset your password" among them).
        ArticleDay.objects.filter(article__slug__startswith="bench-").delete()
        Article.objects.filter(slug__startswith="bench-").delete()
        articles = []
        for n in range(count):
            title = text(rng, vocabulary, 4, 8).capitalize()
            ending = f" {BODY_ONLY_WORD}." if rng.random() < 0.2 else "."
            roll = rng.random()
            articles.append(
                Article(
                    title=title,
                    slug=f"bench-{n}",
                    body=text(rng, vocabulary, 80, 250) + ending,
                    status=Article.Status.DRAFT if roll < 0.05 else Article.Status.PUBLISHED,
                    audience=Article.Audience.AGENTS if 0.05 <= roll < 0.10 else Article.Audience.PUBLIC,
                )
            )
        Article.objects.bulk_create(articles, batch_size=2000)
        through = Article.help_topics.through
        filed = [
            through(article_id=article.pk, helptopic_id=topic)
            for article in articles
            for topic in rng.sample(topics, rng.randint(1, 2))
        ]
        through.objects.bulk_create(filed, batch_size=5000)
    # As autovacuum would after such a load: the dead rows of the last seed gone, the GIN
    # indexes' pending entries merged, the statistics fresh.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tickets_article")
        cursor.execute("VACUUM ANALYZE tickets_article_help_topics")


def timed(call: Callable[[], object], runs: int) -> tuple[list[float], int]:
    call()  # warm-up: the cache, the connection, the first plan
    # Counted by a wrapper: a request clears the query log CaptureQueriesContext reads.
    made: list[str] = []

    def count(execute: Callable[..., object], sql: str, *args: object) -> object:
        made.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(count):
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times, len(made)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-seed", action="store_true", help="measure the articles as they are")
    args = parser.parse_args()
    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or "bench" not in name:
        sys.exit("bench/kb.py needs a PostgreSQL database whose name contains 'bench' (DATABASE_URL).")
    call_command("migrate", verbosity=0)
    lab = lab_data.load_configuration()
    if not args.no_seed:
        seed_articles(args.articles)
    topic = lab.topic("Password Reset").pk
    published = kb.public_articles().count()
    rows: list[tuple[str, list[float], int, int | None]] = []
    with override_settings(**BENCH_SETTINGS):
        john, karen = Client(), Client()
        john.force_login(lab.john)
        karen.force_login(lab.karen)
        floor = reverse("bench-floor")
        rows.append(("floor view (john)", *timed(lambda: john.get(floor), args.runs), None))
        for label, words in TEXTS.items():
            found = len(kb.suggest(words, topic))
            times, queries = timed(lambda words=words: kb.suggest(words, topic), args.runs)
            rows.append((f'suggest("{words[:40]}", topic): {label}', times, queries, found))
        for words in ("password", "printer driver"):
            found = len(kb.search(words))
            times, queries = timed(lambda words=words: kb.search(words), args.runs)
            rows.append((f'search("{words}"), the portal\'s 20', times, queries, found))
        try:
            page = reverse("portal:help_suggest")
        except NoReverseMatch:
            page = ""
        if page:
            query = {"help_topic": topic, "subject": TEXTS["the issue's text"]}
            times, queries = timed(lambda: karen.get(page, query), args.runs)
            rows.append(("portal suggestions fragment (karen)", times, queries, None))
        rows.append(("floor view again (john)", *timed(lambda: john.get(floor), args.runs), None))
    floor_median = statistics.median(rows[0][1] + rows[-1][1])
    print(f"{args.articles:,} articles ({published:,} published and public), {args.runs} runs each; "
          f"floor median {floor_median:.2f} ms\n")
    print("| what | queries | found | median ms | slowest ms | × floor |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, times, queries, found in rows:
        median = statistics.median(times)
        shown = "" if found is None else str(found)
        ratio = median / floor_median
        print(f"| {label} | {queries} | {shown} | {median:.2f} | {max(times):.2f} | {ratio:.1f} |")


if __name__ == "__main__":
    main()
