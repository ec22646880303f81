"""``python -m harness.cli.power_switch``: the power-cycle command of the emulators' power switch.

Named as ``adapter.power_cycle_command`` (e.g. ``.venv/bin/python -m harness.cli.power_switch``) it asks the
switch the loopback radio serves (``harness.radio.power_switch``) to power-cycle the device, as a relay
controller would, and returns as soon as the switch has accepted: the cut comes ``emulator.power_off_latency``
later. Kept apart from the radio package so that it starts in milliseconds (it imports nothing but the
standard library). Exit code 0 when the switch accepted, 1 when it refused or could not be reached, 2 when the
environment the DUT adapter sets is missing.
"""

from __future__ import annotations

import os
import socket
import sys

#: Environment of the power-cycle command (set by the DUT adapter).
ADDRESS_ENV = "OTA_POWER_SWITCH"
DEVICE_ENV = "OTA_DUT_EUI64"
OFF_SECONDS_ENV = "OTA_POWER_OFF_SECONDS"
#: The command gives up on a switch that does not answer within this many (real) seconds.
COMMAND_TIMEOUT_S = 10.0


def request_cycle(address: str, eui64: str, off_s: float, timeout_s: float = COMMAND_TIMEOUT_S) -> str:
    """The command side: ask the switch at ``host:port`` for a cycle; returns its answer line."""
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=timeout_s) as connection:
        connection.sendall(f"cycle {eui64} {off_s:g}\n".encode("ascii"))
        return connection.makefile("r", encoding="ascii").readline().strip()


def main() -> int:
    """Ask the switch for one cycle, reading the switch, the device and the off time from the environment."""
    missing = [name for name in (ADDRESS_ENV, DEVICE_ENV) if not os.environ.get(name)]
    if missing:
        print(
            f"power switch: {', '.join(missing)} not set (run by the DUT adapter on the loopback radio)",
            file=sys.stderr,
        )
        return 2
    try:
        answer = request_cycle(
            os.environ[ADDRESS_ENV], os.environ[DEVICE_ENV], float(os.environ.get(OFF_SECONDS_ENV) or 0)
        )
    except (OSError, ValueError) as err:
        print(f"power switch at {os.environ[ADDRESS_ENV]}: {err}", file=sys.stderr)
        return 1
    if answer != "ok":
        print(f"power switch: {answer}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
