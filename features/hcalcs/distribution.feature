@spec:GBCS-11.2 @spec:SECMP0007
Feature: Distribution of HCALCS firmware over the Zigbee OTA Upgrade cluster
  The Communications Hub distributes the supplier-signed image and answers the HCALCS's Upgrade End Request
  with UpgradeTime 0xFFFFFFFF. The HCALCS verifies the supplier's signature over the Manufacturer Image,
  reports the result with the image hash in a signed Firmware Distribution Receipt Alert, holds a verified
  image for a later CS06 Activate Firmware command, and never runs anything new on its own.

  Background:
    Given the HCALCS has joined the Communications Hub's network

  @req:HG-04 @req:CS-19 @pics:OTA.C.C03.Tx @assumption
  Scenario: After a valid download the HCALCS sends a signed 0x8F72 receipt alert with the image hash
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    Then the HCALCS sends a Firmware Distribution Receipt Alert within the alert budget
    And the receipt alert has alert code 0x8F72 and the SHA-256 of the image's Manufacturer Image
    And the message's signature verifies with the HCALCS's digital-signing certificate

  @req:HG-03 @pics:OTA.C.C03.Tx @pics:GB.OTA.C.UPGRADE_TIME_HOLD @assumption
  Scenario: The HCALCS does not activate a downloaded image without a CS06 command
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the activation budget passes
    Then the HCALCS still runs its old firmware version
    When the DCC sends the HCALCS a CS08 Read Firmware Version command
    Then the HCALCS answers with a CS08 response within the GBCS response budget
    And the CS08 response reports the old firmware version

  @req:HG-03 @pics:OTA.C.C03.Tx @pics:GB.OTA.C.UPGRADE_TIME_HOLD @assumption
  Scenario: The HCALCS does not activate a downloaded image when the Communications Hub says "upgrade now" over Zigbee
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the Communications Hub tells the HCALCS to upgrade now
    And the activation budget passes
    Then the HCALCS still runs its old firmware version

  @needs:power-cycle
  @req:HG-11 @pics:OTA.C.C03.Tx @pics:GB.HCALCS.CS06 @pics:GB.ADAPTER.POWER_CYCLE @assumption
  Scenario: A downloaded image is still held after a power cycle and a CS06 activates it
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the HCALCS is power-cycled
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response has activateImageResponseCode 0 (success) and the new firmware version

  @needs:variant:flip-one-bit-in-manufacturer-image
  @req:HG-05 @req:CS-08 @pics:OTA.C.C03.Tx @assumption
  Scenario: An image with one bit flipped in its Manufacturer Image gets 0x8F1C and cannot be activated
    Given the Communications Hub holds the image variant "flip-one-bit-in-manufacturer-image" of the next firmware version
    When the HCALCS downloads the image
    Then the HCALCS sends a Firmware Distribution Receipt Alert within the alert budget
    And the receipt alert has alert code 0x8F1C
    When the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response does not report success
    And the HCALCS still runs its old firmware version

  @needs:variant:signed-by-other-key
  @req:HG-05 @pics:OTA.C.C03.Tx @assumption
  Scenario: An image signed by a key that is not the supplier's gets 0x8F1C and cannot be activated
    Given the Communications Hub holds the image variant "signed-by-other-key" of the next firmware version
    When the HCALCS downloads the image
    Then the HCALCS sends a Firmware Distribution Receipt Alert within the alert budget
    And the receipt alert has alert code 0x8F1C
    When the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response does not report success
    And the HCALCS still runs its old firmware version

  @needs:variant:missing-signature
  @req:HG-05 @pics:OTA.C.C03.Tx @assumption
  Scenario: An image without the supplier's signature gets 0x8F1C and cannot be activated
    Given the Communications Hub holds the image variant "missing-signature" of the next firmware version
    When the HCALCS downloads the image
    Then the HCALCS sends a Firmware Distribution Receipt Alert within the alert budget
    And the receipt alert has alert code 0x8F1C
    When the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response does not report success
    And the HCALCS still runs its old firmware version

  @needs:image:second-newer
  @req:HG-20 @pics:OTA.C.C03.Tx @assumption
  Scenario: A second, different image replaces the held one: CS06 with the first image's hash is a hash mismatch
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the Communications Hub distributes another valid image of the next firmware version
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the first image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response has activateImageResponseCode 2 (hashMismatch) and the old firmware version
    And the HCALCS still runs its old firmware version

  @needs:image:second-newer
  @req:HG-20 @pics:OTA.C.C03.Tx @assumption
  Scenario: After a second distribution CS06 with the second image's hash activates the second image
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the Communications Hub distributes another valid image of the next firmware version
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response has activateImageResponseCode 0 (success) and the new firmware version
