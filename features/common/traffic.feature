Feature: The device answers only what it is asked, within bounded traffic
  A Communications Hub must keep working whatever a device on its HAN sends. The device answers the frames it
  is sent and sends the requests of its own flows, nothing more: no response to a frame nobody sent it, no
  attribute nobody asked for, no OTA or tunnel command a client never sends, no flood. The suite applies these
  checks in every scenario; this one provokes the exchanges where a device most easily overdoes it: an answer
  that offers nothing, five minutes of listening (a device that re-asks at once at the pace of a slow link
  still passes the frame cap within them), and a read of several attributes.

  Background:
    Given the device has joined the Communications Hub's network

  @req:CS-22 @pics:OTA.C.C00.Rsp @assumption
  Scenario: The device answers only what it is asked and asks no more than its flows need
    Given the Communications Hub holds no image for the device
    When the Communications Hub notifies the device by unicast Image Notify with query jitter only
    And the query budget passes
    And 5 minutes pass
    And the Communications Hub reads the device's Basic and OTA client attributes
    Then the device answered only what it was asked and asked no more than its flows need
