"""The operations surface read by independent clients: /metrics parsed by the Prometheus
project's own Python parser, /readyz and /livez."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

SERVICE = "PersonRegisterService"


def get(service, path: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(f"{service.base_url}{path}", timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read().decode()


def scrape(service) -> dict:
    status, content_type, text = get(service, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families: dict, family: str, sample: str, **labels) -> float:
    found = [
        s.value
        for s in families[family].samples
        if s.name == sample and s.labels == labels
    ] if family in families else []
    assert len(found) <= 1
    return found[0] if found else 0.0


def test_metrics_parse_and_count_an_answer_and_a_fault(service, org_a):
    before = scrape(service)
    org_a.call("listDossierTypes")
    org_a.fault("consultRegister", ssin="12345678901")
    after = scrape(service)

    def delta(family, sample, **labels):
        return value(after, family, sample, **labels) - value(before, family, sample, **labels)

    requests = ("raas_requests", "raas_requests_total")
    assert after["raas_requests"].type == "counter"
    assert delta(*requests, service=SERVICE, operation="listDossierTypes", reason="OK") == 1
    assert delta(*requests, service=SERVICE, operation="consultRegister", reason="INVALID_SSIN") == 1

    latency = after["raas_request_duration_seconds"]
    assert latency.type == "histogram"
    listed = {"service": SERVICE, "operation": "listDossierTypes"}
    buckets = [
        (s.labels["le"], s.value)
        for s in latency.samples
        if s.name.endswith("_bucket") and {k: v for k, v in s.labels.items() if k != "le"} == listed
    ]
    assert buckets[-1][0] == "+Inf"
    counts = [count for _, count in buckets]
    assert counts == sorted(counts)
    assert delta("raas_request_duration_seconds", "raas_request_duration_seconds_count", **listed) == 1

    for gauge in (
        "raas_db_pool_connections",
        "raas_db_pool_idle_connections",
        "raas_db_pool_max_connections",
        "raas_audit_pending_entries",
    ):
        assert after[gauge].type == "gauge", gauge
        assert len(after[gauge].samples) == 1, gauge
    assert after["raas_authentications"].type == "counter"


def test_readyz_and_livez(service):
    assert get(service, "/readyz")[::2] == (200, "ready")
    assert get(service, "/livez")[::2] == (200, "ok")
