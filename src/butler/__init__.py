"""Butler: a self-hosted AI butler for a household."""

__version__ = "0.1.0"
