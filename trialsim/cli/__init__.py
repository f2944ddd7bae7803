"""The ``trialsim`` command line (typer): one module per command group.

* ``common``  -- what every command shares: one-line errors with exit status 2,
  reading a scenario, the option checks, the progress bar, ``--format``;
* ``run``     -- ``trialsim run``, ``validate`` and ``schema``;
* ``curves``  -- ``trialsim curves list|fit|plot``;
* ``sweeps``  -- ``trialsim sweep`` and ``trialsim size``;
* ``init``    -- ``trialsim init``: a commented starting scenario;
* ``report``  -- ``trialsim report``;
* ``app``     -- the typer app registering all of them, and the app's ``main``.

The command modules import the heavy parts of trialsim inside the commands, so
that ``trialsim --help`` and ``trialsim validate`` start in a fraction of a second.

:func:`main` (the console script) runs ``trialsim validate FILE`` -- the whole
command line being exactly that -- without typer: the same lines on stdout and
stderr and the same exit status as the typer command (both print what
:func:`trialsim.cli.common.validation` returns), without loading typer and
building every command. Every other command line, ``trialsim validate --help`` and shell
completion included, goes to the typer app, and so does a mistake's message
(:func:`trialsim.cli.common.fail`).

``trialsim validate FILE`` is one short computation after which the process
ends, so it runs with Python's cyclic garbage collector off (reference
counting still frees what it can; the collections would walk, again and
again, the objects of every module just imported, pydantic's above all), and
before exiting freezes what it holds (``gc.freeze``), so that the collection
at interpreter exit does not walk them once more. Both together save about
a tenth of the command's instructions (counted with valgrind); every other
command keeps the collector as Python sets it.

The console script also sets ``PYDANTIC_DISABLE_PLUGINS=__all__`` (pydantic's
documented switch; a value the user has set is kept): trialsim uses no
pydantic plugin, and without the switch pydantic's first model reads the
entry points of every installed package looking for one, a noticeable part
of a command's start-up.

``trialsim.cli.app`` names the typer app (loaded on first use); the module
that builds it is ``sys.modules["trialsim.cli.app"]``.
"""

from __future__ import annotations

import codecs
import errno
import gc
import io
import os
import sys
import types
from pathlib import Path
from typing import NoReturn

__all__ = ["app", "main"]


def main() -> None:
    """The console script: the typer app, or ``trialsim validate FILE`` at once."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")    # no search for pydantic plugins (see above)
    args = sys.argv[1:]
    if _validate_alone(args):
        gc.disable()            # one short computation, then the process ends (see above)
        _validate(args[1])
    # deferred: the typer app imports typer and every command module, which validate alone never needs
    from trialsim.cli.app import main as app_main

    app_main()


def _validate_alone(args: list[str]) -> bool:
    """Is this command line ``validate FILE`` and nothing else, read by typer as
    the validate command with its one argument? (An option, ``--`` or a second
    argument: typer reads it. Shell completion sets a ``_..._COMPLETE``
    variable: typer answers it.)"""
    return (len(args) == 2 and args[0] == "validate" and (args[1] == "-" or not args[1].startswith("-"))
            and os.name != "nt" and not any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ))


def _validate(path: str) -> NoReturn:
    """``trialsim validate PATH`` as typer's standalone mode runs the command:
    exit 0 after the output, the status of ``typer.Exit`` (a user's mistake: 2),
    130 on Ctrl-C, 1 on a closed stdout."""
    # deferred: the scenario model and the plan checks, loaded only once the command line is known
    from trialsim.cli.common import validation

    try:
        try:
            warnings, line = validation(Path(path))
            for warning in warnings:
                _echo(f"warning: {warning}", err=True)
            _echo(line)
        except KeyboardInterrupt:
            sys.exit(130)
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            _quiet_stdout()
            sys.exit(1)
        except Exception as exc:
            # deferred: typer.Exit is what a user's mistake raises (trialsim.cli.common.fail), typer then loaded
            import typer

            if isinstance(exc, typer.Exit):
                sys.exit(exc.exit_code)
            raise
        sys.exit(0)
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_stdout()
        gc.freeze()             # the exit's collection need not walk what the command loaded (see above)


def _quiet_stdout() -> None:
    """:func:`trialsim.processes.quiet_stdout`, for a closed stdout."""
    # deferred: only a closed pipe needs it, and its module loads signal and threading (start-up)
    from trialsim.processes import quiet_stdout

    quiet_stdout()


def _echo(message: str, err: bool = False) -> None:
    """``typer.echo(message, err=err)`` without loading typer: on a text stream
    that typer would write to as it is (not ASCII, which it re-encodes) and a
    message without ANSI codes (which it strips off a terminal), the line,
    flushed; in any other case typer.echo itself."""
    stream = sys.stderr if err else sys.stdout
    if isinstance(stream, io.TextIOWrapper) and "\x1b" not in message and not _ascii(stream.encoding):
        stream.write(message + "\n")
        stream.flush()
        return
    # deferred: typer is loaded only for a stream that it writes to differently
    import typer

    typer.echo(message, err=err)


def _ascii(encoding: str | None) -> bool:
    """The test click's echo makes for a misconfigured stream."""
    try:
        return codecs.lookup(encoding or "ascii").name == "ascii"
    except LookupError:
        return False


class _Package(types.ModuleType):
    """This package, whose ``app`` is the typer app, loaded on first use. The
    import system binds a package's submodule to its name in the package: the
    module ``trialsim.cli.app`` would replace the app under that name, so the
    binding is ignored (the module stays in ``sys.modules``)."""

    @property
    def app(self):
        # deferred: the typer app imports typer and every command module
        from trialsim.cli.app import app

        return app

    @app.setter
    def app(self, value) -> None:
        if not isinstance(value, types.ModuleType):
            raise AttributeError("trialsim.cli.app is the typer app; it cannot be replaced")


sys.modules[__name__].__class__ = _Package
