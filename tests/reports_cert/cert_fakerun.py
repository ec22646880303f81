"""A small fake run directory: a real statement (real catalogue) with a PASS, a FAIL with its evidence (capture,
transcript, decisive frame, transfer and violation plots), an INCONCLUSIVE, a NOT_APPLICABLE scenario of the
device's role (a PICS item) and one of the other role, and an Outline row; plus the other files a run writes.
Built in milliseconds, so the report and manifest tests need no conformance run. ``partial=True`` makes it a
run that left applicable scenarios out. (A uniquely named module: tests import it by name.)"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from harness.reports.selection import apply_selection
from harness.reports.statement import RunInfo, ScenarioResult, build_statement, write_statement
from harness.requirements import load_catalogue
from harness.verdicts import Verdict

RUN_ID = "20261202T120000Z-c0ffee"
SUITE_VERSION = "9.8.7"
EUI64 = "00-DB-12-34-56-78-90-A4"
FAIL_REQUIREMENT = "PZ-13"
FAIL_MESSAGE = (
    "expected Upgrade End Request status INVALID_IMAGE, observed status SUCCESS at t=24137.177 s; the DUT is the "
    "suspect\nassert 'SUCCESS' == 'INVALID_IMAGE'"
)
INCONCLUSIVE_MESSAGE = (
    "INCONCLUSIVE: No verdict: the device never received the Image Notify within 60 s. ACTION: check that the "
    "DUT is joined, then re-run"
)
FAIL_DIR = "evidence/a-tampered-image"
PLOT = f"{FAIL_DIR}/transfer-1.png"
VIOLATION = f"{FAIL_DIR}/violation.png"
CAPTURE = f"{FAIL_DIR}/capture.pcapng"
TRANSCRIPT = f"{FAIL_DIR}/transcript.txt"
OUTLINE_ROW = "The PPMID ignores a broadcast Image Notify it must ignore (jitter 0)"
NA_PICS = "GB.OTA.C.UPGRADE_TIME_HOLD"
NOT_RUN = "The PPMID queries after a unicast Image Notify"
DECISIVE = {
    "kind": "observed",
    "rule": "the device's last frame before the verdict (named in the message)",
    "verdict_at_s": 6.864,
    "clock_origin_s": 24131.313,
    "frame": "110",
    "time_s": 5.864,
    "entry": 111,
    "summary": "#0111 from DUT upgrade_end(status=SUCCESS, manufacturer_code=0x121D) raw=113306001d12",
    "capture": "capture.pcapng",
    "plot": VIOLATION,
    "transfer": 1,
}


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    """A minimal valid RGB PNG (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _dut_seen(versions: list[str]) -> dict[str, object]:
    return {
        "eui64": EUI64,
        "manufacturer": "Acme Meters Ltd",
        "model": "PPMID-9000",
        "file_versions": versions,
        "manufacturer_codes": ["0x121D"],
        "image_types": ["0x0084"],
        "hardware_versions": ["0x1150"],
    }


def _results() -> list[ScenarioResult]:
    return [
        ScenarioResult(
            nodeid="steps/test_features.py::test_pass",
            feature="Download",
            scenario="The PPMID downloads a valid image",
            requirement_ids=["PZ-09"],
            tags=["req:PZ-09"],
            verdict=Verdict.PASS,
            evidence={"dut_seen": _dut_seen(["0x01020300", "0x01020301"])},
        ),
        ScenarioResult(
            nodeid="steps/test_features.py::test_fail",
            feature="Verification",
            scenario="The PPMID rejects a tampered image",
            requirement_ids=[FAIL_REQUIREMENT],
            tags=[f"req:{FAIL_REQUIREMENT}"],
            verdict=Verdict.FAIL,
            message=FAIL_MESSAGE,
            evidence={
                "blocks_consumed": 46,
                "transfer_plots": [{"path": PLOT, "blocks": 46}],
                "dut_seen": _dut_seen(["0x01020300"]),
                "capture": CAPTURE,
                "transcript": TRANSCRIPT,
                "decisive": DECISIVE,
            },
        ),
        ScenarioResult(
            nodeid="steps/test_features.py::test_inconclusive",
            feature="Discovery",
            scenario="The PPMID queries after an Image Notify",
            requirement_ids=["PZ-11"],
            tags=["req:PZ-11"],
            verdict=Verdict.INCONCLUSIVE,
            message=INCONCLUSIVE_MESSAGE,
            evidence={"blocks_consumed": 0},
        ),
        ScenarioResult(
            nodeid="steps/test_features.py::test_na",
            feature="HCALCS",
            scenario="An HCALCS-only scenario",
            requirement_ids=["HG-08"],
            tags=["req:HG-08"],
            verdict=Verdict.NOT_APPLICABLE,
            message="PICS GB.HCALCS.CS06 is false in acme",
        ),
        ScenarioResult(
            nodeid="steps/test_features.py::test_na_pics",
            feature="Activation",
            scenario="The PPMID waits for an upgrade-now",
            requirement_ids=["PZ-20"],
            tags=["req:PZ-20", f"pics:{NA_PICS}"],
            verdict=Verdict.NOT_APPLICABLE,
            message=f"PICS {NA_PICS} is false in acme",
        ),
        ScenarioResult(
            nodeid="steps/test_features.py::test_ignores[jitter 0-0-the new image]",
            feature="Discovery",
            scenario=OUTLINE_ROW,
            requirement_ids=["PZ-27"],
            tags=["req:PZ-27"],
            verdict=Verdict.PASS,
        ),
    ]


_ROLES = {
    "steps/test_features.py::test_pass": "ppmid",
    "steps/test_features.py::test_fail": "ppmid",
    "steps/test_features.py::test_inconclusive": "ppmid",
    "steps/test_features.py::test_na": "hcalcs",
    "steps/test_features.py::test_na_pics": "ppmid",
    "steps/test_features.py::test_ignores[jitter 0-0-the new image]": "ppmid",
}


def _selection(partial: bool) -> dict[str, object]:
    """A selection like the plugin's: complete, or one applicable scenario left out by ``-k``."""
    not_run = (
        [{"scenario": NOT_RUN, "feature": "Discovery", "requirement_ids": ["PZ-11"], "reason": "not selected"}]
        if partial
        else []
    )
    return {
        "arguments": ["steps/test_features.py", *(["-k", "not unicast"] if partial else [])],
        "keyword": "not unicast" if partial else "",
        "markexpr": "",
        "planned": 7,
        "applicable": 5 + partial,
        "ran": 5,
        "not_run": not_run,
        "other_role": {"role": "hcalcs", "count": 1},
        "requirements": {"PZ-11": {"scenarios": 2, "applicable": 2, "ran": 1 if partial else 2}},
        "stopped": None,
        "lab_fault": None,
        "complete": not partial,
    }


def _profile() -> dict[str, object]:
    return {
        "profile": {"name": "acme", "path": "/profiles/acme.yaml"},
        "device": {"role": {"value": "ppmid", "source": "profile"}},
        "pics": {
            "OTA.C": {"value": True, "source": "profile"},
            "GB.HCALCS.CS06": {"value": False, "source": "profile"},
            "GB.PPMID.CS09": {"value": None, "source": "undeclared"},
        },
        "pixit": {
            "dut.eui64": {"value": EUI64, "source": "profile"},
            "budgets.join": {"value": 120.0, "source": "default", "unit": "s"},
        },
    }


def build_fake_run(run_dir: Path, *, partial: bool = False) -> Path:
    """Write a statement like a run's (and junit.xml, an Allure result, the evidence files) into ``run_dir``."""
    run = RunInfo(
        run_id=RUN_ID,
        suite_version=SUITE_VERSION,
        started_utc="2026-12-02T12:00:00+00:00",
        finished_utc="2026-12-02T12:00:09+00:00",
        features_hash="ab" * 32,
        profile_path="/profiles/acme.yaml",
        profile=_profile(),
        undeclared_pics=["GB.PPMID.CS09"],
        dut={
            "role": "ppmid",
            "description": "Acme PPMID on a bench",
            "eui64": EUI64,
            "manufacturer_code": "0x121D",
            "image_type": "0x0084",
            "current_file_version": "0x01020300",
            "hardware_version": "0x1150",
        },
        radio="ezsp",
        clock="real",
    )
    statement = build_statement(run, _results(), load_catalogue())
    write_statement(apply_selection(statement, _selection(partial), _ROLES), run_dir)
    (run_dir / "junit.xml").write_text("<testsuites/>\n", encoding="utf-8")
    (run_dir / "allure-results").mkdir()
    (run_dir / "allure-results" / "1-result.json").write_text("{}\n", encoding="utf-8")
    (run_dir / PLOT).parent.mkdir(parents=True)
    (run_dir / PLOT).write_bytes(png_bytes())
    (run_dir / VIOLATION).write_bytes(png_bytes(4, 2))
    (run_dir / CAPTURE).write_bytes(b"\x0a\x0d\x0d\x0a")
    (run_dir / TRANSCRIPT).write_text("  frame        time  entry\n    110       5.864  #0111 upgrade_end\n")
    return run_dir
