"""Shared pieces for the CBKE tests: the device side of a full exchange, built with the suite's own command
tables, against the CH's ``StandInCbkeEngine`` (NOT cryptographically valid: fixed patterns, no ECC)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import zigpy.types as t
from zigpy.zcl import foundation

from harness.ch.key_establishment import (
    CbkeConfig,
    KeyEstablishmentResponder,
    Reply,
    StandInCbkeEngine,
    stand_in_certificate,
)
from harness.crypto.eui64 import Eui64
from harness.radio.frames import zcl_frame
from harness.zigbee.key_establishment import (
    KE_TO_SERVER,
    SUITE_2,
    KeyEstablishmentSuite,
    SuiteSpec,
    initiate_payload,
    terminate_payload,
)

DEVICE = Eui64.parse("00-0D-6F-00-0A-BC-DE-07")
OTHER_DEVICE = Eui64.parse("00-0D-6F-00-0A-BC-DE-08")
#: The device's advertised generate times (seconds): the CH's waits are these plus its margin.
DEVICE_EPHEMERAL_S = 5
DEVICE_CONFIRM_S = 6
INITIATE = KE_TO_SERVER.initiate_key_establishment_request.id
EPHEMERAL = KE_TO_SERVER.ephemeral_data_request.id
CONFIRM = KE_TO_SERVER.confirm_key_data_request.id
TERMINATE = KE_TO_SERVER.terminate_key_establishment.id


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


@dataclass
class FakeTime:
    value: float = 0.0

    def __call__(self) -> float:
        return self.value


@dataclass
class Initiator:
    """The device's half: its certificate, a fake QEU, and the MACU the stand-in engine will expect."""

    eui64: Eui64 = DEVICE
    suite: SuiteSpec = SUITE_2
    certificate: bytes = field(default=b"")
    qeu: bytes = field(default=b"")

    def __post_init__(self) -> None:
        self.certificate = self.certificate or stand_in_certificate(self.suite, subject=self.eui64)
        self.qeu = self.qeu or bytes([0x02]) + bytes(range(0x40, 0x40 + self.suite.ephemeral_key_octets - 1))

    def initiate(self, suite: int | None = None, identity: bytes | None = None) -> bytes:
        return initiate_payload(
            KeyEstablishmentSuite(int(self.suite.suite) if suite is None else suite),
            DEVICE_EPHEMERAL_S,
            DEVICE_CONFIRM_S,
            self.certificate if identity is None else identity,
        )

    def ephemeral(self) -> bytes:
        return KE_TO_SERVER.ephemeral_data_request.schema(ephemeral_data=t.Bytes(self.qeu)).serialize()

    @property
    def macu(self) -> bytes:
        return StandInCbkeEngine.macs_for(self.certificate, self.qeu).initiator

    @property
    def macv(self) -> bytes:
        return StandInCbkeEngine.macs_for(self.certificate, self.qeu).responder

    def confirm(self, macu: bytes | None = None) -> bytes:
        schema = KE_TO_SERVER.confirm_key_data_request.schema
        return schema(secure_message_authentication_code=self.macu if macu is None else macu).serialize()

    def terminate(self, status: int = 0x04) -> bytes:
        return terminate_payload(status, 10, self.suite.suite)


def responder(time: FakeTime, engine: StandInCbkeEngine | None = None, **config: Any) -> KeyEstablishmentResponder:
    return KeyEstablishmentResponder(engine or StandInCbkeEngine(), CbkeConfig(**config), now=time)


def client_frame(command_id: int, payload: bytes, tsn: int) -> bytes:
    """A device→CH ZCL frame (client to server, cluster-specific)."""
    return zcl_frame(command_id, payload, tsn=tsn, direction=foundation.Direction.Client_to_Server)


async def full_exchange(
    time: FakeTime, device: Initiator
) -> tuple[KeyEstablishmentResponder, list[tuple[bytes, Reply]]]:
    """Initiate → Ephemeral → Confirm, one second apart: each request frame with the CH's reply."""
    ch = responder(time)
    exchange = []
    for tsn, (command, payload) in enumerate(
        [(INITIATE, device.initiate()), (EPHEMERAL, device.ephemeral()), (CONFIRM, device.confirm())], start=0x21
    ):
        time.value += 1.0
        (reply,) = await ch.on_command(device.eui64.dashed, command, payload, tsn, device.eui64)
        exchange.append((client_frame(command, payload, tsn), reply))
    return ch, exchange
