@spec:GBCS-11.5 @spec:GBCS-11.8 @spec:SECMP0007
Feature: Activation of HCALCS firmware by the CS06 Activate Firmware command
  The supplier signs CS06 and the DCC's Access Control Broker wraps it and adds a MAC. The HCALCS checks the
  signature, the MAC and the originator counter before anything else; a command failing any of them changes
  nothing and reveals nothing. An authentic CS06 is answered with activateImageResponseCode success (0),
  noImageHeld (1), hashMismatch (2) or activationFailure (3) and the firmware version then running. CS08
  reads the running version at any time.

  Background:
    Given the HCALCS has joined the Communications Hub's network

  @req:HG-11 @pics:GB.HCALCS.CS06
  Scenario: A valid CS06 for the held image activates it and the signed response reports the new version
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response has activateImageResponseCode 0 (success) and the new firmware version
    And the message's signature verifies with the HCALCS's digital-signing certificate
    And the HCALCS runs the new firmware version

  @req:HG-11 @pics:GB.HCALCS.CS06 @pics:GB.HCALCS.CS08
  Scenario: After a successful CS06 the CS08 response reports the new firmware version
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    When the DCC sends the HCALCS a CS08 Read Firmware Version command
    Then the HCALCS answers with a CS08 response within the GBCS response budget
    And the CS08 response reports the new firmware version

  @req:HG-19 @pics:GB.HCALCS.CS06 @pics:GB.HCALCS.ALERT_8F43 @assumption
  Scenario: A device configured to raise 0x8F43 does so, signed, after a firmware activation
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the HCALCS sends an alert with alert code 0x8F43 within the alert budget
    And the message's signature verifies with the HCALCS's digital-signing certificate

  @req:HG-18 @pics:GB.HCALCS.CS06 @assumption
  Scenario: The load switch keeps its state across a firmware activation
    Given the HCALCS's load switch is on
    And the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response has activateImageResponseCode 0 (success) and the new firmware version
    And the HCALCS's load switch is still on

  @req:HG-08 @pics:GB.HCALCS.CS06
  Scenario: A CS06 while no image is held is answered noImageHeld with the running version
    When the DCC sends the HCALCS a CS06 Activate Firmware command with the hash of another image
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response has activateImageResponseCode 1 (noImageHeld) and the old firmware version

  @req:HG-09 @pics:GB.HCALCS.CS06
  Scenario: A CS06 whose hash is not the held image's is answered hashMismatch and changes nothing
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the hash of another image
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response has activateImageResponseCode 2 (hashMismatch) and the old firmware version
    And the HCALCS still runs its old firmware version

  @needs:image:failing-activation
  @req:HG-10 @pics:GB.HCALCS.CS06 @assumption
  Scenario: An activation that fails is answered activationFailure and the old firmware keeps running
    Given the Communications Hub holds an image of the next firmware version that the device cannot activate
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response has activateImageResponseCode 3 (activationFailure) and the old firmware version
    And the HCALCS still runs its old firmware version
    When the DCC sends the HCALCS a CS08 Read Firmware Version command
    Then the HCALCS answers with a CS08 response within the GBCS response budget
    And the CS08 response reports the old firmware version

  @req:HG-07 @pics:GB.HCALCS.CS06
  Scenario: A CS06 signed by another party changes nothing and reveals no outcome
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash signed by another party
    Then the HCALCS sends no CS06 response with an execution outcome within the GBCS response budget
    And the HCALCS still runs its old firmware version

  @req:HG-07 @pics:GB.HCALCS.CS06
  Scenario: A CS06 whose supplier signature is corrupted changes nothing and reveals no outcome
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash with a corrupted signature
    Then the HCALCS sends no CS06 response with an execution outcome within the GBCS response budget
    And the HCALCS still runs its old firmware version

  @req:HG-07 @pics:GB.HCALCS.CS06
  Scenario: A CS06 whose MAC is corrupted changes nothing and reveals no outcome
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash with a corrupted MAC
    Then the HCALCS sends no CS06 response with an execution outcome within the GBCS response budget
    And the HCALCS still runs its old firmware version

  @req:HG-07 @pics:GB.HCALCS.CS06
  Scenario: A CS06 without the Access Control Broker's MAC changes nothing and reveals no outcome
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash without a MAC
    Then the HCALCS sends no CS06 response with an execution outcome within the GBCS response budget
    And the HCALCS still runs its old firmware version

  @req:HG-07 @pics:GB.HCALCS.CS06 @assumption
  Scenario: A CS06 whose payload counter differs from its header's counter changes nothing
    Given the Communications Hub holds a valid image of the next firmware version
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash whose payload counter differs
    Then the HCALCS sends no CS06 response with an execution outcome within the GBCS response budget
    And the HCALCS still runs its old firmware version

  @req:HG-15 @pics:GB.HCALCS.CS06
  Scenario: A replayed CS06 is rejected even once an image with its hash is held
    Given the Communications Hub holds a valid image of the next firmware version
    When the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    And the CS06 response has activateImageResponseCode 1 (noImageHeld)
    When the HCALCS downloads the image
    And the DCC sends the HCALCS the same CS06 command again
    Then the HCALCS sends no CS06 response with an execution outcome within the GBCS response budget
    And the HCALCS still runs its old firmware version

  @req:HG-15 @pics:GB.HCALCS.CS06 @assumption
  Scenario: A CS06 with an originator counter older than one already accepted is rejected
    Given the Communications Hub holds a valid image of the next firmware version
    When the DCC sends the HCALCS a CS06 Activate Firmware command with the hash of another image
    Then the HCALCS answers with a CS06 response within the GBCS response budget
    When the HCALCS downloads the image
    And the DCC sends the HCALCS a CS06 Activate Firmware command with the image's hash and an older originator counter
    Then the HCALCS sends no CS06 response with an execution outcome within the GBCS response budget
    And the HCALCS still runs its old firmware version

  @req:HG-17 @req:CS-18 @pics:GB.HCALCS.CS08
  Scenario: The HCALCS answers CS08 with its running firmware version under a valid MAC
    When the DCC sends the HCALCS a CS08 Read Firmware Version command
    Then the HCALCS answers with a CS08 response within the GBCS response budget
    And the response carries the running firmware version and response code 0 under a valid MAC

  @req:HG-17 @pics:GB.HCALCS.CS08 @assumption
  Scenario: A CS08 command whose MAC does not verify gets no response and the HCALCS keeps working
    When the DCC sends the HCALCS a CS08 Read Firmware Version command with a corrupted MAC
    Then the HCALCS sends no CS08 response within the GBCS response budget
    When the DCC sends the HCALCS a CS08 Read Firmware Version command
    Then the HCALCS answers with a CS08 response within the GBCS response budget
    And the response carries the running firmware version and response code 0 under a valid MAC
