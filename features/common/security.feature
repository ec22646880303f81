@spec:ZCL-OTA-11.13
Feature: OTA traffic the device must not trust
  Only the Communications Hub (the trust centre and the device's upgrade server) may drive a firmware
  update. Frames from any other node are ignored, and malformed frames never stop the device working.

  Background:
    Given the device has joined the Communications Hub's network
    And the Communications Hub holds a valid image of the next firmware version

  @needs:rogue-node
  @req:CS-12 @req:CS-09 @pics:GB.ADAPTER.ROGUE_NODE @assumption
  Scenario: The device ignores an Image Notify from a node that is not the Communications Hub
    When a rogue node sends the device a unicast Image Notify
    Then the device does not send a Query Next Image Request within the query budget
    And the device is still operational on its old firmware version

  @needs:rogue-node
  @req:CS-12 @req:PZ-21 @pics:GB.ADAPTER.ROGUE_NODE @pics:GB.OTA.C.UPGRADE_TIME_HOLD @assumption
  Scenario: The device ignores an "upgrade now" from a node that is not the Communications Hub
    Given the Communications Hub answers the Upgrade End Request with UpgradeTime 0xFFFFFFFF
    When the device downloads the image
    And a rogue node tells the device to upgrade now
    And the activation budget passes
    Then the device still runs its old firmware version

  @req:CS-14 @req:CS-09 @pics:OTA.C.C03.Tx @assumption
  Scenario: A truncated Query Next Image Response does not stop the device working
    Given the Communications Hub answers the next Query Next Image Request with a truncated frame
    When the Communications Hub notifies the device by unicast Image Notify
    And the query budget passes
    Then the device is still operational on its old firmware version

  @req:CS-14 @pics:OTA.C.C03.Tx
  Scenario: An Image Block Response whose data length lies does not stop the device working
    Given the Communications Hub answers the Image Block Request at offset 48 with a data length longer than the frame
    When the device downloads the image
    Then the device requests offset 48 again
    And the device sends an Upgrade End Request with status SUCCESS

  @req:CS-14 @req:CS-09 @pics:OTA.C.C03.Tx @assumption
  Scenario: A truncated Upgrade End Response does not stop the device working
    Given the Communications Hub answers the Upgrade End Request with a truncated frame
    When the device downloads the image
    And the activation budget passes
    Then the device is still operational on its old firmware version
