"""evidence-kg: a knowledge graph of clinical-study evidence, built from curated sources of a review."""

__version__ = "0.1.0"
