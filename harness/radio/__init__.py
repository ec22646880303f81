"""The radio seam: the only place where the emulator and real hardware differ.

- ``factory``: ``load_radio`` (loopback, ezsp, znp, deconz, xbee, zigate or ``module:Class``),
  ``build_app_class``, ``default_config``, ``start_app``.
- ``glue``: ``HarnessAppMixin`` over any radio's ControllerApplication (raw tap, SE profile remap, OTA
  interception and suppression, raw ZCL sends).
- ``frames``: ``RawFrame``, the record of one frame as it crossed the seam.
- ``loopback``: ``LoopbackApp``, the in-process radio hosting emulated devices.
"""

from harness.radio.factory import (
    DEFAULT_RADIO,
    RADIOS,
    build_app_class,
    default_config,
    load_radio,
    start_app,
)
from harness.radio.frames import FrameAddress, FrameDirection, RawFrame
from harness.radio.glue import SE_ENDPOINT_ID, HarnessAppMixin
from harness.radio.loopback import LinkDirection, LinkModel, LoopbackApp

__all__ = [
    "DEFAULT_RADIO",
    "RADIOS",
    "SE_ENDPOINT_ID",
    "FrameAddress",
    "FrameDirection",
    "HarnessAppMixin",
    "LinkDirection",
    "LinkModel",
    "LoopbackApp",
    "RawFrame",
    "build_app_class",
    "default_config",
    "load_radio",
    "start_app",
]
