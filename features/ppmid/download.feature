@spec:ZCL-OTA-11.13
Feature: PPMID image download
  The PPMID downloads the image block by block from the Communications Hub, checks every Image Block
  Response against its request, follows the hub's throttling, and recovers from lost or late responses
  without skipping data or starting again from the beginning.

  Background:
    Given the PPMID has joined the Communications Hub's network
    And the Communications Hub holds a valid image of the next firmware version

  @req:PZ-13 @pics:OTA.C.C03.Tx
  Scenario: The PPMID reports a successful download only after receiving the whole image
    When the PPMID downloads the image
    Then the PPMID sends an Upgrade End Request with status SUCCESS
    And the PPMID requested every octet of the image in order before that Upgrade End Request

  @req:PZ-25 @pics:OTA.C.C03.Tx
  Scenario: The PPMID's upgrade status follows the download
    When the PPMID downloads the image while the suite watches its upgrade status
    Then the PPMID's upgrade status went through Normal, Download in progress, Download complete and Normal

  @req:PZ-11 @pics:OTA.C.C03.Tx
  Scenario: The PPMID ignores an Image Block Response for an offset it did not request
    Given the Communications Hub answers the Image Block Request at offset 96 with data for offset 97
    When the PPMID downloads the image
    Then the PPMID requests offset 96 again
    And the PPMID sends an Upgrade End Request with status SUCCESS
    And the PPMID runs the new firmware version

  @req:PZ-12 @pics:OTA.C.C03.Tx
  Scenario: The PPMID drops an Image Block Response carrying more data than it asked for
    Given the Communications Hub answers the Image Block Request at offset 96 with 8 octets more than requested
    When the PPMID downloads the image
    Then the PPMID requests offset 96 again
    And the PPMID sends an Upgrade End Request with status SUCCESS
    And the PPMID runs the new firmware version

  @req:PZ-12 @pics:OTA.C.C03.Tx
  Scenario: The PPMID drops an Image Block Response for another file
    Given the Communications Hub answers the Image Block Request at offset 96 for another file version
    When the PPMID downloads the image
    Then the PPMID requests offset 96 again
    And the PPMID sends an Upgrade End Request with status SUCCESS
    And the PPMID runs the new firmware version

  @req:PZ-09 @pics:OTA.C.C03.Tx
  Scenario: The PPMID waits as long as the Communications Hub asks with WAIT_FOR_DATA
    Given the Communications Hub answers the Image Block Request at offset 144 with WAIT_FOR_DATA for 120 seconds
    When the PPMID downloads the image
    Then the PPMID waits at least 120 seconds before requesting offset 144 again
    And the PPMID sends an Upgrade End Request with status SUCCESS

  @req:PZ-09 @req:CS-17 @pics:OTA.C.C03.Tx
  Scenario: The PPMID spaces its requests by the MinimumBlockPeriod the Communications Hub sets
    Given the Communications Hub answers the Image Block Request at offset 48 with WAIT_FOR_DATA for 1 second and a MinimumBlockPeriod of 2 seconds
    When the PPMID downloads the image
    Then the PPMID's block requests after offset 48 are at least 2 seconds apart
    And the PPMID sends an Upgrade End Request with status SUCCESS

  @req:PZ-31 @pics:OTA.C.C03.Tx
  Scenario: The PPMID re-requests the same offset after a lost Image Block Response
    Given the Communications Hub does not answer the first Image Block Request at offset 192
    When the PPMID downloads the image
    Then the PPMID's next block request after the lost one is for offset 192 again
    And the PPMID sends an Upgrade End Request with status SUCCESS
    And the PPMID runs the new firmware version

  @req:PZ-31 @pics:OTA.C.C03.Tx
  Scenario: The PPMID neither skips nor restarts after a late Image Block Response
    Given the Communications Hub delays its answer to the Image Block Request at offset 240 by 20 seconds
    When the PPMID downloads the image
    Then the PPMID's block requests never went back to an earlier offset nor skipped one
    And the PPMID runs the new firmware version

  @req:PZ-31 @req:CS-09 @pics:OTA.C.C03.Tx @assumption
  Scenario: The PPMID aborts after its retry limit when the Communications Hub stops answering
    Given the Communications Hub never answers Image Block Requests at offset 288
    When the PPMID is notified of the image and the retry budget passes
    Then the PPMID sends an Upgrade End Request with status ABORT
    And the PPMID never requested an offset beyond 288
    And the PPMID is still operational on its old firmware version

  @needs:power-cycle
  @req:PZ-26 @pics:GB.OTA.C.RESUME_DOWNLOAD @pics:GB.ADAPTER.POWER_CYCLE @assumption
  Scenario: The PPMID resumes an interrupted download without leaving the network
    When the PPMID is power-cycled when its download has reached offset 480
    And the PPMID downloads the image
    Then after the power cycle the PPMID continued from the start or from an offset it had already received
    And the PPMID sends an Upgrade End Request with status SUCCESS
    And the PPMID runs the new firmware version
