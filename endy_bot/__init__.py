"""Endy (엔디): the Korean employee copilot in Slack."""

__version__ = "0.1.0"
