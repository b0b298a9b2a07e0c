"""Schemas (being written)."""
