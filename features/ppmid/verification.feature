@spec:ZCL-OTA-11.13 @spec:GBCS-11.2
Feature: PPMID image verification
  After the last block the PPMID verifies the image before reporting success: a well-formed OTA header
  and the manufacturer's signature over the Manufacturer Image. An image that fails is reported as
  INVALID_IMAGE, discarded and never activated, and the PPMID keeps running its old firmware.

  The manufacturer's own signature lives inside the opaque Manufacturer Image, outside GBCS. Against the
  reference emulator the suite uses its documented convention (docs/ota-images.md); on hardware the
  vendor's images and, for the signature cases, the vendor's test signing key are needed.

  Background:
    Given the PPMID has joined the Communications Hub's network

  @req:CS-07 @pics:OTA.C.C03.Tx
  Scenario: The PPMID accepts a GB image whose Upgrade Image follows the header directly
    Given the Communications Hub holds a valid image of the next firmware version
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status SUCCESS
    And the PPMID runs the new firmware version

  @needs:variant:flip-one-bit-in-manufacturer-image
  @req:CS-08 @req:PZ-14 @req:CS-09 @req:PZ-13 @pics:OTA.C.C03.Tx @assumption
  Scenario: The PPMID rejects an image whose Manufacturer Image has one bit changed
    Given the Communications Hub holds the image variant "flip-one-bit-in-manufacturer-image" of the next firmware version
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status INVALID_IMAGE
    And the PPMID is still operational on its old firmware version

  @needs:variant:manufacturer-signed-by-other-key
  @req:PZ-14 @req:CS-09 @req:PZ-13 @pics:OTA.C.C03.Tx @pics:GB.MFR_SIGNATURE.EMULATOR_CONVENTION @assumption
  Scenario: The PPMID rejects an image signed with a key that is not its manufacturer's
    Given the Communications Hub holds the image variant "manufacturer-signed-by-other-key" of the next firmware version
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status INVALID_IMAGE
    And the PPMID is still operational on its old firmware version

  @needs:variant:bad-manufacturer-signature
  @req:PZ-14 @req:CS-09 @req:PZ-13 @pics:OTA.C.C03.Tx @pics:GB.MFR_SIGNATURE.EMULATOR_CONVENTION @assumption
  Scenario: The PPMID rejects an image whose manufacturer signature is corrupt
    Given the Communications Hub holds the image variant "bad-manufacturer-signature" of the next firmware version
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status INVALID_IMAGE
    And the PPMID is still operational on its old firmware version

  @needs:image:unsigned
  @req:PZ-13 @req:PZ-14 @req:CS-09 @pics:OTA.C.C03.Tx @pics:GB.MFR_SIGNATURE.EMULATOR_CONVENTION @assumption
  Scenario: The PPMID rejects an image that carries no manufacturer signature
    Given the Communications Hub holds an image of the next firmware version without a manufacturer signature
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status INVALID_IMAGE
    And the PPMID is still operational on its old firmware version

  @needs:variant:wrong-magic
  @req:CS-03 @req:CS-09 @req:PZ-13 @req:PZ-14 @pics:OTA.C.C03.Tx @assumption
  Scenario: The PPMID rejects an image without the OTA file identifier
    Given the Communications Hub holds the image variant "wrong-magic" of the next firmware version
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status INVALID_IMAGE
    And the PPMID is still operational on its old firmware version

  @needs:variant:wrong-header-version
  @req:CS-03 @req:CS-09 @req:PZ-13 @req:PZ-14 @pics:OTA.C.C03.Tx @assumption
  Scenario: The PPMID rejects an image with an unknown OTA header version
    Given the Communications Hub holds the image variant "wrong-header-version" of the next firmware version
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status INVALID_IMAGE
    And the PPMID is still operational on its old firmware version

  @needs:variant:header-length-short
  @req:CS-04 @req:CS-09 @req:PZ-13 @req:PZ-14 @pics:OTA.C.C03.Tx @assumption
  Scenario: The PPMID rejects an image whose header length is shorter than its fields
    Given the Communications Hub holds the image variant "header-length-short" of the next firmware version
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status INVALID_IMAGE
    And the PPMID is still operational on its old firmware version

  @needs:variant:header-length-long
  @req:CS-04 @req:CS-09 @req:PZ-13 @req:PZ-14 @pics:OTA.C.C03.Tx @assumption
  Scenario: The PPMID rejects an image whose header carries an unknown extension
    Given the Communications Hub holds the image variant "header-length-long" of the next firmware version
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status INVALID_IMAGE
    And the PPMID is still operational on its old firmware version

  @needs:variant:total-size-short
  @req:CS-05 @req:CS-09 @req:PZ-13 @req:PZ-14 @pics:OTA.C.C03.Tx @assumption
  Scenario: The PPMID rejects an image longer than its Total Image Size says
    Given the Communications Hub holds the image variant "total-size-short" of the next firmware version
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status INVALID_IMAGE
    And the PPMID is still operational on its old firmware version

  @needs:variant:total-size-long
  @req:CS-05 @req:CS-09 @req:PZ-13 @req:PZ-14 @pics:OTA.C.C03.Tx @assumption
  Scenario: The PPMID rejects an image that ends before its Total Image Size
    Given the Communications Hub holds the image variant "total-size-long" of the next firmware version
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status INVALID_IMAGE
    And the PPMID is still operational on its old firmware version
