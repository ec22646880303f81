"""Cryptography used by GBCS and GB OTA images: ECDSA P-256 with raw r||s signatures, test PKI, key stores."""
