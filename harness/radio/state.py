"""Network state kept between runs on a real coordinator: zigpy's database and a network backup JSON.

Why: a certification bench runs night after night against the same DUT. The coordinator's network
(channel, PAN ID, extended PAN ID, network key and frame counter, trust-centre link key) and zigpy's
device table must survive the harness process, so a DUT joined once is found again by its EUI-64 without
re-pairing. zigpy already persists both in its SQLite database (``database_path``), and on start restores
the most recent network backup into a coordinator that has no network. This module only decides where
those files live (the profile's ``adapter.state_dir``) and adds one file for people: the network backup
in the open coordinator backup JSON format (the one zigpy-cli, ZHA and Zigbee2MQTT read), rewritten after
every start, and used to seed zigpy when the database is missing (a new machine, a deleted database).

The loopback radio keeps no state: every scenario forms a fresh emulated network, so runs stay
reproducible.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zigpy.application
import zigpy.backups

from harness.errors import ConfigurationError
from harness.files import STATE_LIMIT, FileRefused, read_regular_text

LOGGER = logging.getLogger(__name__)

DATABASE_NAME = "zigbee.db"
BACKUP_NAME = "network-backup.json"


@dataclass(frozen=True)
class NetworkStateDir:
    """The files of one bench's network state under ``adapter.state_dir``."""

    directory: Path

    @property
    def database_path(self) -> Path:
        """zigpy's SQLite database: devices (by EUI-64), endpoints, clusters, attributes, network backups."""
        return self.directory / DATABASE_NAME

    @property
    def backup_path(self) -> Path:
        """The latest network backup, open coordinator backup JSON."""
        return self.directory / BACKUP_NAME

    def prepare(self) -> Path:
        """Create the directory; ConfigurationError naming it when that is impossible."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigurationError(
                f"the state directory {self.directory} (pixit.adapter.state_dir) cannot be created: {err}"
            ) from None
        if not os.access(self.directory, os.W_OK):
            raise ConfigurationError(f"the state directory {self.directory} (pixit.adapter.state_dir) is not writable")
        return self.database_path

    def seed(self, app: zigpy.application.ControllerApplication) -> bool:
        """Give zigpy the JSON backup when its database holds none (True when one was added), so a
        coordinator without a network is restored to the bench's network instead of forming a new one."""
        if app.backups.most_recent_backup() is not None or not self.backup_path.is_file():
            return False
        try:
            backup = zigpy.backups.NetworkBackup.from_open_coordinator_json(
                json.loads(read_regular_text(self.backup_path, "network backup", STATE_LIMIT))
            )
        except (FileRefused, ValueError, KeyError, TypeError) as err:
            raise ConfigurationError(
                f"the network backup {self.backup_path} cannot be read ({type(err).__name__}: {err}); "
                "restore it from a copy or delete it to form a new network (the DUT must then join again)"
            ) from None
        app.backups.add_backup(backup)
        return True

    def save(self, app: zigpy.application.ControllerApplication) -> dict[str, Any]:
        """Write the running network as open coordinator backup JSON (atomically); returns its summary."""
        backup = app.backups.from_network_state()
        data = backup.as_open_coordinator_json()
        temporary = self.backup_path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        temporary.replace(self.backup_path)
        return network_summary(app)


def network_summary(app: zigpy.application.ControllerApplication) -> dict[str, Any]:
    """What an operator needs to recognise the network (no keys: evidence files are shared)."""
    info, node = app.state.network_info, app.state.node_info
    return {
        "coordinator_ieee": str(node.ieee),
        "channel": int(info.channel) if info.channel is not None else None,
        "pan_id": f"0x{int(info.pan_id):04X}" if info.pan_id is not None else None,
        "extended_pan_id": str(info.extended_pan_id),
    }
