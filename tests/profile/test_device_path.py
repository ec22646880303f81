"""pixit.device_path keeps network coordinator URIs as written and resolves file paths."""

from harness.profile import apply_overrides, load_profile


def test_a_socket_uri_is_kept_as_written():
    profile = apply_overrides(load_profile(None), {"pixit.device_path": "socket://127.0.0.1:47811"})
    assert profile.pixit_value("device_path") == "socket://127.0.0.1:47811"


def test_a_serial_path_stays_a_path():
    profile = apply_overrides(load_profile(None), {"pixit.device_path": "/dev/ttyUSB0"})
    assert str(profile.pixit_value("device_path")) == "/dev/ttyUSB0"
