"""Requirements: the packaged catalogue of testable requirements and the feature-tag convention.

See ``harness.requirements.catalogue`` for the fields, the tags (``@req:``, ``@pics:``, ``@spec:``,
``@assumption``) and the rules the feature lint enforces.
"""

from harness.requirements.catalogue import (
    Binds,
    Catalogue,
    CatalogueError,
    Confidence,
    Device,
    FeatureProblem,
    Requirement,
    Role,
    ScenarioTags,
    Source,
    Verification,
    lint_feature_file,
    lint_features,
    lint_step_declarations,
    load_catalogue,
    parse_catalogue,
    parse_tags,
    requirement_ids_from_tags,
    source_keys,
)

__all__ = [
    "Binds",
    "Catalogue",
    "CatalogueError",
    "Confidence",
    "Device",
    "FeatureProblem",
    "Requirement",
    "Role",
    "ScenarioTags",
    "Source",
    "Verification",
    "lint_feature_file",
    "lint_features",
    "lint_step_declarations",
    "load_catalogue",
    "parse_catalogue",
    "parse_tags",
    "requirement_ids_from_tags",
    "source_keys",
]
