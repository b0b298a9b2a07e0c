"""Private lazy-plan builders: the hot path. Inputs are trusted (validated by callers)."""
