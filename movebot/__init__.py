"""movebot: keeps a moving desk's Google Sheet honest."""

__version__ = "0.1.0"
