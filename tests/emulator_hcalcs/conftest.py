"""Fixtures for the HCALCS emulator tests: a deterministic test PKI, the suite-side CS06/CS08 builders and a
radio-free ``HcalcsGbcs`` with a settable UTC clock."""

from __future__ import annotations

from typing import Any

import pytest
from hcalcs_support import OLD_VERSION, START, Core, CoreFactory, Suite

from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyStore
from harness.crypto.pki import TestPki
from harness.emulator.hcalcs import HcalcsGbcs, HcalcsKeys, HcalcsNvm
from harness.emulator.hcalcs_faults import parse_hcalcs_faults


@pytest.fixture(scope="session")
def pki() -> TestPki:
    return TestPki.generate(seed="tests/emulator_hcalcs")


@pytest.fixture(scope="session")
def keystore(pki: TestPki) -> KeyStore:
    return pki.keystore()


@pytest.fixture(scope="session")
def hcalcs_eui(pki: TestPki) -> Eui64:
    return pki.party("hcalcs").eui


@pytest.fixture(scope="session")
def supplier_eui(pki: TestPki) -> Eui64:
    return pki.party("supplier").eui


@pytest.fixture
def suite(keystore: KeyStore, hcalcs_eui: Eui64, supplier_eui: Eui64) -> Suite:
    return Suite(keystore, hcalcs_eui, supplier_eui)


@pytest.fixture
def make_core(keystore: KeyStore, hcalcs_eui: Eui64) -> CoreFactory:
    def _make(*faults: str, nvm: HcalcsNvm | None = None, **options: Any) -> Core:
        sent: list[bytes] = []
        at = [START]
        gbcs = HcalcsGbcs(
            hcalcs_eui,
            HcalcsKeys.from_keystore(keystore, hcalcs_eui),
            nvm or HcalcsNvm(running_version=OLD_VERSION),
            put=sent.append,
            now=lambda: at[0],
            faults=parse_hcalcs_faults(faults),
            **options,
        )
        return Core(gbcs, sent, at)

    return _make
