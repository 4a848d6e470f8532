"""The admin of API keys (being written)."""
