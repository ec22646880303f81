"""Zigbee cluster definitions zigpy lacks (importing registers them with zigpy's cluster registry)."""

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
    "TO_CLIENT",
    "TO_SERVER",
    "TUNNELING_CLUSTER_ID",
    "GbcsData",
    "ProtocolId",
    "SmartEnergyTunneling",
    "TransferDataStatus",
    "TunnelConfig",
    "TunnelStatus",
    "transfer_data_payload",
]
