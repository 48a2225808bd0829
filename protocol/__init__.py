"""Fabrica protocol SDK."""
