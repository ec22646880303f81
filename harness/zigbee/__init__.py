"""Zigbee cluster definitions zigpy lacks (importing registers them with zigpy's cluster registry)."""

from harness.zigbee.key_establishment import (
    KEY_ESTABLISHMENT_CLUSTER_ID,
    KeyEstablishmentSuite,
    SmartEnergyKeyEstablishment,
    TerminateStatus,
)
from harness.zigbee.tunneling import (
    TO_CLIENT,
    TO_SERVER,
    TUNNELING_CLUSTER_ID,
    GbcsData,
    ProtocolId,
    SmartEnergyTunneling,
    TransferDataStatus,
    TunnelConfig,
    TunnelStatus,
    transfer_data_payload,
)

__all__ = [
    "KEY_ESTABLISHMENT_CLUSTER_ID",
    "TO_CLIENT",
    "TO_SERVER",
    "TUNNELING_CLUSTER_ID",
    "GbcsData",
    "KeyEstablishmentSuite",
    "ProtocolId",
    "SmartEnergyKeyEstablishment",
    "SmartEnergyTunneling",
    "TerminateStatus",
    "TransferDataStatus",
    "TunnelConfig",
    "TunnelStatus",
    "transfer_data_payload",
]
