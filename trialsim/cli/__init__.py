"""The ``trialsim`` command line (typer): one module per command group.

* ``common``  -- what every command shares: one-line errors with exit status 2,
  reading a scenario, the option checks, the progress bar, ``--format``;
* ``run``     -- ``trialsim run``, ``validate`` and ``schema``;
* ``curves``  -- ``trialsim curves list|fit|plot``;
* ``sweeps``  -- ``trialsim sweep`` and ``trialsim size``;
* ``init``    -- ``trialsim init``: a commented starting scenario;
* ``report``  -- ``trialsim report``;
* ``app``     -- the typer app registering all of them, and ``main`` (the console script).

The command modules import the heavy parts of trialsim inside the commands, so
that ``trialsim --help`` and ``trialsim validate`` start in a fraction of a second.

Note that ``trialsim.cli.app`` names the typer app re-exported here; the module
that builds it is ``sys.modules["trialsim.cli.app"]``.
"""

from trialsim.cli.app import app, main

__all__ = ["app", "main"]
