"""The sweep's own exceptions, in one place so that every part raises the same.

A ``SweepError`` is a user's mistake (a bad ``--vary``, a checkpoint of
another run, a target no design reaches), not a bug: the CLI prints its
message and exits 2. It is a ``ValueError`` so that callers that treat bad
input generically (``except ValueError``) keep catching it.
"""

from __future__ import annotations


class SweepError(ValueError):
    """A user's mistake in a sweep or a search (a bad --vary, a checkpoint that
    does not match, a target no design reaches); the CLI exits 2 with it."""


class TargetNotReached(SweepError):
    """No value of the solved path reaches the target power."""
