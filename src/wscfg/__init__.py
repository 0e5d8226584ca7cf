"""wscfg: config-as-code for SaaS workspace settings."""

__version__ = "0.1.0"
