"""Power cuts at every persistence point of one small image's download and activation (timing-and-security
B4 #15, S2; PZ-26, PZ-32, CS-10): the device always comes back running a verified image, old or new,
never a half state, and completes the update afterwards while the CH keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from zigpy.zcl import ClusterType, foundation
from zigpy.zcl.clusters.general import Ota

from harness.ch.ota_server import Activation, HeldImage
from harness.emulator.ota_client import PersistPoint, Phase
from harness.emulator.ppmid import PpmidEmulator

if TYPE_CHECKING:
    from conftest import Env, EnvFactory

Status = foundation.Status
PAYLOAD = 200  # 60 + 200 + 70 octets: 7 blocks of 48
UPDATE_BUDGET = 3 * 24 * 3600.0


class PowerCut:
    """A persist hook that cuts the power right after the n-th NVM write (0 = never), keeping the NVM."""

    def __init__(self, env: Env, at: int) -> None:
        self.env = env
        self.at = at
        self.points: list[PersistPoint] = []
        self.data: bytes | None = None
        self.point: PersistPoint | None = None

    def __call__(self, device: PpmidEmulator, point: PersistPoint) -> None:
        self.points.append(point)
        if len(self.points) == self.at and self.data is None:
            self.data = device.snapshot()
            self.point = point
            self.env.app.detach_node(device)
            device.power_off()


def _serve(env: Env, held: HeldImage, until: Callable[[], bool]) -> bool:
    """Let the CH keep serving until ``until()``; when the device waits after 0xFFFFFFFF, tell it to upgrade
    now (the CH's "upgrade now", as the PPMID's CH-managed activation does)."""

    def waiting() -> bool:
        return env.device.powered and env.device.phase is Phase.WAITING_TO_UPGRADE

    for _ in range(20):
        if not env.run_until(lambda: until() or waiting(), UPDATE_BUDGET / 20):
            continue
        if until():
            return True
        env.upgrade_now(held)
    return until()


def _serve_until_updated(env: Env, held: HeldImage) -> bool:
    return _serve(env, held, lambda: env.device.running_version == held.file_version and env.device.powered)


@pytest.mark.parametrize("activation", [Activation.NOW, Activation.LATER, Activation.WAIT])
def test_power_cut_at_every_persistence_point(make_env: EnvFactory, activation: Activation) -> None:
    # A dry run names the persistence points of an uninterrupted update.
    env = make_env()
    old = env.running
    dry = PowerCut(env, 0)
    env.device.persist_hook = dry
    held = env.hold(env.image(payload_size=PAYLOAD), activation, delay_s=120)
    env.notify()
    assert _serve_until_updated(env, held)
    points = list(dry.points)
    env.close()
    assert points.count(PersistPoint.BLOCK_STORED) == 7
    for point in (
        PersistPoint.DOWNLOAD_START,
        PersistPoint.DOWNLOAD_COMPLETE,
        PersistPoint.IMAGE_VERIFIED,
        PersistPoint.ACTIVATION_PENDING,
        PersistPoint.ACTIVATION_START,
        PersistPoint.ACTIVATION_DONE,
    ):
        assert point in points, f"{point} missing from {points}"

    outcomes: list[tuple[str, str]] = []
    for n in range(1, len(points) + 1):
        env = make_env()
        held = env.hold(env.image(payload_size=PAYLOAD), activation, delay_s=120)
        cut = PowerCut(env, n)
        env.device.persist_hook = cut
        env.notify()
        assert _serve(env, held, lambda cut=cut: cut.data is not None), f"no write #{n}"
        assert cut.data is not None and cut.point is not None
        device = env.power_cycle(cut.data)
        _check_consistent_boot(device, old, held, cut.point)
        outcomes.append((str(cut.point), "new" if device.running_version == held.file_version else "old"))
        assert _serve_until_updated(env, held), f"after a cut at write #{n} ({cut.point}) no update"
        env.run_for(30)
        assert env.current_version == held.file_version
        assert env.read_basic() == "EMU-PPMID"
        env.close()
    print(f"\n{activation.value}: {len(points)} power cuts, each recovered: {outcomes}")
    # Only a cut once the swap has started may come back on the new image.
    assert {state for point, state in outcomes if point not in ("activation-start", "activation-done")} == {"old"}
    assert dict(outcomes)["activation-done"] == "new"


def _check_consistent_boot(device: PpmidEmulator, old: int, held: HeldImage, point: PersistPoint) -> None:
    """Right after boot: running old or new, CurrentFileVersion agrees, a held image is a verified one."""
    running = device.running_version
    assert running in (old, held.file_version), f"cut at {point}: runs {running:#x}"
    current = device.get_attribute(Ota.cluster_id, "current_file_version", side=ClusterType.Client)
    assert current == running
    pending = device.ota.pending
    if pending is not None:
        verdict = device.ota.verifier(pending.data, pending.identity, running)
        assert verdict.ok, f"cut at {point}: holds an unverified image ({verdict.reason})"
    download = device.ota.download
    if download is not None:
        assert bytes(download.data) == held.data[: download.offset], f"cut at {point}: corrupt partial image"


def test_download_resumes_from_the_persisted_offset(make_env: EnvFactory) -> None:
    """PZ-26: a cut after the block at 432 is stored → after boot the next request is for 480."""
    env = make_env()
    held = env.hold(env.image(payload_size=2000))
    cut = PowerCut(env, 0)

    def at_480(device: PpmidEmulator, point: PersistPoint) -> None:
        cut.points.append(point)
        download = device.ota.download
        if cut.data is None and download is not None and download.offset == 480:
            cut.data = device.snapshot()
            env.app.detach_node(device)
            device.power_off()

    env.device.persist_hook = at_480
    env.notify()
    assert env.run_until(lambda: cut.data is not None, 600)
    assert cut.data is not None
    mark = env.hub.mark()
    env.power_cycle(cut.data)
    assert env.run_until(lambda: bool(env.hub.named("upgrade_end", mark)), 600)
    after = env.hub.block_offsets(mark)
    assert after[0] == 480
    assert env.hub.end_statuses(mark) == [Status.SUCCESS]
    assert env.run_until(lambda: env.device.running_version == held.file_version, 600)


def test_verified_image_survives_a_power_cycle(make_env: EnvFactory) -> None:
    """PZ-32: waiting after 0xFFFFFFFF, power-cycled → UER SUCCESS again, no block requests, old version."""
    env = make_env()
    old = env.running
    held = env.hold(env.image(), Activation.WAIT)
    assert env.download(600)
    assert env.run_until(lambda: env.device.phase is Phase.WAITING_TO_UPGRADE, 60)
    mark = env.hub.mark()
    env.power_cycle()
    env.run_for(60)
    assert env.hub.end_statuses(mark) == [Status.SUCCESS]
    assert not env.hub.named("image_block", mark)
    assert env.running == old and env.current_version == old
    env.upgrade_now(held)
    assert env.run_until(lambda: env.device.running_version == held.file_version, 300)


def test_restart_instead_of_resume_is_a_declared_choice(make_env: EnvFactory) -> None:
    """PZ-26 alternative: with resume_download=False the download starts again from 0 after a cut."""
    env = make_env(resume_download=False)
    env.hold(env.image(payload_size=2000))
    cut = PowerCut(env, 6)
    env.device.persist_hook = cut
    env.notify()
    assert env.run_until(lambda: cut.data is not None, 600)
    assert cut.data is not None
    mark = env.hub.mark()
    env.power_cycle(cut.data)
    env.notify()
    assert env.run_until(lambda: bool(env.hub.named("upgrade_end", mark)), 600)
    assert env.hub.block_offsets(mark)[0] == 0
    assert env.hub.end_statuses(mark) == [Status.SUCCESS]
