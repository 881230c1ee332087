"""drivestats: the Backblaze Drive Stats dataset as assets with provenance."""

__version__ = "0.1.0"
