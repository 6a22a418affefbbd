"""import-gatus carries dns, grpc and tls:// endpoints across where they map."""

from __future__ import annotations

import yaml

from mlops_oncall.checks.config import load_checks
from mlops_oncall.checks.gatus import import_gatus
from tests.checks.helpers import write

GATUS = """
endpoints:
  - name: Triton health
    url: "grpc://triton.ml.internal:8001"
    headers:
      Authorization: "Bearer ${TRITON_TOKEN}"
    conditions:
      - "[CONNECTED] == true"
      - "[BODY].status == SERVING"
      - "[STATUS] == 200"
  - name: Triton TLS
    url: "grpcs://triton.ml.internal:8443"
    client:
      insecure: true
    conditions:
      - "[CERTIFICATE_EXPIRATION] > 48h"
  - name: Gateway certificate
    url: "tls://gateway.ml.internal:443"
    conditions:
      - "[CONNECTED] == true"
      - "[CERTIFICATE_EXPIRATION] > 240h"
      - "[BODY] == pong"
  - name: Registry DNS
    url: "10.0.0.2:5353"
    dns:
      query-name: "registry.ml.internal."
      query-type: "srv"
    conditions:
      - "[DNS_RCODE] == NOERROR"
      - "[HEADER].x == y"
  - name: No query
    url: "8.8.8.8"
    dns: {}
"""


def test_dns_grpc_and_tls_endpoints_map(tmp_path):
    path = write(tmp_path, GATUS, "gatus.yaml")
    out = import_gatus(path, "gatus.yaml")
    warnings = [str(p) for p in out.problems]
    assert warnings == [
        "gatus.yaml:9:9: warning: endpoints[0].conditions[2]: 'Triton health': condition "
        "'[STATUS] == 200' reads [STATUS], which a grpc:// check does not have; dropped",
        "gatus.yaml:21:9: warning: endpoints[2].conditions[2]: 'Gateway certificate': condition "
        "'[BODY] == pong' reads [BODY], which a tls:// check does not have; dropped",
        "gatus.yaml:29:9: warning: endpoints[3].conditions[1]: 'Registry DNS': condition "
        "'[HEADER].x == y' reads [HEADER], which a dns check does not have; dropped",
        "gatus.yaml:32:10: warning: endpoints[4].dns: 'No query': dns without dns.query-name; "
        "skipped",
    ]
    checks = out.data["checks"]
    assert checks[0] == {
        "id": "triton-health",
        "name": "Triton health",
        "kind": "grpc",
        "url": "grpc://triton.ml.internal:8001",
        "headers": {"Authorization": "Bearer ${env:TRITON_TOKEN}"},
        "conditions": ["[CONNECTED] == true", "[BODY].status == SERVING"],
    }
    assert (checks[1]["kind"], checks[1]["insecure"]) == ("grpc", True)
    assert checks[2]["kind"] == "tcp" and checks[2]["url"] == "tls://gateway.ml.internal:443"
    assert checks[3]["dns"] == {
        "name": "registry.ml.internal",
        "type": "SRV",
        "server": "10.0.0.2:5353",
    }
    assert "url" not in checks[3]
    # and the result loads as a checks file
    written = tmp_path / "checks.yaml"
    written.write_text(yaml.safe_dump(out.data, sort_keys=False))
    checkset, problems = load_checks(written, env={"TRITON_TOKEN": "t"})
    assert [str(p) for p in problems] == [] and checkset is not None
    assert [s.kind for s in checkset] == ["grpc", "grpc", "tcp", "dns"]
