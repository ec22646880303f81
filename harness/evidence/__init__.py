"""Evidence files a scenario leaves in the run directory (next to the conformance statement).

``harness.evidence.pcap`` writes the scenario's traffic as a pcapng capture Wireshark and tshark dissect.
Folders come from ``harness.reports.evidence_paths`` so every evidence writer agrees on them.
"""

from harness.evidence.pcap import (
    CaptureContext,
    CaptureFrame,
    CaptureResult,
    capture_frames,
    is_malformed_on_purpose,
    write_capture,
    write_scenario_capture,
)

__all__ = [
    "CaptureContext",
    "CaptureFrame",
    "CaptureResult",
    "capture_frames",
    "is_malformed_on_purpose",
    "write_capture",
    "write_scenario_capture",
]
