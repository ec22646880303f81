"""Start-up work put off until needed: zigpy's providers' CA certificates, asn1tools, the GBCS ASN.1 compile."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys

import zigpy.ota.providers

from harness import lazy_imports


def _fresh(code: str) -> dict:
    """Run ``code`` in a new interpreter (nothing imported yet) and return the JSON it prints."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_zigpys_provider_contexts_load_their_certificates_on_first_connection_only():
    context = zigpy.ota.providers.Tradfri.SSL_CTX  # built when zigpy.ota.providers was imported
    assert isinstance(context, ssl.SSLContext)
    if "wrap_bio" not in vars(context):  # imported before harness installed the finder (not in a run)
        return
    before = context.cert_store_stats()["x509_ca"]  # only IKEA's own root so far
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="fw.ota.homesmart.ikea.com")
    assert context.cert_store_stats()["x509_ca"] > before and "wrap_bio" not in vars(context)


def test_contexts_made_outside_the_deferred_imports_load_at_once():
    with lazy_imports.default_certificates_on_first_use():
        deferred = ssl.create_default_context()
    normal = ssl.create_default_context()
    assert deferred.cert_store_stats()["x509_ca"] == 0 < normal.cert_store_stats()["x509_ca"]
    deferred.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.org")
    assert deferred.cert_store_stats() == normal.cert_store_stats()


def test_a_fresh_interpreter_defers_them_and_compiles_no_asn1_at_import():
    found = _fresh(
        "import json, sys, harness.crypto.eui64 as e;"
        "after_eui64 = 'asn1tools' in sys.modules;"
        "import zigpy.ota.providers as p, harness.gbcs.payloads as g;"
        "print(json.dumps({'asn1tools_after_eui64': after_eui64, 'compiled': g._module.cache_info().currsize,"
        " 'deferred': 'wrap_bio' in vars(p.Tradfri.SSL_CTX)}))"
    )
    assert found == {"asn1tools_after_eui64": False, "compiled": 0, "deferred": True}
