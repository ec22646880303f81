"""The emulators' power switch: a bench's power-cycle command, served by the loopback radio over a local socket.

Why: a real bench power-cycles its device with a shell command (``adapter.power_cycle_command``) that may cut
the supply only some time after it starts (a relay's controller, a USB hub's delay). To prove that the suite
judges a power cycle from the instant the device lost power, not from when the suite decided to cut it, the
reference emulators can be switched the same way. When the profile names a command, the DUT adapter starts this
switch on the loopback radio and passes its address to the command in ``OTA_POWER_SWITCH``; the command
(``python -m harness.cli.power_switch``) asks for a cycle and returns at once, like a relay controller; the
switch then cuts the device's power ``emulator.power_off_latency`` later on the run's clock, keeps it off for
``OTA_POWER_OFF_SECONDS`` and powers it on again (``LoopbackApp.power_cycle_node``: it rejoins by announcing).
On the virtual clock the command runs while time is held (``Clock.run_held``), so the latency starts when the
command has returned.

Protocol, one exchange per connection: the command sends ``cycle <EUI-64> <off seconds>``; the switch answers
``ok`` once the cycle is scheduled, or ``error <reason>``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import zigpy.types as t

if TYPE_CHECKING:
    from harness.radio.loopback import LoopbackApp


class PowerSwitch:
    """The switch's server side, on the loopback radio's event loop."""

    def __init__(self, app: LoopbackApp, latency_s: float = 0.0) -> None:
        self.app = app
        self.latency_s = latency_s
        self.address = ""
        self._server: asyncio.AbstractServer | None = None
        self._cycles: set[asyncio.Task[float]] = set()

    async def start(self) -> str:
        """Listen on a free local port; returns ``host:port`` (what the command finds in ``OTA_POWER_SWITCH``)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.address = f"{host}:{port}"
        return self.address

    def close(self) -> None:
        """Stop listening and abandon cycles not yet done (the radio is going away with its devices)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in self._cycles:
            task.cancel()
        self._cycles.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readline()).decode("ascii", errors="replace").split()
            writer.write((self._request(line) + "\n").encode("ascii"))
            await writer.drain()
        finally:
            writer.close()

    def _request(self, words: list[str]) -> str:
        if len(words) != 3 or words[0] != "cycle":
            return "error expected: cycle <EUI-64> <off seconds>"
        try:
            ieee, off_s = t.EUI64.convert(words[1].replace("-", ":")), float(words[2])
        except ValueError as err:
            return f"error {err}"
        if self.app.node(ieee) is None:
            return f"error no powered device {words[1]} on the loopback radio"
        task = asyncio.get_running_loop().create_task(
            self.app.power_cycle_node(ieee, max(0.0, off_s), latency_s=self.latency_s), name="power-switch"
        )
        self._cycles.add(task)
        task.add_done_callback(self._cycles.discard)
        return "ok"
