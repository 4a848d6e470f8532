"""The admin of webhooks and their deliveries (being written)."""
