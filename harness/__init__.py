"""Conformance harness for GB smart-metering HAN firmware updates (SECMP0007).

The library behind the Gherkin features: OTA image toolkit, crypto and key stores, clock, verdicts,
DUT profiles, reports and the command line. See README.md for the layout.
"""

__version__ = "0.1.0"

from harness import lazy_imports  # before anything imports zigpy (see the module)

lazy_imports.install()
