"""`trialsim curves ...`: the survival curves shipped with trialsim."""

from __future__ import annotations

import typer

curves_app = typer.Typer(no_args_is_help=True, help="Survival curves: reference curves, fitting, plots.")


@curves_app.command("list")
def curves_list():
    """List the reference curves shipped with trialsim, with their sources."""
    from trialsim import curves

    for name, ref in curves.REFERENCES.items():
        typer.echo(f"{name:<20} {ref.curve.describe()}")
        typer.echo(f"{'':<20} source: {ref.source}")


def register(app: typer.Typer) -> None:
    app.add_typer(curves_app, name="curves")
