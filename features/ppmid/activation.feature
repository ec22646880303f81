@spec:ZCL-OTA-11.13 @spec:SECMP0007
Feature: PPMID activation under the Communications Hub's control
  For a PPMID the Communications Hub manages activation: its Upgrade End Response says when to run the
  new image. The PPMID activates exactly then, never on its own, never for a response about another file,
  and a verified image waiting for activation survives a power cycle.

  Background:
    Given the PPMID has joined the Communications Hub's network
    And the Communications Hub holds a valid image of the next firmware version

  @req:PZ-24 @pics:OTA.C.C03.Tx @assumption
  Scenario: After activation the PPMID reports the new firmware version
    When the PPMID downloads the image
    And the activation budget passes
    Then the PPMID reports the new firmware version in its attributes and in its next query

  @req:PZ-21 @pics:GB.OTA.C.UPGRADE_TIME_HOLD
  Scenario: The PPMID activates no earlier than the UpgradeTime it was given
    Given the Communications Hub answers the Upgrade End Request with an UpgradeTime 2 hours ahead
    When the PPMID downloads the image
    And 1 hour passes
    Then the PPMID still runs its old firmware version
    When 1 hour passes
    And the activation budget passes
    Then the PPMID runs the new firmware version

  @req:PZ-21 @pics:GB.OTA.C.UPGRADE_TIME_HOLD
  Scenario: The PPMID waits for the Communications Hub when told UpgradeTime 0xFFFFFFFF
    Given the Communications Hub answers the Upgrade End Request with UpgradeTime 0xFFFFFFFF
    When the PPMID downloads the image
    And 3 hours pass
    Then the PPMID still runs its old firmware version

  @req:PZ-21 @pics:GB.OTA.C.UPGRADE_END_REASK
  Scenario: A PPMID told UpgradeTime 0xFFFFFFFF asks again at least every 60 minutes
    Given the Communications Hub answers the Upgrade End Request with UpgradeTime 0xFFFFFFFF
    When the PPMID downloads the image
    And 3 hours pass
    Then the PPMID sent an Upgrade End Request at least once every 60 minutes while waiting

  @req:PZ-21 @pics:GB.OTA.C.UPGRADE_TIME_HOLD
  Scenario: A waiting PPMID activates when the Communications Hub tells it to upgrade now
    Given the Communications Hub answers the Upgrade End Request with UpgradeTime 0xFFFFFFFF
    When the PPMID downloads the image
    And 10 minutes pass
    And the Communications Hub tells the PPMID to upgrade now
    And the activation budget passes
    Then the PPMID runs the new firmware version

  @req:PZ-20 @pics:OTA.C.C03.Tx
  Scenario: The PPMID ignores an Upgrade End Response about another file
    Given the Communications Hub answers the Upgrade End Request for another file version
    When the PPMID downloads the image
    And the activation budget passes
    Then the PPMID still runs its old firmware version

  @req:PZ-20 @pics:OTA.C.C03.Tx
  Scenario: The PPMID accepts an Upgrade End Response with wildcard identity
    Given the Communications Hub answers the Upgrade End Request with the wildcard identity
    When the PPMID downloads the image
    And the activation budget passes
    Then the PPMID runs the new firmware version

  @needs:power-cycle
  @req:PZ-32 @pics:GB.PPMID.VERIFIED_IMAGE_SURVIVES_POWER_CYCLE @pics:GB.ADAPTER.POWER_CYCLE @assumption
  Scenario: A verified image waiting for activation survives a power cycle
    Given the Communications Hub answers the Upgrade End Request with UpgradeTime 0xFFFFFFFF
    When the PPMID downloads the image
    And the PPMID is power-cycled
    Then the PPMID sends an Upgrade End Request with status SUCCESS after the power cycle
    And the PPMID did not request any block after the power cycle
    And the PPMID still runs its old firmware version

  @needs:power-cycle
  @req:CS-10 @pics:GB.ADAPTER.POWER_CYCLE @assumption
  Scenario: A power loss during activation leaves the PPMID running a valid image
    When the PPMID downloads the image
    And the PPMID is power-cycled as soon as the Communications Hub has told it to activate
    And the activation budget passes
    Then the PPMID is operational and runs either its old or the new firmware version
