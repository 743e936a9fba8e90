"""The REST API's OpenAPI document, as served at /api/v1/openapi.json, checked by an
independent validator (openapi-spec-validator, OpenAPI 3.1), and checked against the server
itself: every path it documents is routed and guarded by the OAuth 2.0 scheme it names."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator


def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def document(service) -> dict:
    status, headers, body = fetch(f"{service.base_url}/api/v1/openapi.json")
    assert status == 200, body
    assert headers["content-type"].startswith("application/json")
    return json.loads(body)


def test_the_document_is_valid_openapi_3_1(service):
    spec = document(service)
    assert spec["openapi"].startswith("3.1")
    validate(spec, cls=OpenAPIV31SpecValidator)
    flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "/oauth/token"
    assert set(flows["clientCredentials"]["scopes"]) == {"mailbox:read", "mailbox:download"}


def test_every_documented_path_is_served_and_guarded(service):
    spec = document(service)
    paths = spec["paths"]
    assert "/api/v1/deliveries" in paths and "/api/v1/events" in paths
    for path, operations in paths.items():
        concrete = path.replace("{id}", "1")
        for method, operation in operations.items():
            status, headers, body = fetch(f"{service.base_url}{concrete}", method.upper())
            if path == "/oauth/token":
                # No client authentication: the token endpoint's own refusal.
                assert status in (400, 401), (path, status, body)
                assert "error" in json.loads(body)
                continue
            assert [s for s in operation["security"] if "oauth2" in s], (path, operation)
            assert status == 401, (path, method, status, body)
            assert headers["www-authenticate"].startswith("Bearer"), headers
            assert json.loads(body)["code"] == "NOT_AUTHENTICATED"
            assert "401" in operation["responses"], (path, operation["responses"].keys())
