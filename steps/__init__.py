"""The step library: thin sentences over the DUT adapter and the harness, one module per role or concern.

Every module listed in ``STEP_MODULES`` is loaded as a pytest plugin by the root conftest, so its step
definitions are visible to every scenario. Steps hold no protocol logic; they call the harness and attach
evidence. A step that must await uses ``harness.bdd.loop.sync_step``.
"""

STEP_MODULES: list[str] = ["steps.context", "steps.ota", "steps.gbcs", "steps.hcalcs", "steps.traffic"]

pytest_plugins = STEP_MODULES
