"""The suite's Communications Hub roles: OTA server (this package) and, later, the GBCS tunnel end."""
