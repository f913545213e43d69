"""sia-audit: a model-audit CI gate built on Semantic Image Attack (SIA)."""

__version__ = "0.1.0"
