@spec:GBCS-11.5 @spec:SECMP0007
Feature: Future-dated activation of HCALCS firmware
  A CS06 with an executionDateTime in the future is accepted at once with a NULL response and executed at
  that time, when the HCALCS raises alert 0x8F66 (executed) or 0x8F67 (failed) under message code 0x00CA,
  carrying the execution time, the command's originator counter and the outcome. A further CS06 dated
  9999-12-31T23:59:59Z cancels the pending activation.

  Background:
    Given the HCALCS has joined the Communications Hub's network

  @req:HG-12 @pics:GB.HCALCS.CS06_FUTURE_DATED
  Scenario: A future-dated CS06 is accepted at once and executed at its time with alert 0x8F66
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash dated 30 minutes ahead
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response accepts the command for later execution
    And the HCALCS still runs its old firmware version
    And the HCALCS sends a future-dated activation alert within the alert budget after the execution time
    And the future-dated alert has alert code 0x8F66, the command's time and counter, and outcome 0 (success) with the new firmware version
    And the message's signature verifies with the HCALCS's digital-signing certificate
    And the HCALCS runs the new firmware version

  @req:HG-13 @pics:GB.HCALCS.CS06_FUTURE_DATED
  Scenario: A future-dated CS06 with the hash of another image fails at its time with alert 0x8F67
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the hash of another image dated 30 minutes ahead
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response accepts the command for later execution
    And the HCALCS sends a future-dated activation alert within the alert budget after the execution time
    And the future-dated alert has alert code 0x8F67, the command's time and counter, and outcome 2 (hashMismatch) with the old firmware version
    And the HCALCS still runs its old firmware version

  @req:HG-13 @pics:GB.HCALCS.CS06_FUTURE_DATED
  Scenario: A future-dated CS06 while no image is held fails at its time with alert 0x8F67
    When the DCC sends the HCALCS a CS06 Activate Firmware command with the hash of another image dated 30 minutes ahead
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response accepts the command for later execution
    And the HCALCS sends a future-dated activation alert within the alert budget after the execution time
    And the future-dated alert has alert code 0x8F67, the command's time and counter, and outcome 1 (noImageHeld) with the old firmware version

  @needs:image:failing-activation
  @req:HG-13 @req:HG-10 @pics:GB.HCALCS.CS06_FUTURE_DATED @assumption
  Scenario: A future-dated activation that fails raises 0x8F67 with activationFailure and keeps the old firmware
    Given the Communications Hub holds an image of the next firmware version that the device cannot activate
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash dated 30 minutes ahead
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the HCALCS sends a future-dated activation alert within the alert budget after the execution time
    And the future-dated alert has alert code 0x8F67, the command's time and counter, and outcome 3 (activationFailure) with the old firmware version
    And the HCALCS still runs its old firmware version

  @req:HG-14 @pics:GB.HCALCS.CS06_CANCELLATION
  Scenario: A pending future-dated CS06 cancelled by the 9999 date does not run
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash dated 30 minutes ahead
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    When the DCC cancels the pending future-dated activation
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the HCALCS sends no future-dated activation alert within the alert budget after the execution time
    And the HCALCS still runs its old firmware version

  @needs:power-cycle
  @req:HG-12 @pics:GB.HCALCS.CS06_FUTURE_DATED @pics:GB.ADAPTER.POWER_CYCLE @assumption
  Scenario: A pending future-dated CS06 survives a power cycle and runs at its time
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash dated 30 minutes ahead
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    When the HCALCS is power-cycled
    Then the HCALCS sends a future-dated activation alert within the alert budget after the execution time
    And the future-dated alert has alert code 0x8F66, the command's time and counter, and outcome 0 (success) with the new firmware version
    And the HCALCS runs the new firmware version

  @needs:image:second-newer
  @req:HG-20 @req:HG-13 @pics:GB.HCALCS.CS06_FUTURE_DATED @assumption
  Scenario: A different image distributed after a future-dated CS06 makes it fail with hashMismatch
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash dated 30 minutes ahead
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    When the Communications Hub distributes another valid image of the next firmware version
    Then the HCALCS sends a future-dated activation alert within the alert budget after the execution time
    And the future-dated alert has alert code 0x8F67, the command's time and counter, and outcome 2 (hashMismatch) with the old firmware version
    And the HCALCS still runs its old firmware version

  @req:HG-07 @pics:GB.HCALCS.CS06_FUTURE_DATED
  Scenario: A future-dated CS06 with a corrupted signature is neither accepted nor executed
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash with a corrupted signature dated 30 minutes ahead
    Then the HCALCS sends no CS06 response with an execution outcome within the GBCS response budget
    And the HCALCS sends no future-dated activation alert within the alert budget after the execution time
    And the HCALCS still runs its old firmware version
