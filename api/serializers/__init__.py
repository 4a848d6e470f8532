"""The API's serializers: how a ticket, its thread and the configuration are shown
(``tickets``, ``config``) and what the endpoints accept (``inputs``)."""
