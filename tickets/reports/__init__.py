"""Lifecycle analytics for supervisors: figures computed from the transition log in one place
(``figures``, ``sla``), a ticket's timeline (``history``), safe CSV (``csvexport``), and the
values they return (``types``). Read-only: nothing here writes a ticket."""
