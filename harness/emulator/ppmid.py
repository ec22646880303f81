"""The reference PPMID: a compliant Zigbee OTA client with GB behaviour, hosted by the loopback radio.

Why: every scenario must PASS against a compliant device and FAIL, for the right requirement, against each
deliberate deviation, so the suite's own verdicts can be trusted before a real PPMID is tested. This device
is that compliant reference; ``harness.emulator.faults`` switches its deviations on.

It is an ``EmulatedZigbeeNode`` (ZDO, Basic and OTA-client attributes, ZCL Default Response rules) whose OTA
cluster commands go to an ``OtaClient`` (``harness.emulator.ota_client``) verifying images with
``GbImageVerifier``: the strict GB validator plus the manufacturer-signature convention of
docs/ota-images.md §3, checked with the public key of the test PKI's manufacturer party
(``MANUFACTURER_EUI``, role ds).

Life cycle, as the DUT adapter drives it::

    device = PpmidEmulator.from_profile(profile, keystore)     # or PpmidEmulator(ieee, nwk, ...)
    app.attach_node(device); device.boot()                     # joins (Device_annce) and starts polling
    data = device.snapshot(); app.detach_node(device)          # power cut: only the NVM survives
    device = PpmidEmulator.restore(data); app.attach_node(device); device.boot()

Keys are not part of the snapshot (a power cycle does not change what the device trusts, and key objects
are not bytes): ``restore`` takes ``manufacturer_public_key=`` as an override and otherwise uses the key the
last device constructed with the same IEEE address was given (a class-level registry). Attaching a restored
device powers off any older object with the same IEEE address, so a discarded device can never transmit.

Activation reboots the device: it is unavailable for ``reboot_s`` (frames to it are lost), then announces
again (rejoin) with the new CurrentFileVersion.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import weakref
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Self

import zigpy.types as t
from cryptography.hazmat.primitives.asymmetric import ec
from zigpy.zcl import ClusterType, foundation
from zigpy.zcl.clusters.general import Basic, Ota

from harness.clock import Clock
from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyRole, KeyStore
from harness.emulator.faults import FAULTS, FaultSet, parse_faults
from harness.emulator.gbcs_device import GbcsDevice
from harness.emulator.node import EmulatedZigbeeNode, Transmit, default_nwk
from harness.emulator.ota_client import (
    IMAGE_BLOCK_RESPONSE_ID,
    RESPONSE_FRAME_CONTROL,
    GbImageVerifier,
    OtaClient,
    OtaClientConfig,
    OtaNvm,
    PersistPoint,
    Phase,
    ota_config_from_profile,
)
from harness.emulator.tunnel_client import TunnelClient
from harness.emulator.vendor_image import VendorSignatureCheck, vendor_public_key_pem
from harness.errors import ConfigurationError
from harness.profile import Profile
from harness.radio.loopback import COORDINATOR_IEEE
from harness.zigbee.tunneling import TUNNELING_CLUSTER_ID, SmartEnergyTunneling, TunnelConfig

LOGGER = logging.getLogger(__name__)

#: The test PKI's manufacturer party (harness.crypto.pki DEFAULT_PARTIES "manufacturer"): its DS key signs
#: Manufacturer Images under the suite's convention, so the emulated devices trust its public key.
MANUFACTURER_EUI = Eui64.parse("90-B3-D5-1F-30-F0-00-01")

#: Image type of the DCC Boxed SR 11.4 PPMID sample image (domain.md §2.2).
PPMID_IMAGE_TYPE = 0x0084

PersistHook = Callable[["PpmidEmulator", PersistPoint], None]


class PpmidEmulator(EmulatedZigbeeNode):
    """A Prepayment Meter Interface Device on the HAN: Basic server, OTA Upgrade client."""

    SERVER_CLUSTERS = (Basic,)
    CLIENT_CLUSTERS = (Ota, SmartEnergyTunneling)

    #: Manufacturer public keys by IEEE address: how ``restore`` finds the key a snapshot leaves out.
    _MANUFACTURER_KEYS: ClassVar[dict[str, ec.EllipticCurvePublicKey]] = {}
    #: The powered device object per IEEE address (attaching a newer one powers the older one off).
    _LIVE: ClassVar[weakref.WeakValueDictionary[str, PpmidEmulator]] = weakref.WeakValueDictionary()
    #: Key stores by IEEE address: the device's own DS/KA private keys (for CS09 / CS08), found like the
    #: manufacturer key by ``restore``.
    _KEYSTORES: ClassVar[dict[str, KeyStore]] = {}

    def __init__(
        self,
        ieee: t.EUI64 | str,
        nwk: int,
        *,
        ota: OtaClientConfig | Mapping[str, Any] | None = None,
        faults: Iterable[str] | FaultSet | None = None,
        manufacturer_public_key: ec.EllipticCurvePublicKey | None = None,
        persist_hook: PersistHook | None = None,
        seed: int | None = None,
        reboot_s: float = 2.0,
        trust_centre_ieee: str | None = None,
        device_keys: KeyStore | None = None,
        tunnel_config: TunnelConfig | None = None,
        tunnel_poll_s: float | None = 30.0,
        vendor_public_key: str | None = None,
        **node_kwargs: Any,
    ) -> None:
        """``ota`` is the client's identity and behaviour (``OtaClientConfig`` or its dict form); without it
        the base node's ``manufacturer_code``, ``image_type``, ``file_version`` and ``hw_version`` (16-bit
        OTA form) make one. ``seed`` fixes the Image Notify jitter draws (default: from the IEEE address).
        ``vendor_public_key`` (PEM text) makes it check the vendor-style manufacturer signature
        (``harness.emulator.vendor_image``) instead of the suite's convention: the vendor-image path."""
        if ota is None:
            ota = OtaClientConfig(
                manufacturer_code=node_kwargs.get("manufacturer_code", 0x1234),
                image_type=node_kwargs.get("image_type", PPMID_IMAGE_TYPE),
                current_file_version=node_kwargs.get("file_version", 0x00000001),
                hardware_version=node_kwargs.get("hw_version"),
            )
        elif not isinstance(ota, OtaClientConfig):
            ota = OtaClientConfig(**ota)
        for key in ("manufacturer_code", "image_type", "file_version", "hw_version"):
            node_kwargs.pop(key, None)  # the OTA configuration is authoritative
        hw = ota.hardware_version
        super().__init__(
            ieee,
            nwk,
            manufacturer_code=ota.manufacturer_code,
            image_type=ota.image_type,
            file_version=ota.current_file_version,
            hw_version=1 if hw is None else (hw >> 8) & 0xFF,  # Basic HWVersion is 8 bits: the version part
            **node_kwargs,
        )
        fault_set = parse_faults(faults)
        ieee_key = str(self.ieee)
        if manufacturer_public_key is None:
            manufacturer_public_key = self._MANUFACTURER_KEYS.get(ieee_key)
        if manufacturer_public_key is None:
            raise ConfigurationError(
                f"PPMID emulator {self.ieee}: no manufacturer public key (pass manufacturer_public_key=, "
                f"the DS key of {MANUFACTURER_EUI} from the key store)"
            )
        self._MANUFACTURER_KEYS[ieee_key] = manufacturer_public_key
        self.seed = zlib.crc32(ieee_key.encode()) if seed is None else seed
        self.reboot_s = reboot_s
        tc_ieee = t.EUI64.convert(trust_centre_ieee) if trust_centre_ieee else COORDINATOR_IEEE
        self.config.update(
            ota=dataclasses.asdict(ota),
            faults=list(fault_set.names),
            seed=self.seed,
            reboot_s=reboot_s,
            trust_centre_ieee=str(tc_ieee),
            vendor_public_key=vendor_public_key,
        )
        self.faults = fault_set
        self.persist_hook = persist_hook
        self.ota = OtaClient(
            self,
            ota,
            GbImageVerifier(
                manufacturer_public_key,
                hardware_version=ota.hardware_version,
                storage_capacity=ota.storage_capacity,
                downgrade_policy=ota.downgrade_policy,
                faults=fault_set,
                manufacturer_check=VendorSignatureCheck(vendor_public_key) if vendor_public_key else None,
            ),
            faults=fault_set,
            on_persist=self._persisted,
            on_activated=self._activated,
            rng=random.Random(self.seed),
            trust_centre_ieee=tc_ieee,
        )
        self.ota.load(self.ota.nvm)
        self._update_build_id()
        self._offline = False
        self._powered_off = False
        # GBCS over the tunnel (CS09, CS08): only with the device's own keys in a key store.
        keystore = device_keys if device_keys is not None else self._KEYSTORES.get(ieee_key)
        self.gbcs: GbcsDevice | None = None
        self.tunnel: TunnelClient | None = None
        #: CS09 alerts built but not yet PUT (the tunnel is re-requested after the activation reboot).
        self._pending_alerts: list[bytes] = []
        self._version_before_activation = self.ota.running_version
        if keystore is not None and keystore.has_private(Eui64.parse(ieee_key), KeyRole.DS):
            self._KEYSTORES[ieee_key] = keystore
            self.tunnel = TunnelClient(
                self, self._on_apdu, tunnel_config, poll_interval_s=tunnel_poll_s, on_granted=self._flush_alerts
            )
            self.gbcs = GbcsDevice(
                Eui64.parse(ieee_key), keystore, self._queue_apdu, faults=fault_set, now_s=self._now_s
            )
            self.ota.on_activation_claimed = self._raise_activation_alert
            self.ota.on_activation_failed = self._activation_failed

    # -- construction from a DUT profile -----------------------------------------------------------------
    @classmethod
    def fault_names(cls) -> tuple[str, ...]:
        """The knob names PIXIT ``emulator.faults`` may give this device (the profile loader checks them)."""
        return tuple(FAULTS)

    @classmethod
    def from_profile(cls, profile: Profile, keystore: KeyStore, **overrides: Any) -> Self:
        """The emulator a DUT profile describes (PIXIT dut.*, ota.max_block_size, budgets.*,
        emulator.faults); the manufacturer key is the key store's DS key of ``MANUFACTURER_EUI``.

        ``overrides`` replace constructor arguments (``nwk``, ``persist_hook``, ...) or ``OtaClientConfig``
        fields (``query_interval_s``, ``request_timeout_s``, ...).
        """
        if profile.role != "ppmid":
            raise ConfigurationError(f"profile {profile.name}: role {profile.role!r} is not a PPMID")
        pixit = profile.pixit_value
        ota = ota_config_from_profile(pixit, overrides)
        eui = Eui64.parse(pixit("dut.eui64"))
        kwargs: dict[str, Any] = {
            "ota": ota,
            "faults": parse_faults(pixit("emulator.faults")),
            "manufacturer_public_key": keystore.public_key(MANUFACTURER_EUI, KeyRole.DS),
            "endpoint_id": pixit("dut.endpoint"),
            "device_keys": keystore,
            "tunnel_config": TunnelConfig.from_profile(profile),
            "vendor_public_key": vendor_public_key_pem(profile),
            "tunnel_poll_s": float(pixit("tunnel.poll_interval")),
        }
        kwargs.update(overrides)
        nwk = kwargs.pop("nwk", None)
        return cls(eui.colon, default_nwk(eui) if nwk is None else nwk, **kwargs)

    # -- power -----------------------------------------------------------------------------------------------
    def bind(self, transmit: Transmit, clock: Clock) -> None:
        super().bind(transmit, clock)
        key = str(self.ieee)
        older = self._LIVE.get(key)
        if older is not None and older is not self:
            older.power_off()  # the object a power cycle replaced must never act again
        self._LIVE[key] = self
        self._powered_off = False

    def boot(self) -> None:
        """Power on (after ``attach_node``): resume from the NVM, then join the HAN with Device_annce.

        A verified image awaiting activation makes it re-send Upgrade End Request (PZ-32); a partial download
        makes it query to resume (PZ-26); an interrupted activation is completed or undone first (CS-10).
        """
        if self.clock is None:
            raise RuntimeError(f"{self!r}: attach it to a radio before boot()")
        self._offline = False
        self._powered_off = False
        self.ota.start()
        self._update_build_id()
        if self.silent:
            return  # did not come up (a fault knob bricked it)
        self.announce()
        if self.tunnel is not None:
            self.tunnel.stop()
            self.tunnel.start(delay_s=1.0)  # after the join

    def power_off(self) -> None:
        """Power cut: timers stop, frames are lost both ways; ``snapshot()`` still gives the NVM."""
        self._powered_off = True
        self.ota.stop()
        if self.tunnel is not None:
            self.tunnel.stop()

    @property
    def powered(self) -> bool:
        return not self._powered_off and not self._offline

    def _activated(self, version: int) -> None:
        """The new image runs: reboot into it (unavailable for ``reboot_s``), then rejoin."""
        LOGGER.debug("%r activated %08X: rebooting", self, version)
        self._update_build_id()
        self._offline = True
        self.ota.stop()
        if self.tunnel is not None:
            self.tunnel.stop()
        self._raise_activation_alert(version)  # PUT once the tunnel is granted again after the reboot
        assert self.clock is not None
        self.clock.loop.call_later(self.reboot_s, self._rebooted)

    def _raise_activation_alert(self, version: int) -> None:
        """CS09 (PZ-22) for the version now running (or, under report-new-version-without-activating, claimed)."""
        if self.gbcs is not None and not self.faults.no_cs09_alert:
            self.gbcs.activation_alert(version, True, previous_version=self._version_before_activation)
        self._version_before_activation = version

    def _activation_failed(self, version: int) -> None:
        """PZ-23: the new image did not start; the old one runs on and CS09 says "failure" with its version."""
        LOGGER.debug("%r could not activate %08X", self, version)
        if self.gbcs is not None and not self.faults.no_cs09_alert:
            self.gbcs.activation_alert(self.ota.running_version, False)

    def _rebooted(self) -> None:
        if not self._powered_off and self._offline:
            self.boot()

    # -- GBCS -----------------------------------------------------------------------------------------------
    def _now_s(self) -> float:
        return 0.0 if self.clock is None else float(self.clock.loop.time())

    def _queue_apdu(self, apdu: bytes) -> None:
        self._pending_alerts.append(apdu)
        self._flush_alerts()

    def _flush_alerts(self) -> None:
        if self.tunnel is None or not self.tunnel.granted or not self.powered:
            return
        while self._pending_alerts:
            self.tunnel.put(self._pending_alerts.pop(0))

    def _on_apdu(self, apdu: bytes) -> None:
        if self.gbcs is not None:
            manufactured = int(self.config["ota"]["current_file_version"])  # what cs08-stale-version reports
            self.gbcs.on_apdu(apdu, self.ota.running_version, reported_version=manufactured)

    def _persisted(self, point: PersistPoint) -> None:
        if self.persist_hook is not None:
            self.persist_hook(self, point)

    def _update_build_id(self) -> None:
        """Basic SWBuildID names the firmware that actually runs, whatever the OTA attributes say."""
        self.set_attribute(Basic.cluster_id, "sw_build_id", f"{self.ota.running_version:08X}")

    # -- radio ---------------------------------------------------------------------------------------------
    def receive(self, packet: t.ZigbeePacket) -> None:
        if self._powered_off or self._offline:
            return
        data = packet.data.serialize()
        if (  # the download's hot path: a plain Image Block Response (see ota_client)
            packet.cluster_id == Ota.cluster_id
            and len(data) > 3
            and data[0] == RESPONSE_FRAME_CONTROL
            and data[2] == IMAGE_BLOCK_RESPONSE_ID
            and packet.dst_ep == self.endpoint_id
            and not self.silent
            and self.ota.handle_block_response_fast(packet, data[3:])
        ):
            return
        super().receive(packet)

    def transmit(self, cluster_id: int, data: bytes, **kwargs: Any) -> None:
        if self._powered_off or self._offline:
            return
        super().transmit(cluster_id, data, **kwargs)

    def on_cluster_command(
        self, endpoint: int, cluster_id: int, hdr: foundation.ZCLHeader, payload: bytes
    ) -> foundation.Status | None:
        if cluster_id == Ota.cluster_id:
            return self.ota.handle(self.current_packet, hdr, payload)
        if cluster_id == TUNNELING_CLUSTER_ID and self.tunnel is not None:
            return self.tunnel.handle(hdr, payload)
        return super().on_cluster_command(endpoint, cluster_id, hdr, payload)

    # -- what a test or adapter may look at ----------------------------------------------------------------
    @property
    def running_version(self) -> int:
        """The firmware version that actually runs (NVM), whatever CurrentFileVersion reports."""
        return self.ota.running_version

    @property
    def phase(self) -> Phase:
        return self.ota.phase

    @property
    def upgrade_status(self) -> Ota.ImageUpgradeStatus:
        return self.get_attribute(Ota.cluster_id, "image_upgrade_status", side=ClusterType.Client)

    def query_now(self) -> None:
        """Send a Query Next Image Request now, as the device's own poll would."""
        self.ota.query()

    # -- persistence -----------------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        state = super().to_state()
        state["ota_nvm"] = self.ota.nvm.to_json()
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any], **overrides: Any) -> Self:
        node = super().from_state(state, **overrides)
        node.ota.load(OtaNvm.from_json(state["ota_nvm"]))
        node._update_build_id()
        return node

    def __repr__(self) -> str:
        return f"PpmidEmulator({self.ieee}, nwk=0x{int(self.nwk):04X}, {self.ota!r})"
