"""Root pytest configuration: the harness plugin and the step library.

Step modules are registered for assert rewriting *before* they are imported, so a failing assertion in a
step shows what was compared (pytest only rewrites modules it was told about in advance).
"""

import pytest

pytest.register_assert_rewrite("steps")

pytest_plugins = ["harness.pytest_plugin", "steps"]
