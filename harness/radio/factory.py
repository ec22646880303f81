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
from typing import Any

import zigpy.application
import zigpy.config as conf

from harness.clock import Clock
from harness.errors import ConfigurationError
from harness.radio.glue import SE_ENDPOINT_DESCRIPTOR, HarnessAppMixin
from harness.radio.loopback import LoopbackApp

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
            raise ConfigurationError(
                f"radio {asked!r} needs the Python package {requirement.split('==')[0]!r}, which is not "
                f"installed (missing module {err.name!r}). ACTION: pip install '{requirement}' in the "
                "suite's environment (e.g. .venv/bin/pip install ...)."
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


async def start_app(
    radio: str = DEFAULT_RADIO,
    config: dict[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    auto_form: bool = True,
) -> HarnessAppMixin:
    """Load, wrap and start a radio the way ZHA does (create without radio, then ``startup``).

    ``clock`` is handed to the loopback radio (its emulated devices' time source). ``auto_form`` forms a
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
    await app.startup(auto_form=auto_form)
    return app
