@spec:GBCS-11.8 @spec:GBCS-11.9 @spec:SECMP0007
Feature: The PPMID's GBCS firmware messages through the Communications Hub
  After activating new firmware the PPMID raises the CS09 PPMID Firmware Activation Alert, signed with its
  digital-signing key, and it answers the CS08 Read Firmware Version command, which the DCC's Access Control
  Broker MACs on behalf of the supplier, with its running version under a MAC. The suite plays the DCC and
  the Communications Hub; the messages travel through the Smart Energy tunnel.

  Background:
    Given the PPMID has joined the Communications Hub's network

  @req:PZ-22 @req:CS-19 @pics:GB.PPMID.CS09 @pics:OTA.C.C03.Tx
  Scenario: After activation the PPMID sends a signed CS09 success alert with its new version
    Given the Communications Hub holds a valid image of the next firmware version
    When the PPMID downloads the image
    And the activation budget passes
    Then the PPMID sends a CS09 Firmware Activation Alert within the alert budget
    And the alert has alert code 0x8F8B, the new firmware version and activation result success
    And the alert's signature verifies with the PPMID's digital-signing certificate

  @needs:image:failing-activation
  @req:PZ-23 @pics:GB.PPMID.CS09 @pics:OTA.C.C03.Tx @assumption
  Scenario: After a failed activation the PPMID keeps its old firmware and says so in a CS09 failure alert
    Given the Communications Hub holds an image of the next firmware version that the PPMID cannot activate
    When the PPMID downloads the image
    And the activation budget passes
    Then the PPMID sends a CS09 Firmware Activation Alert within the alert budget
    And the alert has alert code 0x8F8B, the old firmware version and activation result failure
    And the alert's signature verifies with the PPMID's digital-signing certificate
    And the PPMID still runs its old firmware version

  @req:PZ-28 @req:CS-18 @pics:GB.PPMID.CS08
  Scenario: The PPMID answers CS08 with its running firmware version under a valid MAC
    When the DCC sends the PPMID a CS08 Read Firmware Version command
    Then the PPMID answers with a CS08 response within the GBCS response budget
    And the response carries the running firmware version and response code 0 under a valid MAC

  @req:PZ-29 @pics:GB.PPMID.CS08 @pics:GB.PPMID.CS09 @pics:OTA.C.C03.Tx @assumption
  Scenario: After an update CS08 reports the version of the latest CS09 success alert
    Given the Communications Hub holds a valid image of the next firmware version
    When the PPMID downloads the image
    And the activation budget passes
    Then the PPMID reported a CS09 success alert after activating
    When the DCC sends the PPMID a CS08 Read Firmware Version command
    Then the PPMID answers with a CS08 response within the GBCS response budget
    And the CS08 response's firmware version equals the version of that CS09 alert

  @req:PZ-28 @pics:GB.PPMID.CS08 @assumption
  Scenario: A CS08 command whose MAC does not verify gets no response and the PPMID keeps working
    When the DCC sends the PPMID a CS08 Read Firmware Version command with a corrupted MAC
    Then the PPMID sends no CS08 response within the GBCS response budget
    When the DCC sends the PPMID a CS08 Read Firmware Version command
    Then the PPMID answers with a CS08 response within the GBCS response budget
    And the response carries the running firmware version and response code 0 under a valid MAC
