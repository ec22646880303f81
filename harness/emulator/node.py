"""What an emulated Zigbee device is, and a reusable base that answers the parts every device shares.

Why a protocol: the loopback radio hosts anything that receives APS frames and transmits through the
radio; reference devices (PPMID, HCALCS) and deliberately faulty variants are written against it. Why
``snapshot``/``restore``: a power cycle must behave like one, so the harness discards the device object
and rebuilds it from the bytes it persisted, exactly as firmware rebuilds from NVM: whatever the device
did not persist is lost.

``EmulatedZigbeeNode`` is the shared base:

- ZDO: ``announce()`` (Device_annce, how a device joins), Node_Desc_req, Active_EP_req, Simple_Desc_req;
  other ZDO frames (Mgmt_Permit_Joining broadcasts, ...) are ignored, as are other endpoints' frames
  (Green Power on 242).
- ZCL: Read_Attributes for every declared cluster from attribute tables typed by zigpy's own cluster
  definitions (``Basic``, ``Ota``), Default Response rules (sent on error, or on success unless disabled;
  never to broadcasts or to responses), unsupported clusters and general commands answered as ZCL says.
- Hooks for subclasses: ``on_cluster_command`` (cluster-specific commands: the OTA client lives here) and
  ``on_default_response``.
- One endpoint with a configurable profile, Smart Energy (0x0109) by default, so the radio glue's remap is
  exercised on every frame. No group membership: group frames are ignored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.zcl import Cluster, ClusterType, foundation
from zigpy.zcl.clusters.general import Basic, Ota

from harness.clock import Clock
from harness.radio.frames import SE_PROFILE_ID, ZDO_PROFILE_ID, parse_zcl_header, zcl_frame
from harness.radio.glue import SE_ENDPOINT_ID

LOGGER = logging.getLogger(__name__)

Transmit = Callable[[t.ZigbeePacket], None]

#: SE device id "Prepayment Terminal", used for PPMID-like nodes.
PPMID_DEVICE_ID = 0x0506
COORDINATOR_NWK = 0x0000
BROADCAST_ENDPOINT = 0xFF
_DEFAULT_LQI, _DEFAULT_RSSI = 255, -40

GC = foundation.GeneralCommand
Status = foundation.Status
MAC = zdo_t.NodeDescriptor.MACCapabilityFlags


def default_nwk(eui: int) -> int:
    """A stable NWK address for a device: the EUI-64's low 16 bits, avoiding the coordinator's 0x0000 and the
    broadcast addresses 0xFFF8-0xFFFF, which a real network reserves (both emulators use it)."""
    nwk = int(eui) & 0xFFFF
    return nwk if 0 < nwk < 0xFFF8 else 0x1234


@runtime_checkable
class EmulatedDevice(Protocol):
    """What the loopback radio needs from an emulated device.

    - ``ieee`` / ``nwk``: its addresses (``nwk`` may change when it rejoins).
    - ``bind(transmit, clock)``: called when attached to a radio; ``transmit(packet)`` is its radio TX
      (the packet's ``src`` is the device, ``dst`` the coordinator) and ``clock`` its only time source.
    - ``receive(packet)``: one APS frame from the coordinator, delivered on the event loop; must not block.
    - ``snapshot()`` / ``restore(data, **overrides)``: the persisted state (NVM image) and the factory that
      rebuilds a device from it after a power cycle.
    """

    ieee: t.EUI64
    nwk: t.NWK

    def bind(self, transmit: Transmit, clock: Clock) -> None: ...

    def receive(self, packet: t.ZigbeePacket) -> None: ...

    def snapshot(self) -> bytes: ...

    @classmethod
    def restore(cls, data: bytes, **overrides: Any) -> Self: ...


class EmulatedZigbeeNode:
    """Base for emulated devices: ZDO discovery, Basic and OTA-client attributes, ZCL general rules.

    The clusters a device type has are class-level (``SERVER_CLUSTERS`` / ``CLIENT_CLUSTERS``, zigpy cluster
    classes); attribute values are per-device state in ``attributes`` and survive ``snapshot``/``restore``.
    """

    SERVER_CLUSTERS: ClassVar[tuple[type[Cluster], ...]] = (Basic,)
    CLIENT_CLUSTERS: ClassVar[tuple[type[Cluster], ...]] = (Ota,)

    def __init__(
        self,
        ieee: t.EUI64 | str,
        nwk: int,
        *,
        endpoint_id: int = 1,
        profile_id: int = SE_PROFILE_ID,
        device_id: int = PPMID_DEVICE_ID,
        logical_type: int = zdo_t.LogicalType.EndDevice,
        rx_on_when_idle: bool = True,
        manufacturer_code: int = 0x1234,
        manufacturer: str = "GB OTA Emulator",
        model: str = "EMU-PPMID",
        hw_version: int = 1,
        power_source: int = Basic.PowerSource.Mains_single_phase,
        file_version: int = 0x00000001,
        image_type: int = 0x0000,
        coordinator_endpoint: int = SE_ENDPOINT_ID,
    ) -> None:
        self.ieee = t.EUI64.convert(ieee) if isinstance(ieee, str) else t.EUI64(ieee)
        self.nwk = t.NWK(nwk)
        #: Constructor arguments that define the device (kept in snapshots).
        self.config: dict[str, Any] = {
            "endpoint_id": endpoint_id,
            "profile_id": profile_id,
            "device_id": device_id,
            "logical_type": int(logical_type),
            "rx_on_when_idle": rx_on_when_idle,
            "manufacturer_code": manufacturer_code,
            "coordinator_endpoint": coordinator_endpoint,
        }
        self.endpoint_id = endpoint_id
        self.profile_id = profile_id
        self.coordinator_endpoint = coordinator_endpoint
        #: Fault knob, not device state: receives everything, answers nothing (a hung device).
        self.silent = False
        #: The frame being handled while a hook runs (``respond`` answers it).
        self.current_packet: t.ZigbeePacket | None = None
        self.clock: Clock | None = None
        self._transmit: Transmit | None = None
        self._tsn = 0
        self._aps_counter = 0
        self._clusters: dict[tuple[ClusterType, int], type[Cluster]] = {
            **{(ClusterType.Server, c.cluster_id): c for c in self.SERVER_CLUSTERS},
            **{(ClusterType.Client, c.cluster_id): c for c in self.CLIENT_CLUSTERS},
        }
        self.attributes: dict[tuple[ClusterType, int], dict[int, Any]] = {key: {} for key in self._clusters}
        self._seed_attributes(
            manufacturer=manufacturer,
            model=model,
            hw_version=hw_version,
            power_source=power_source,
            file_version=file_version,
            image_type=image_type,
        )

    def _seed_attributes(
        self,
        *,
        manufacturer: str,
        model: str,
        hw_version: int,
        power_source: int,
        file_version: int,
        image_type: int,
    ) -> None:
        if (ClusterType.Server, Basic.cluster_id) in self._clusters:
            for name, value in {
                "zcl_version": 3,
                "manufacturer": manufacturer,
                "model": model,
                "hw_version": hw_version,
                "power_source": power_source,
                "physical_env": 1,
            }.items():
                self.set_attribute(Basic.cluster_id, name, value)
        if (ClusterType.Client, Ota.cluster_id) in self._clusters:
            for name, value in {
                "upgrade_server_id": t.EUI64.convert("ff:ff:ff:ff:ff:ff:ff:ff"),
                "current_file_version": file_version,
                "manufacturer_id": self.config["manufacturer_code"],
                "image_type_id": image_type,
                "image_upgrade_status": Ota.ImageUpgradeStatus.Normal,
            }.items():
                self.set_attribute(Ota.cluster_id, name, value, side=ClusterType.Client)

    # -- attribute tables -----------------------------------------------------------------------------
    def _attribute_def(self, cluster_id: int, attribute: int | str, side: ClusterType) -> foundation.ZCLAttributeDef:
        cluster = self._clusters[(side, cluster_id)]
        if isinstance(attribute, str):
            return getattr(cluster.AttributeDefs, attribute)
        return cluster.attributes[attribute]

    def set_attribute(
        self, cluster_id: int, attribute: int | str, value: Any, side: ClusterType = ClusterType.Server
    ) -> None:
        """Store ``value`` converted to the attribute's zigpy type (so it serialises as its ZCL type)."""
        adef = self._attribute_def(cluster_id, attribute, side)
        self.attributes[(side, cluster_id)][adef.id] = adef.type(value)

    def get_attribute(self, cluster_id: int, attribute: int | str, side: ClusterType = ClusterType.Server) -> Any:
        adef = self._attribute_def(cluster_id, attribute, side)
        return self.attributes[(side, cluster_id)][adef.id]

    # -- radio binding and transmit -------------------------------------------------------------------
    def bind(self, transmit: Transmit, clock: Clock) -> None:
        self._transmit = transmit
        self.clock = clock

    def next_tsn(self) -> int:
        self._tsn = (self._tsn + 1) & 0xFF
        return self._tsn

    def transmit(
        self,
        cluster_id: int,
        data: bytes,
        *,
        dst_ep: int | None = None,
        src_ep: int | None = None,
        profile_id: int | None = None,
        dst: t.AddrModeAddress | None = None,
    ) -> None:
        """Send one APS frame (raw bytes, malformed if a fault wants) to the coordinator."""
        if self._transmit is None or self.clock is None:
            raise RuntimeError(f"{self.ieee} is not attached to a radio")
        self._aps_counter = (self._aps_counter + 1) & 0xFF
        self._transmit(
            t.ZigbeePacket(
                timestamp=self.clock.utcnow(),
                src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=self.nwk),
                src_ep=self.endpoint_id if src_ep is None else src_ep,
                dst=dst or t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=COORDINATOR_NWK),
                dst_ep=self.coordinator_endpoint if dst_ep is None else dst_ep,
                tsn=self._aps_counter,
                profile_id=self.profile_id if profile_id is None else profile_id,
                cluster_id=cluster_id,
                data=t.SerializableBytes(data),
                lqi=_DEFAULT_LQI,
                rssi=_DEFAULT_RSSI,
            )
        )

    def send_command(
        self,
        cluster_id: int,
        command_id: int,
        payload: bytes,
        *,
        cluster_specific: bool = True,
        direction: foundation.Direction = foundation.Direction.Client_to_Server,
        tsn: int | None = None,
        manufacturer: int | None = None,
        disable_default_response: bool = False,
        dst_ep: int | None = None,
    ) -> int:
        """Send a ZCL command to the coordinator (client→server by default); returns its TSN."""
        tsn = self.next_tsn() if tsn is None else tsn
        data = zcl_frame(
            command_id,
            payload,
            tsn=tsn,
            direction=direction,
            cluster_specific=cluster_specific,
            manufacturer=manufacturer,
            disable_default_response=disable_default_response,
        )
        self.transmit(cluster_id, data, dst_ep=dst_ep)
        return tsn

    def respond(
        self, hdr: foundation.ZCLHeader, command_id: int, payload: bytes, *, cluster_specific: bool = True
    ) -> None:
        """Answer the frame being handled (``current_packet``): same TSN, flipped direction, its source."""
        packet = self.current_packet
        assert packet is not None, "respond() is only valid while a received frame is being handled"
        data = zcl_frame(
            command_id,
            payload,
            tsn=hdr.tsn,
            direction=hdr.direction.flip(),
            cluster_specific=cluster_specific,
            manufacturer=hdr.manufacturer,
            disable_default_response=True,
        )
        self.transmit(packet.cluster_id, data, dst_ep=packet.src_ep, src_ep=packet.dst_ep, dst=packet.src)

    # -- ZDO ------------------------------------------------------------------------------------------
    @property
    def mac_capabilities(self) -> MAC:
        flags = MAC.AllocateAddress
        if self.config["logical_type"] != zdo_t.LogicalType.EndDevice:
            flags |= MAC.FullFunctionDevice
        if self.config["rx_on_when_idle"]:
            flags |= MAC.RxOnWhenIdle
        power = self.attributes.get((ClusterType.Server, Basic.cluster_id), {}).get(Basic.AttributeDefs.power_source.id)
        if power is not None and (int(power) & 0x7F) in (0x01, 0x02):  # mains single / three phase
            flags |= MAC.MainsPowered
        return flags

    def node_descriptor(self) -> zdo_t.NodeDescriptor:
        return zdo_t.NodeDescriptor(
            logical_type=zdo_t.LogicalType(self.config["logical_type"]),
            complex_descriptor_available=0,
            user_descriptor_available=0,
            reserved=0,
            aps_flags=0,
            frequency_band=zdo_t.NodeDescriptor.FrequencyBand.Freq2400MHz,
            mac_capability_flags=self.mac_capabilities,
            manufacturer_code=self.config["manufacturer_code"],
            maximum_buffer_size=82,
            maximum_incoming_transfer_size=82,
            server_mask=0,
            maximum_outgoing_transfer_size=82,
            descriptor_capability_field=zdo_t.NodeDescriptor.DescriptorCapability.NONE,
        )

    def simple_descriptor(self) -> zdo_t.SizePrefixedSimpleDescriptor:
        return zdo_t.SizePrefixedSimpleDescriptor(
            endpoint=self.endpoint_id,
            profile=self.profile_id,
            device_type=self.config["device_id"],
            device_version=0,
            input_clusters=[c.cluster_id for c in self.SERVER_CLUSTERS],
            output_clusters=[c.cluster_id for c in self.CLIENT_CLUSTERS],
        )

    def announce(self) -> None:
        """Join (or rejoin after a power cycle): broadcast Device_annce, which starts zigpy's interview."""
        self._send_zdo(
            zdo_t.ZDOCmd.Device_annce,
            self.next_tsn(),
            [self.nwk, self.ieee, int(self.mac_capabilities)],
            dst=t.AddrModeAddress(addr_mode=t.AddrMode.Broadcast, address=t.BroadcastAddress.RX_ON_WHEN_IDLE),
        )

    def _send_zdo(self, command: zdo_t.ZDOCmd, tsn: int, args: list[Any], dst: t.AddrModeAddress | None = None) -> None:
        schema = zdo_t.CLUSTERS[command][1]
        data = t.uint8_t(tsn).serialize() + t.serialize(args, schema)
        self.transmit(command, data, dst_ep=0, src_ep=0, profile_id=ZDO_PROFILE_ID, dst=dst)

    def _receive_zdo(self, packet: t.ZigbeePacket) -> None:
        data = packet.data.serialize()
        command = packet.cluster_id
        answers = {
            zdo_t.ZDOCmd.Node_Desc_req: lambda _args: (
                zdo_t.ZDOCmd.Node_Desc_rsp,
                [zdo_t.Status.SUCCESS, self.nwk, self.node_descriptor()],
            ),
            zdo_t.ZDOCmd.Active_EP_req: lambda _args: (
                zdo_t.ZDOCmd.Active_EP_rsp,
                [zdo_t.Status.SUCCESS, self.nwk, [self.endpoint_id]],
            ),
            zdo_t.ZDOCmd.Simple_Desc_req: lambda args: (
                zdo_t.ZDOCmd.Simple_Desc_rsp,
                [zdo_t.Status.SUCCESS, self.nwk, self.simple_descriptor()]
                if args[1] == self.endpoint_id
                else [zdo_t.Status.NOT_ACTIVE, self.nwk],
            ),
        }
        answer = answers.get(command)  # type: ignore[call-overload]
        if answer is None or not data:
            LOGGER.debug("%s ignores ZDO 0x%04X", self.ieee, command)
            return
        try:
            args, _ = t.deserialize(data[1:], zdo_t.CLUSTERS[command][1])
        except (ValueError, KeyError):
            LOGGER.debug("%s ignores malformed ZDO 0x%04X %s", self.ieee, command, data.hex())
            return
        response, response_args = answer(args)
        self._send_zdo(response, data[0], response_args, dst=packet.src)

    # -- receive --------------------------------------------------------------------------------------
    def receive(self, packet: t.ZigbeePacket) -> None:
        if self.silent:
            return
        self.current_packet = packet
        try:
            if packet.dst_ep == 0:
                self._receive_zdo(packet)
            elif packet.dst_ep in (self.endpoint_id, BROADCAST_ENDPOINT):
                self._receive_zcl(packet)
        finally:
            self.current_packet = None

    def _receive_zcl(self, packet: t.ZigbeePacket) -> None:
        parsed = parse_zcl_header(packet.data.serialize())
        if parsed is None:
            LOGGER.debug("%s drops a frame too short for a ZCL header", self.ieee)
            return
        hdr, payload = parsed
        # A client→server frame addresses our server cluster, and the other way round.
        side = ClusterType.Server if hdr.direction == foundation.Direction.Client_to_Server else ClusterType.Client
        if (side, packet.cluster_id) not in self._clusters:
            status: Status | None = Status.UNSUPPORTED_CLUSTER
        elif hdr.frame_control.is_cluster:
            status = self.on_cluster_command(packet.dst_ep, packet.cluster_id, hdr, payload)
        else:
            status = self._on_general_command(packet.cluster_id, side, hdr, payload)
        self._maybe_default_response(packet, hdr, status)

    def _on_general_command(
        self, cluster_id: int, side: ClusterType, hdr: foundation.ZCLHeader, payload: bytes
    ) -> Status | None:
        command = foundation.GENERAL_COMMANDS.get(hdr.command_id)  # type: ignore[call-overload]
        if command is None:
            return Status.UNSUP_GENERAL_COMMAND
        try:
            args, _ = command.schema.deserialize(payload)
        except (ValueError, KeyError):
            return Status.MALFORMED_COMMAND
        if hdr.command_id == GC.Read_Attributes:
            records = [self._read_record(cluster_id, side, attrid) for attrid in args.attribute_ids]
            body = foundation.GENERAL_COMMANDS[GC.Read_Attributes_rsp].schema(status_records=records)
            self.respond(hdr, GC.Read_Attributes_rsp, body.serialize(), cluster_specific=False)
            return None
        if hdr.command_id == GC.Default_Response:
            self.on_default_response(self.endpoint_id, cluster_id, hdr, args)
            return None
        if command.direction == foundation.Direction.Server_to_Client:  # some other response: nothing to say
            return None
        return Status.UNSUP_GENERAL_COMMAND

    def _read_record(self, cluster_id: int, side: ClusterType, attrid: int) -> foundation.ReadAttributeRecord:
        table = self.attributes[(side, cluster_id)]
        if attrid not in table:
            return foundation.ReadAttributeRecord(attrid=attrid, status=Status.UNSUPPORTED_ATTRIBUTE)
        adef = self._attribute_def(cluster_id, attrid, side)
        return foundation.ReadAttributeRecord(
            attrid=attrid, status=Status.SUCCESS, value=foundation.TypeValue(adef.zcl_type, table[attrid])
        )

    def _maybe_default_response(self, packet: t.ZigbeePacket, hdr: foundation.ZCLHeader, status: Status | None) -> None:
        """ZCL: a Default Response reports an error, or success when the sender did not disable it; never
        to a broadcast and never in answer to a Default Response."""
        if status is None or packet.dst.addr_mode in (t.AddrMode.Broadcast, t.AddrMode.Group):
            return
        if status == Status.SUCCESS and hdr.frame_control.disable_default_response:
            return
        body = foundation.GENERAL_COMMANDS[GC.Default_Response].schema(command_id=hdr.command_id, status=status)
        self.respond(hdr, GC.Default_Response, body.serialize(), cluster_specific=False)

    # -- hooks for device types -----------------------------------------------------------------------
    def on_cluster_command(
        self, endpoint: int, cluster_id: int, hdr: foundation.ZCLHeader, payload: bytes
    ) -> Status | None:
        """A cluster-specific command for one of our clusters. Return a status for the Default Response
        rules (SUCCESS, or an error such as MALFORMED_COMMAND), or None after answering with ``respond``."""
        return Status.UNSUP_CLUSTER_COMMAND

    def on_default_response(
        self, endpoint: int, cluster_id: int, hdr: foundation.ZCLHeader, command: foundation.CommandSchema
    ) -> None:
        """The coordinator's Default Response to something we sent."""

    # -- persistence ----------------------------------------------------------------------------------
    @classmethod
    def type_name(cls) -> str:
        return f"{cls.__module__}:{cls.__qualname__}"

    def to_state(self) -> dict[str, Any]:
        """JSON-able persisted state; subclasses extend the dict (and read it back in ``from_state``)."""
        return {
            "type": self.type_name(),
            "ieee": str(self.ieee),
            "nwk": int(self.nwk),
            "config": dict(self.config),
            "attributes": [
                [side.name, cluster_id, attrid, value.serialize().hex()]
                for (side, cluster_id), table in sorted(self.attributes.items())
                for attrid, value in sorted(table.items())
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], **overrides: Any) -> Self:
        if state.get("type") != cls.type_name():
            raise ValueError(f"snapshot of {state.get('type')!r} cannot be restored as {cls.type_name()!r}")
        ieee, nwk = overrides.pop("ieee", state["ieee"]), overrides.pop("nwk", state["nwk"])
        node = cls(ieee, nwk, **{**state["config"], **overrides})
        for side_name, cluster_id, attrid, hex_value in state["attributes"]:
            side = ClusterType[side_name]
            adef = node._attribute_def(cluster_id, attrid, side)
            value, _ = adef.type.deserialize(bytes.fromhex(hex_value))
            node.attributes[(side, cluster_id)][attrid] = value
        return node

    def snapshot(self) -> bytes:
        return json.dumps(self.to_state(), sort_keys=True).encode()

    @classmethod
    def restore(cls, data: bytes, **overrides: Any) -> Self:
        """Rebuild a device from ``snapshot()`` bytes (``overrides`` change constructor arguments)."""
        return cls.from_state(json.loads(data), **overrides)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.ieee}, nwk=0x{int(self.nwk):04X})"
