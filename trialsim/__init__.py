"""trialsim: a clinical trial design simulator for MRD-eradication trials."""

__version__ = "0.1.0"
