"""The learning tests' fixtures (tests/services/learning_support.py), offered to every module in this folder."""

from tests.services.learning_support import base_kb, own_tokenizer, rig, token_cache

__all__ = ["base_kb", "own_tokenizer", "rig", "token_cache"]
