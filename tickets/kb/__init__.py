"""The knowledge base: which articles whom may read and find (``selectors``), and what reading,
voting and deflecting count (``services``). The models are in ``tickets.models.kb``."""
