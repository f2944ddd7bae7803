"""trialsim's version: the one place it is written (pyproject.toml reads it
from here). Modules that record it (provenance, report headers, written
curves) import it from this module, which imports nothing."""

__version__ = "0.2.0"
