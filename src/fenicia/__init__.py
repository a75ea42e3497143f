"""Fenicia: multichannel order and inventory sync hub."""

__version__ = "0.1.0"
