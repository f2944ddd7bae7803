"""``python -m trialsim``: the ``trialsim`` command, without the console script."""

from trialsim.cli import main

main()
