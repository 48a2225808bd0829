"""Fabrica subnet validator: task generation, scoring and weights."""
