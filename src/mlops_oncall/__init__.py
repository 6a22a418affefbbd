"""mlops-oncall: a terminal incident console for machine-learning systems."""

__version__ = "0.1.0"
