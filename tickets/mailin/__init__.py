"""Mail in: storing, reading and threading incoming messages (pipe and IMAP), with the
per-sender caps, quote stripping, and the IMAP poll task."""
