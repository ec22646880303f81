"""The radio factory: names, module:Class specs, optional libraries and the harness app class."""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest
import zigpy.application

from harness.errors import ConfigurationError
from harness.radio import (
    RADIOS,
    HarnessAppMixin,
    LoopbackApp,
    build_app_class,
    default_config,
    load_radio,
    start_app,
)


def test_loopback_is_the_default_and_loads_by_name_and_by_spec_as_the_same_class():
    assert load_radio() is LoopbackApp
    assert load_radio("loopback") is LoopbackApp
    assert load_radio(" Loopback ") is LoopbackApp
    assert load_radio("harness.radio.loopback:LoopbackApp") is LoopbackApp


def test_build_app_class_puts_the_glue_first_and_is_idempotent():
    app_cls = build_app_class(LoopbackApp)
    assert app_cls.__name__ == "HarnessLoopbackApp"
    assert app_cls.__mro__[1:3] == (HarnessAppMixin, LoopbackApp)
    assert build_app_class(app_cls) is app_cls


@pytest.mark.parametrize("name", [n for n in RADIOS if n != "loopback"])
def test_a_missing_radio_library_names_the_package_to_install(name):
    module, requirement = RADIOS[name][0].split(":")[0], RADIOS[name][1]
    assert requirement is not None
    if importlib.util.find_spec(module.split(".")[0]) is not None:
        assert issubclass(load_radio(name), zigpy.application.ControllerApplication)
        return
    with pytest.raises(ConfigurationError) as err:
        load_radio(name)
    message = str(err.value)
    assert requirement.split("==")[0] in message
    assert f"pip install '{requirement}'" in message


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("bluetooth", "is unknown. Use one of loopback, ezsp, znp, deconz, xbee, zigate"),
        ("harness.clock:VirtualClock", "not a subclass of zigpy.application.ControllerApplication"),
        ("harness.clock:ZIGBEE_EPOCH", "is a datetime, not a subclass"),
        ("zigpy.application:ControllerApplication", "is abstract (does not implement add_endpoint,"),
        ("no_such_package.radio:App", "cannot import module 'no_such_package.radio'"),
        ("harness.radio.loopback:NoSuchApp", "has no attribute 'NoSuchApp'"),
        (":LoopbackApp", "expected 'package.module:ClassName'"),
    ],
)
def test_bad_radio_specs_are_configuration_errors_with_a_reason(spec, expected):
    with pytest.raises(ConfigurationError) as err:
        load_radio(spec)
    assert expected in str(err.value)


@pytest.fixture
def fake_stick(monkeypatch) -> type[zigpy.application.ControllerApplication]:
    """A concrete third-party radio class importable as ``fake_stick:FakeStick``."""

    async def _noop(self, *args, **kwargs):
        return None

    abstract = zigpy.application.ControllerApplication.__abstractmethods__
    stick = type("FakeStick", (zigpy.application.ControllerApplication,), dict.fromkeys(abstract, _noop))
    module = types.ModuleType("fake_stick")
    module.FakeStick = stick
    monkeypatch.setitem(sys.modules, "fake_stick", module)
    return stick


def test_any_module_class_spec_naming_a_controller_application_loads_and_gets_the_glue(fake_stick):
    assert load_radio("fake_stick:FakeStick") is fake_stick
    app_cls = build_app_class(fake_stick)
    assert app_cls.__name__ == "HarnessFakeStick"
    assert issubclass(app_cls, HarnessAppMixin) and issubclass(app_cls, fake_stick)


def test_start_app_refuses_a_hardware_radio_without_its_config(fake_stick, run):
    with pytest.raises(ConfigurationError, match="needs a config naming its device path"):
        run(start_app("fake_stick:FakeStick"))


def test_default_config_is_understood_by_zigpy(app):
    assert app.state.network_info.channel == 15
    assert app.config["ota"]["enabled"] is False
    assert app.config["database_path"] is None
    assert [ep.profile for ep in app.config["additional_endpoints"]] == [0x0109]
    coordinator = app._device
    assert coordinator.endpoints[1].profile_id == 0x0104
    assert coordinator.endpoints[3].profile_id == 0x0109
    assert 0x0019 in coordinator.endpoints[3].in_clusters


def test_default_config_overrides_replace_top_level_keys():
    config = default_config("socket://127.0.0.1:6638", database_path="/tmp/zigbee.db")
    assert config["device"] == {"path": "socket://127.0.0.1:6638"}
    assert config["database_path"] == "/tmp/zigbee.db"
