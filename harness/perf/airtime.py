"""Modelled 2.4 GHz air time of the frames in a transcript (timing-and-security.md A1).

Why: the emulator runs with zero link latency on a virtual clock, so its own elapsed time says nothing
about how long the same transfer takes over the air. This model turns the transcript's frames into the
single-hop air time of an IEEE 802.15.4 O-QPSK link with NWK and APS security and an APS acknowledgement
for every unicast frame, so benchmarks can report both the wall time and the modelled air time.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.transcript import TranscriptEntry

OCTET_S = 32e-6  # 250 kbit/s
SHR_PHR_OCTETS = 6
#: CSMA mean first backoff, CCA, turnaround, MAC ACK and LIFS around one frame (A1: about 2.43 ms).
PER_FRAME_OVERHEAD_S = 2.43e-3
#: Headers below ZCL: MAC 11, NWK 8, NWK security 18, APS 8, APS security 9.
BELOW_ZCL_OCTETS = 11 + 8 + 18 + 8 + 9
#: An APS acknowledgement: MAC 11, NWK 8, NWK security 18, APS ack header 8, APS security 9.
APS_ACK_OCTETS = 11 + 8 + 18 + 8 + 9
MAX_PSDU = 127


def frame_air_s(zcl_octets: int) -> float:
    """Air time of one secured unicast frame carrying ``zcl_octets`` of ZCL, with its MAC overheads."""
    psdu = min(MAX_PSDU, BELOW_ZCL_OCTETS + zcl_octets)
    return (psdu + SHR_PHR_OCTETS) * OCTET_S + PER_FRAME_OVERHEAD_S


APS_ACK_S = (APS_ACK_OCTETS + SHR_PHR_OCTETS) * OCTET_S + PER_FRAME_OVERHEAD_S


def transcript_air_s(entries: Iterable[TranscriptEntry]) -> float:
    """Total modelled air time of the transmitted frames, each followed by an APS acknowledgement."""
    total = 0.0
    for entry in entries:
        if entry.is_frame and entry.transmitted and entry.raw:
            total += frame_air_s(len(entry.raw)) + APS_ACK_S
    return total
