@spec:ZCL-OTA-11.13
Feature: What every GB OTA client refuses or survives
  A PPMID and an HCALCS download through the same Zigbee OTA Upgrade client. Neither downloads an image
  made for another device, one larger than its storage or one its version policy refuses, and neither is
  left without working firmware when the Communications Hub stalls or aborts a download.

  Background:
    Given the device has joined the Communications Hub's network

  @req:CS-06 @req:CS-09 @pics:OTA.C @assumption
  Scenario: The device does not download an image advertised for another manufacturer
    Given the Communications Hub holds a valid image of the next firmware version
    And the Communications Hub advertises the image with another manufacturer code
    When the Communications Hub notifies the device by unicast Image Notify
    Then the device does not request any block of the image
    And the device is still operational on its old firmware version

  @req:CS-06 @req:CS-09 @pics:OTA.C @assumption
  Scenario: The device does not download an image advertised for another image type
    Given the Communications Hub holds a valid image of the next firmware version
    And the Communications Hub advertises the image with another image type
    When the Communications Hub notifies the device by unicast Image Notify
    Then the device does not request any block of the image
    And the device is still operational on its old firmware version

  @req:CS-15 @req:CS-09 @pics:OTA.C @assumption
  Scenario: The device refuses an image larger than its storage
    Given the Communications Hub holds a valid image of the next firmware version
    And the Communications Hub advertises the image with a size larger than the device's storage
    When the Communications Hub notifies the device by unicast Image Notify
    Then the device does not request any block of the image
    And the device is still operational on its old firmware version

  @needs:image:older
  @req:CS-20 @pics:OTA.C @assumption
  Scenario: The device applies its declared downgrade policy to an older image
    Given the Communications Hub holds a valid image of a lower firmware version
    When the Communications Hub notifies the device by unicast Image Notify
    Then the device treats the older image as its declared downgrade policy says

  @needs:image:running
  @req:CS-20 @req:CS-09 @pics:OTA.C @assumption
  Scenario: The device does not download the firmware version it already runs
    Given the Communications Hub holds a valid image of the running firmware version
    When the Communications Hub notifies the device by unicast Image Notify
    Then the device does not request any block of the image
    And the device is still operational on its old firmware version

  @req:CS-16 @req:CS-09 @pics:OTA.C.C03.Tx @assumption
  Scenario: The device gives up on a Communications Hub that never stops asking it to wait
    Given the Communications Hub holds a valid image of the next firmware version
    And the Communications Hub answers every Image Block Request from offset 96 with WAIT_FOR_DATA for 600 seconds
    When the device is notified of the image and the wait-for-data limit passes
    Then the device has stopped the download and reports the Normal upgrade status
    And the device is still operational on its old firmware version

  @req:CS-09 @pics:OTA.C.C03.Tx @assumption
  Scenario: The device stops and keeps its firmware when the Communications Hub aborts the download
    Given the Communications Hub holds a valid image of the next firmware version
    And the Communications Hub aborts the download at offset 144
    When the device is notified of the image and the block response budget passes
    Then the device never requested an offset beyond 144
    And the device is still operational on its old firmware version
