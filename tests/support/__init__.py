"""Helpers shared by several test files: reference implementations, data
generators and golden-file readers (fixtures live in tests/conftest.py)."""
