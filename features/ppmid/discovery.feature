@spec:ZCL-OTA-11.13
Feature: PPMID image discovery
  A PPMID learns of new firmware from the Communications Hub: it queries when told by unicast Image
  Notify and applies the broadcast rules. (What it must refuse to download is in
  features/common/ota-client.feature, shared with the HCALCS.)

  Background:
    Given the PPMID has joined the Communications Hub's network

  @req:PZ-27 @pics:OTA.C.C00.Rsp
  Scenario: The PPMID queries the Communications Hub after a unicast Image Notify
    Given the Communications Hub holds a valid image of the next firmware version
    When the Communications Hub notifies the PPMID by unicast Image Notify
    Then the PPMID sends a Query Next Image Request for its own identity

  @req:PZ-27 @pics:GB.OTA.C.IMAGE_NOTIFY_BROADCAST
  Scenario: The PPMID queries after a broadcast Image Notify for its identity with full jitter
    Given the Communications Hub holds a valid image of the next firmware version
    When the Communications Hub broadcasts an Image Notify with jitter 100 for the new image
    Then the PPMID sends a Query Next Image Request for its own identity

  @req:PZ-27 @req:CS-09 @pics:GB.OTA.C.IMAGE_NOTIFY_BROADCAST @assumption
  Scenario Outline: The PPMID ignores a broadcast Image Notify it must ignore (<case>)
    Given the Communications Hub holds a valid image of the next firmware version
    When the Communications Hub broadcasts an Image Notify with jitter <jitter> for <identity>
    Then the PPMID does not send a Query Next Image Request within the query budget
    And the PPMID is still operational on its old firmware version

    Examples:
      | case                   | jitter | identity                      |
      | jitter 0               | 0      | the new image                 |
      | jitter 101             | 101    | the new image                 |
      | other manufacturer     | 100    | another manufacturer code     |
      | other image type       | 100    | another image type            |
      | version already run    | 100    | the running firmware version  |
