"""Helpers of the HCALCS emulator tests (a module with its own name: every test directory has a conftest)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyStore
from harness.emulator.hcalcs import HcalcsGbcs
from harness.gbcs import (
    decode_message,
)
from harness.gbcs.commands import Cs06Defect, DccCommands

START = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
OLD_VERSION = 0x0123ABCF
NEW_VERSION = 0x0123ABD0


@dataclass
class Suite:
    """The suite's side: builds CS06/CS08 as supplier + ACB (``harness.gbcs.commands``), judges what the
    device sends. Counters come from the fixed test time, so they are the same in every run."""

    keystore: KeyStore
    device: Eui64
    supplier: Eui64
    dcc: DccCommands = field(init=False)

    def __post_init__(self) -> None:
        self.dcc = DccCommands(self.keystore, self.device, now=lambda: START, supplier=self.supplier)

    @property
    def counter(self) -> int:
        """The originator counter of the last command built."""
        return self.dcc.last_counter

    def cs06(
        self,
        image_hash: bytes,
        *,
        when: dt.datetime | None = None,
        counter: int | None = None,
        tamper_signature: bool = False,
    ) -> bytes:
        defect = Cs06Defect.SIGNED_BY_ANOTHER_PARTY if tamper_signature else Cs06Defect.NONE
        return self.dcc.cs06(image_hash, execute_at=when, counter=counter, defect=defect)

    def cs08(self) -> bytes:
        return self.dcc.cs08()

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
