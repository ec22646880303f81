"""Emulated Zigbee devices hosted by the loopback radio: the ``EmulatedDevice`` protocol and the
``EmulatedZigbeeNode`` base (ZDO, Basic / OTA-client attributes, ZCL general rules, persistence)."""

from harness.emulator.node import PPMID_DEVICE_ID, EmulatedDevice, EmulatedZigbeeNode

__all__ = ["PPMID_DEVICE_ID", "EmulatedDevice", "EmulatedZigbeeNode"]
