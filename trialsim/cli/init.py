"""`trialsim init`: a commented starting scenario, from a template or from a
few questions (conventional or screening; ctDNA or bone marrow; MRD
prevalence known or following from the recurrence curve).

The pieces live in trialsim/data/templates/: a conventional design, and a
screening design whose strata, MRD block and screening test are filled in
from the answers. Every piece carries the comments that say where its
numbers come from, so the written file starts a design, not a guess.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from trialsim.cli.common import out_path, examples, fail
from trialsim.scenario import Scenario, ScenarioError, parse_yaml

TEMPLATES = Path(__file__).resolve().parents[1] / "data" / "templates"


class Template(str, Enum):
    conventional = "conventional"
    ctdna = "ctdna"
    marrow = "marrow"


class Assay(str, Enum):
    ctdna = "ctdna"
    marrow = "marrow"


class MrdSource(str, Enum):
    prevalence = "prevalence"
    reference = "reference"


_SCREENING = {
    Assay.ctdna: ("serial ctDNA surveillance",
                  "ER-positive survivors 5-10 years from diagnosis, screened with a tumour-informed ctDNA assay every "
                  "6 months; ctDNA-positive women without visible metastases are randomised 1:1."),
    Assay.marrow: ("bone-marrow DTC screening",
                   "Survivors 1-2 years from diagnosis have one bone-marrow aspirate; DTC-positive women without "
                   "visible metastases are randomised 1:1."),
}


def _piece(name: str) -> str:
    return (TEMPLATES / f"{name}.yaml").read_text(encoding="utf-8").rstrip("\n")


def scenario_text(design: str, assay: Assay | None = None, mrd: MrdSource | None = None) -> str:
    """The text of a starting scenario: ``design`` is 'conventional' or
    'screening'; a screening design needs the assay and where MRD comes from."""
    if design == "conventional":
        return _piece("conventional") + "\n"
    assay = assay or Assay.ctdna
    mrd = mrd or (MrdSource.reference if assay is Assay.ctdna else MrdSource.prevalence)
    name, description = _SCREENING[assay]
    text = _piece("screening")
    for marker, value in (("@NAME@", name), ("@DESCRIPTION@", description),
                          ("@STRATA@", _piece(f"strata_{assay.value}")),
                          ("@MRD@", _piece("mrd_lead_time" if mrd is MrdSource.reference else "mrd_prevalence")),
                          ("@SCREENING@", _piece(f"test_{assay.value}"))):
        text = text.replace(marker, value)
    return text + "\n"


def template_text(template: Template) -> str:
    """The starting scenario of a named template."""
    if template is Template.conventional:
        return scenario_text("conventional")
    assay = Assay(template.value)
    return scenario_text("screening", assay, MrdSource.reference if assay is Assay.ctdna else MrdSource.prevalence)


def _choose(question: str, choices: list[str], default: str) -> str:
    """Ask until the answer is one of ``choices`` (three tries)."""
    for _ in range(3):
        answer = typer.prompt(f"{question} [{'/'.join(choices)}]", default=default).strip().lower()
        if answer in choices:
            return answer
        typer.echo(f"answer one of: {', '.join(choices)}", err=True)
    fail(f"no valid answer to: {question}")


def _ask() -> str:
    """The few questions that decide a starting scenario."""
    try:
        design = _choose("Design: every accrued patient randomised (conventional), or survivors screened for MRD "
                         "(screening)?", ["conventional", "screening"], "screening")
        if design == "conventional":
            return scenario_text("conventional")
        assay = _choose("Assay: blood ctDNA (ctdna) or bone-marrow DTC (marrow)?", [a.value for a in Assay], "ctdna")
        mrd = _choose("MRD: a known prevalence at entry (prevalence), or detectable for a lead time before "
                      "recurrence, following from the recurrence curve (reference)?", [m.value for m in MrdSource],
                      "reference" if assay == "ctdna" else "prevalence")
    except typer.Abort:
        fail("no answer on standard input: give --template conventional|ctdna|marrow to write a scenario "
             "without questions")
    return scenario_text("screening", Assay(assay), MrdSource(mrd))


def init(
    template: Optional[Template] = typer.Option(
        None, "--template", "-t", metavar="NAME",
        help="conventional, ctdna or marrow: write that starting scenario without asking."),
    out: Path = typer.Option(Path("scenario.yaml"), "--out", "-o", parser=out_path, help="The file to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
):
    """Write a commented starting scenario, from a template or a few questions."""
    if out.exists() and not force:
        fail(f"{out} exists; choose another --out, or --force to overwrite it")
    if out.is_dir():
        fail(f"{out} is a folder; --out names the scenario file to write")
    text = template_text(template) if template is not None else _ask()
    # The written file must load: a template that does not is trialsim's bug, not the user's.
    data, lines = parse_yaml(text, str(out))
    try:
        Scenario.from_dict(data, source=str(out), lines=lines)
    except ScenarioError as exc:   # pragma: no cover - guarded by the tests of every template
        raise RuntimeError(f"trialsim's starting scenario does not validate: {exc}") from None
    from trialsim.atomic import write_atomic  # deferred: only init writes here; keeps --help light

    write_atomic(out, text)
    typer.echo(f"wrote {out}: check it with `trialsim validate {out}`, then run it with `trialsim run {out}`")


INIT_EXAMPLES = examples("trialsim init", "trialsim init --template ctdna --out my_trial.yaml")
