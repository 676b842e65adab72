"""labelbench: label curation and active learning for sparse-positive countries."""

__version__ = "0.1.0"
