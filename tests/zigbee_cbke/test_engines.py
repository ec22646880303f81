"""The two ``KeyEstablishmentEngine``s. ``BellowsCbkeEngine`` runs here against a fake of bellows' EZSP object
only (call names, argument names, callback flow, both status families): no radio, so no real ECC is checked.
When bellows is importable its EZSP command table is checked for the names and fields the engine uses."""

from __future__ import annotations

import asyncio
import enum
from typing import Any

import pytest
from cbke_support import DEVICE, FakeTime, Initiator, responder, run

from harness.ch.key_establishment import (
    BellowsCbkeEngine,
    KeyEstablishmentEngine,
    KeyEstablishmentError,
    StandInCbkeEngine,
    stand_in_certificate,
)
from harness.zigbee.key_establishment import SUITE_2, TerminateStatus


class EmberStatus(enum.IntEnum):  # the names bellows' EmberStatus uses (EZSP < 14)
    SUCCESS = 0x00
    ERR_FATAL = 0x01
    OPERATION_IN_PROGRESS = 0xBA


class SlStatus(enum.IntEnum):  # the names bellows' sl_Status uses (EZSP >= 14)
    OK = 0x0000
    FAIL = 0x0001
    IN_PROGRESS = 0x0005


CH_CERT = stand_in_certificate(subject="00-0D-6F-FF-FE-00-00-01")
QEV = bytes(range(37))
MACU, MACV = bytes(range(16)), bytes(range(16, 32))


class FakeEzsp:
    """bellows' ``EZSP`` surface the engine touches: awaitable commands returning the response list, and
    ``add_callback`` / ``remove_callback`` with ``handler(frame_name, args)`` callbacks."""

    def __init__(self, status: type[enum.IntEnum], fail: str = "") -> None:
        self.ok, self.error, self.busy = list(status)
        self.fail = fail
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.callbacks: dict[int, Any] = {}

    def add_callback(self, cb: Any) -> int:
        self.callbacks[len(self.callbacks) + 1] = cb
        return len(self.callbacks)

    def remove_callback(self, id_: int) -> Any:
        return self.callbacks.pop(id_)

    def _status(self, name: str, good: Any) -> Any:
        return self.error if self.fail == name else good

    def _later(self, name: str, args: list[Any]) -> None:
        def fire() -> None:
            for cb in list(self.callbacks.values()):
                cb(name, args)

        asyncio.get_running_loop().call_soon(fire)

    async def getCertificate283k1(self) -> list[Any]:
        self.calls.append(("getCertificate283k1", {}))
        return [self._status("getCertificate283k1", self.ok), list(CH_CERT)]

    async def generateCbkeKeys283k1(self) -> list[Any]:
        self.calls.append(("generateCbkeKeys283k1", {}))
        self._later("generateCbkeKeysHandler283k1", [self._status("generateCbkeKeysHandler283k1", self.ok), list(QEV)])
        return [self._status("generateCbkeKeys283k1", self.busy)]

    async def calculateSmacs283k1(self, **kwargs: Any) -> list[Any]:
        self.calls.append(("calculateSmacs283k1", kwargs))
        self._later("calculateSmacsHandler283k1", [self.ok, list(MACU), list(MACV)])
        return [self.busy]

    async def clearTemporaryDataMaybeStoreLinkKey283k1(self, **kwargs: Any) -> list[Any]:
        self.calls.append(("clearTemporaryDataMaybeStoreLinkKey283k1", kwargs))
        return [self.ok]


def test_both_engines_satisfy_the_interface():
    assert isinstance(StandInCbkeEngine(), KeyEstablishmentEngine)
    assert isinstance(BellowsCbkeEngine(FakeEzsp(EmberStatus)), KeyEstablishmentEngine)


@pytest.mark.parametrize("status", [EmberStatus, SlStatus], ids=["EmberStatus", "sl_Status"])
def test_the_bellows_engine_drives_the_ezsp_cbke_frames(status):
    ezsp = FakeEzsp(status)
    engine = BellowsCbkeEngine(ezsp)

    async def exchange() -> tuple[bytes, bytes, Any]:
        cert = await engine.local_certificate()
        qev = await engine.generate_ephemeral_key()
        macs = await engine.calculate_macs(b"\x01" * 74, b"\x02" * 37)
        await engine.finish(store_link_key=True)
        return cert, qev, macs

    cert, qev, macs = run(exchange())
    assert (cert, qev, macs.initiator, macs.responder) == (CH_CERT, QEV, MACU, MACV)
    assert [name for name, _ in ezsp.calls] == [
        "getCertificate283k1",
        "generateCbkeKeys283k1",
        "calculateSmacs283k1",
        "clearTemporaryDataMaybeStoreLinkKey283k1",
    ]
    assert ezsp.calls[2][1] == {
        "amInitiator": False,
        "partnerCertificate": [1] * 74,
        "partnerEphemeralPublicKey": [2] * 37,
    }
    assert ezsp.calls[3][1] == {"storeLinkKey": True} and ezsp.callbacks == {}, "callback removed after use"


@pytest.mark.parametrize(
    ("fail", "step"),
    [
        ("getCertificate283k1", "local_certificate"),
        ("generateCbkeKeys283k1", "generate_ephemeral_key"),
        ("generateCbkeKeysHandler283k1", "generate_ephemeral_key"),
    ],
)
def test_a_coordinator_refusal_is_a_lab_error_naming_the_frame(fail, step):
    engine = BellowsCbkeEngine(FakeEzsp(EmberStatus, fail=fail))
    with pytest.raises(KeyEstablishmentError, match=fail):
        run(getattr(engine, step)())


def test_a_coordinator_without_a_certificate_makes_the_responder_answer_no_resources():
    ch = responder(FakeTime(), BellowsCbkeEngine(FakeEzsp(EmberStatus, fail="getCertificate283k1")))
    (reply,) = run(ch.on_command(DEVICE.dashed, 0, Initiator().initiate(), 1, DEVICE))
    assert reply.payload[0] == TerminateStatus.NO_RESOURCES
    assert "getCertificate283k1" in ch.lab_notes[0] and "installed certificate" in ch.lab_notes[0]


def test_the_stand_in_engine_is_deterministic_and_suite_sized():
    a, b = StandInCbkeEngine(), StandInCbkeEngine()
    assert run(a.generate_ephemeral_key()) == run(b.generate_ephemeral_key())
    assert len(run(a.generate_ephemeral_key())) == SUITE_2.ephemeral_key_octets
    assert len(run(a.local_certificate())) == SUITE_2.certificate_octets
    macs = StandInCbkeEngine.macs_for(b"x" * 74, b"y" * 37)
    assert len(macs.initiator) == len(macs.responder) == 16 and macs.initiator != macs.responder


def test_bellows_names_the_frames_and_fields_the_engine_uses():
    commands = pytest.importorskip(
        "bellows.ezsp.v4.commands", reason="bellows is optional (pip install bellows==1.2.1 for a coordinator)"
    ).COMMANDS
    assert set(commands["calculateSmacs283k1"][1]) == {"amInitiator", "partnerCertificate", "partnerEphemeralPublicKey"}
    assert set(commands["clearTemporaryDataMaybeStoreLinkKey283k1"][1]) == {"storeLinkKey"}
    assert list(commands["generateCbkeKeysHandler283k1"][2]) == ["status", "ephemeralPublicKey"]
    assert list(commands["calculateSmacsHandler283k1"][2]) == ["status", "initiatorSmac", "responderSmac"]
    assert list(commands["getCertificate283k1"][2]) == ["status", "localCert"]
    assert commands["generateCbkeKeys283k1"][1] == {}
