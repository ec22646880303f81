"""Radio factory: one way to obtain the zigpy ControllerApplication class for a run, emulator or hardware.

Why one factory for all radios, the loopback included: the loopback radio must not be special-cased
anywhere above the radio seam, so it is loaded exactly like bellows (``load_radio("loopback")`` and
``load_radio("harness.radio.loopback:LoopbackApp")`` are the same class) and wrapped by the same glue
(``build_app_class``).

Radio libraries are optional and imported only when asked for; a missing one is a configuration error
that names the package to install, never an ImportError traceback.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zigpy.application
import zigpy.config as conf

from harness.clock import Clock
from harness.errors import ConfigurationError
from harness.radio.glue import SE_ENDPOINT_DESCRIPTOR, HarnessAppMixin
from harness.radio.loopback import LoopbackApp

LOGGER = logging.getLogger(__name__)

DEFAULT_RADIO = "loopback"


#: radio name → (module:Class, pip requirement that provides it; None = part of this suite).
#: Versions are the ones verified together with zigpy 2.4.0.
RADIOS: dict[str, tuple[str, str | None]] = {
    "loopback": ("harness.radio.loopback:LoopbackApp", None),
    "ezsp": ("bellows.zigbee.application:ControllerApplication", "bellows==1.2.1"),
    "znp": ("zigpy_znp.zigbee.application:ControllerApplication", "zigpy-znp==1.1.1"),
    "deconz": ("zigpy_deconz.zigbee.application:ControllerApplication", "zigpy-deconz==1.1.0"),
    "xbee": ("zigpy_xbee.zigbee.application:ControllerApplication", "zigpy-xbee==0.22.0"),
    "zigate": ("zigpy_zigate.zigbee.application:ControllerApplication", "zigpy-zigate==0.14.0"),
}


#: Profile ``flow_control`` -> the value each radio library needs in zigpy's config, or a ``str`` reason
#: when the library cannot honour it. zigpy's own serial layer (zigpy-znp, zigpy-deconz, zigpy-zigate and a
#: custom ``module:Class``) reads None as "no flow control". Two libraries differ (read from their source):
#: bellows 1.2.1 opens the port with XON/XOFF when flow_control is None (``xonxoff=flow_control in (None,
#: "software")``), and its schema admits only hardware, software or None, so "none" cannot be expressed;
#: zigpy-xbee 0.22.0 always opens the port with XON/XOFF and ignores the setting.
_ZIGPY_FLOW_CONTROL: dict[str, str | None] = {"none": None, "software": "software", "hardware": "hardware"}
FLOW_CONTROL: dict[str, dict[str, str | None]] = {
    "ezsp": {
        "none": "bellows (EZSP) has no 'no flow control' setting: with flow control unset it opens the port "
        "with XON/XOFF. EmberZNet NCP firmware runs ASH with RTS/CTS (hardware) or XON/XOFF (software). Set "
        "pixit.flow_control to the one the stick's firmware was built with (software for most 115200 baud "
        "sticks, hardware for most 460800 baud ones)",
        "software": "software",
        "hardware": "hardware",
    },
    "xbee": {
        "none": "zigpy-xbee always opens the port with XON/XOFF and ignores flow_control: set "
        "pixit.flow_control to software",
        "software": "software",
        "hardware": "zigpy-xbee always opens the port with XON/XOFF (no RTS/CTS) and ignores flow_control: set "
        "pixit.flow_control to software and configure the XBee for it",
    },
}


#: Radio-specific zigpy config keys the suite sets. bellows by default runs its serial protocol in a thread
#: of its own; a start that exceeds budgets.start cancels it in a way that leaves the thread running (the
#: process then never exits), and the suite's event loop does nothing else, so bellows runs on it instead.
RADIO_CONFIG: dict[str, dict[str, Any]] = {"ezsp": {"use_thread": False}}


def flow_control_problem(radio: str, flow_control: str) -> str | None:
    """Why ``radio`` cannot honour the profile's ``flow_control``, or None when it can."""
    setting = FLOW_CONTROL.get(radio.strip().lower(), {}).get(flow_control, "")
    return setting if setting not in ("", "software", "hardware") else None


def flow_control_setting(radio: str, flow_control: str) -> str | None:
    """zigpy's ``flow_control`` config value for the profile's value; ConfigurationError if not honoured."""
    problem = flow_control_problem(radio, flow_control)
    if problem is not None:
        raise ConfigurationError(f"radio {radio!r} cannot use flow_control {flow_control!r}: {problem}")
    return FLOW_CONTROL.get(radio.strip().lower(), _ZIGPY_FLOW_CONTROL)[flow_control]


def load_radio(name_or_spec: str = DEFAULT_RADIO) -> type[zigpy.application.ControllerApplication]:
    """The ControllerApplication class for a radio name (``RADIOS``) or a ``package.module:Class`` spec."""
    key = name_or_spec.strip()
    if key.lower() in RADIOS:
        spec, requirement = RADIOS[key.lower()]
    elif ":" in key:
        spec, requirement = key, None
    else:
        raise ConfigurationError(
            f"radio {name_or_spec!r} is unknown. Use one of {', '.join(RADIOS)} "
            "or a 'package.module:ClassName' naming a zigpy ControllerApplication subclass."
        )
    return _import_radio(spec, requirement, name_or_spec)


def _import_radio(spec: str, requirement: str | None, asked: str) -> type[zigpy.application.ControllerApplication]:
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ConfigurationError(f"radio {asked!r}: expected 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if requirement is not None:
            extra = next((name for name, (_, req) in RADIOS.items() if req == requirement), "hardware")
            raise ConfigurationError(
                f"radio {asked!r} needs the Python package {requirement.split('==')[0]!r}, which is not "
                f"installed (missing module {err.name!r}). ACTION: install the suite's extra for it "
                f"(.venv/bin/pip install -e '.[{extra}]', or '.[hardware]' for every radio) or "
                f"pip install '{requirement}', then re-run."
            ) from None
        raise ConfigurationError(f"radio {asked!r}: cannot import module {module_name!r} ({err})") from None
    cls = getattr(module, class_name, None)
    if cls is None:
        raise ConfigurationError(f"radio {asked!r}: module {module_name!r} has no attribute {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, zigpy.application.ControllerApplication)):
        raise ConfigurationError(
            f"radio {asked!r}: {spec} is a {type(cls).__name__}, not a subclass of "
            "zigpy.application.ControllerApplication"
        )
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise ConfigurationError(f"radio {asked!r}: {spec} is abstract (does not implement {missing})")
    return cls


def build_app_class(
    radio_cls: type[zigpy.application.ControllerApplication],
) -> type[HarnessAppMixin]:
    """The radio class with the harness glue in front (``HarnessLoopbackApp``, ...); idempotent."""
    if issubclass(radio_cls, HarnessAppMixin):
        return radio_cls
    return type(f"Harness{radio_cls.__name__}", (HarnessAppMixin, radio_cls), {})


def default_config(path: str = "loopback://", **overrides: Any) -> dict[str, Any]:
    """The zigpy config the suite runs with: OTA, backups, topology scans and watchdog off, no database,
    and the SE (0x0109) coordinator endpoint declared on every radio. ``overrides`` replace top-level keys."""
    # zigpy's own key constants: a misspelt key would be accepted silently (its schema allows extras).
    config: dict[str, Any] = {
        conf.CONF_DEVICE: {conf.CONF_DEVICE_PATH: path},
        conf.CONF_DATABASE: None,
        conf.CONF_OTA: {conf.CONF_OTA_ENABLED: False, conf.CONF_OTA_BROADCAST_ENABLED: False},
        conf.CONF_NWK_BACKUP_ENABLED: False,
        conf.CONF_TOPO_SCAN_ENABLED: False,
        conf.CONF_WATCHDOG_ENABLED: False,
        conf.CONF_NWK: {conf.CONF_NWK_CHANNEL: 15},
        conf.CONF_ADDITIONAL_ENDPOINTS: [copy.deepcopy(SE_ENDPOINT_DESCRIPTOR)],
    }
    config.update(overrides)
    return config


def radio_config(
    radio: str, path: str, *, baud_rate: int, flow_control: str, database_path: str | Path | None = None
) -> dict[str, Any]:
    """``default_config`` for a real coordinator: its port settings (flow control as the radio library needs
    it, see ``FLOW_CONTROL``) and zigpy's database in the bench's state directory (``harness.radio.state``)."""
    device = {
        conf.CONF_DEVICE_PATH: path,
        conf.CONF_DEVICE_BAUDRATE: baud_rate,
        conf.CONF_DEVICE_FLOW_CONTROL: flow_control_setting(radio, flow_control),
    }
    database = str(database_path) if database_path is not None else None
    extra = RADIO_CONFIG.get(radio.strip().lower(), {})
    return default_config(path, **{conf.CONF_DEVICE: device, conf.CONF_DATABASE: database, **extra})


async def start_app(
    radio: str = DEFAULT_RADIO,
    config: dict[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    auto_form: bool = True,
    before_startup: Callable[[HarnessAppMixin], None] | None = None,
) -> HarnessAppMixin:
    """Load, wrap and start a radio the way ZHA does (create without radio, then ``startup``).

    ``clock`` is handed to the loopback radio (its emulated devices' time source). ``before_startup`` runs
    after zigpy loaded its database and before the radio is opened. ``auto_form`` forms a
    network with random keys when the coordinator has none: right for the loopback and a dedicated test
    coordinator, wrong for a stick whose network must be kept.
    """
    app_cls = build_app_class(load_radio(radio))
    if config is None:
        if not issubclass(app_cls, LoopbackApp):
            raise ConfigurationError(f"radio {radio!r} needs a config naming its device path (default_config)")
        config = default_config()
    app = await app_cls.new(config, auto_form=auto_form, start_radio=False)
    if clock is not None and isinstance(app, LoopbackApp):
        app.clock = clock
    try:
        if before_startup is not None:  # the database is loaded, the radio not yet opened (e.g. seed a backup)
            before_startup(app)
        await app.startup(auto_form=auto_form)
    except BaseException:
        # A failed or timed-out (cancelled) start leaves zigpy's database open, and its worker thread would
        # keep the process from exiting: shut the half-started application down, database included.
        try:
            await app.shutdown(db=True)
        except Exception as err:
            LOGGER.warning("shutdown after a failed start: %s: %s", type(err).__name__, err)
        raise
    return app
