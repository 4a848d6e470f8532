"""Mail out: what the help desk mails and to whom (``notifications``), the Message-IDs that
thread replies back (``mailids``), and the Celery tasks that deliver it (``tasks``)."""
