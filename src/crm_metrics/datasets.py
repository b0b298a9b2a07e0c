"""Seeded synthetic data for every table (being written)."""
