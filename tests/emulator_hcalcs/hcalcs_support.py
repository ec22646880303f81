"""Helpers of the HCALCS emulator tests (a module with its own name: every test directory has a conftest)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyRole, KeyStore
from harness.emulator.hcalcs import CS06, CS08, HcalcsGbcs
from harness.gbcs import (
    CraFlag,
    GeneralBlockHeader,
    GeneralSigning,
    decode_message,
    encode_apdu,
    encode_payload,
    protect,
    sign,
    wrap,
)
from harness.gbcs.security import DCC_BOXED_ACB

START = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
OLD_VERSION = 0x0123ABCF
NEW_VERSION = 0x0123ABD0


@dataclass
class Suite:
    """The suite's side: builds CS06/CS08 as supplier + ACB, judges what the device sends."""

    keystore: KeyStore
    device: Eui64
    supplier: Eui64
    counter: int = 1000

    def cs06(
        self,
        image_hash: bytes,
        *,
        when: dt.datetime | None = None,
        counter: int | None = None,
        tamper_signature: bool = False,
    ) -> bytes:
        if counter is None:
            self.counter += 1
            counter = self.counter
        value: dict[str, Any] = {"manufacturerImageHash": image_hash, "originatorCounter": counter}
        if when is not None:
            value["executionDateTime"] = when
        header = GeneralBlockHeader(CraFlag.COMMAND, counter, self.supplier, self.device, CS06)
        unsigned = GeneralSigning(header, encode_payload(CS06, CraFlag.COMMAND, value))
        if tamper_signature:
            other = self.keystore.private_key(self.device, KeyRole.DS)  # a key that is not the supplier's
            signed = sign(unsigned, other)
            return encode_apdu(
                wrap(
                    signed,
                    self.keystore.private_key(DCC_BOXED_ACB, KeyRole.KA),
                    self.keystore.public_key(self.device, KeyRole.KA),
                )
            )
        return encode_apdu(protect(unsigned, self.keystore))

    def cs08(self) -> bytes:
        self.counter += 1
        header = GeneralBlockHeader(
            CraFlag.COMMAND,
            self.counter,
            DCC_BOXED_ACB,
            self.device,
            CS08,
            supplementary_remote_party=self.supplier,
            supplementary_remote_party_counter=self.counter,
        )
        unsigned = GeneralSigning(header, encode_payload(CS08, CraFlag.COMMAND, None))
        return encode_apdu(protect(unsigned, self.keystore, signed=False))

    def judge(self, apdu: bytes) -> Any:
        message = decode_message(apdu, keys=self.keystore)
        assert message.verdict == "valid", message.to_dict()
        return message


@dataclass
class Core:
    gbcs: HcalcsGbcs
    sent: list[bytes] = field(default_factory=list)
    at: list[dt.datetime] = field(default_factory=lambda: [START])

    def advance(self, seconds: float) -> None:
        self.at[0] += dt.timedelta(seconds=seconds)


CoreFactory = Callable[..., Core]
