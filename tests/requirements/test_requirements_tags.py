"""Tag parsing: the one reading of @req/@pics/@spec/@assumption tags, for steps, hooks and reports."""

from __future__ import annotations

from harness.requirements import parse_tags, requirement_ids_from_tags


def test_requirement_ids_from_pytest_bdd_and_gherkin_forms() -> None:
    assert requirement_ids_from_tags({"req:PZ-13", "slow", "pics:OTA.C"}) == ["PZ-13"]
    assert requirement_ids_from_tags(["@req:PZ-14", "@req:CS-08", "@req:PZ-14"]) == ["CS-08", "PZ-14"]
    assert requirement_ids_from_tags([]) == []


def test_parse_tags_sorts_by_meaning() -> None:
    tags = parse_tags(
        [
            "@req:HG-09",
            "@pics:GB.HCALCS.CS06",
            "@pics:!GB.DEVICE.SLEEPY",
            "@spec:GBCS-11.5",
            "@assumption",
            "@slow",
        ]
    )
    assert tags.requirements == ("HG-09",)
    assert tags.pics == ("pics:!GB.DEVICE.SLEEPY", "pics:GB.HCALCS.CS06")
    assert tags.specs == ("GBCS-11.5",)
    assert tags.assumption is True
    assert tags.other == ("slow",)


def test_unknown_namespaces_and_lookalikes_are_not_traceability_tags() -> None:
    tags = parse_tags(["reqs:PZ-01", "assumption:x", "req", "pics"])
    assert tags.requirements == () and tags.pics == () and tags.assumption is False
    assert tags.other == ("assumption:x", "pics", "req", "reqs:PZ-01")
