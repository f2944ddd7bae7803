"""The report's one error: a user's input to a report is wrong.

The command line turns it into one line on stderr and exit code 2, as it does
for a :class:`~trialsim.scenario.ScenarioError`.
"""

from __future__ import annotations


class ReportError(ValueError):
    """A user's input to a report is wrong (unreadable or foreign sweep, bad option)."""
