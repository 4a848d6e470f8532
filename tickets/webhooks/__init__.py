"""Outgoing webhooks: what a ticket event sends (``payload``), when (``events``, on commit),
how it is signed (``signing``), the guarded HTTP POST (``delivery``), the delivery task with its
retries (``tasks``), and the admin's actions on hooks and deliveries (``actions``)."""
