"""The SLA clock (business hours, targets, pauses) and the periodic jobs that watch it:
the SLA watch and the lifecycle timers, with their Celery task."""
