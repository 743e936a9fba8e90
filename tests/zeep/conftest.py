"""Fixtures for the zeep interoperability tests (see support.py for what they set up)."""

from __future__ import annotations

import os
import uuid

import pytest

from support import (
    ORG_A,
    ORG_B,
    ORG_C,
    DELIVERY,
    IDENTIFICATION,
    Caller,
    Service,
    backends,
    database_url_with,
    psql,
    raas_bin,
    seed,
    seed_grants,
    seed_persons,
    start_server,
    stop_server,
)


def skips_forbidden() -> bool:
    """Under CI (`CI` or `REQUIRE_POSTGRES` set, as .ci/run does) nothing may skip."""
    return any(
        os.environ.get(name, "").strip() not in ("", "0", "false")
        for name in ("CI", "REQUIRE_POSTGRES")
    )


def pytest_configure(config):
    if skips_forbidden() and not os.environ.get("TEST_DATABASE_URL", "").strip():
        raise pytest.UsageError(
            "CI or REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not: "
            "the PostgreSQL variants may not be skipped"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI a skipped test is a failed one (an expected failure stays what it is)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and skips_forbidden():
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under CI (nothing may skip): {reason}"


@pytest.fixture(scope="session", params=backends())
def service(request, tmp_path_factory) -> Service:
    """A seeded database of one backend and a `raas serve` on it."""
    backend = request.param
    raas = raas_bin()
    workdir = tmp_path_factory.mktemp(f"raas-{backend}")
    pg_admin_url = None
    pg_name = None
    if backend == "sqlite":
        database_url = str(workdir / "raas.db")
    else:
        pg_admin_url = os.environ["TEST_DATABASE_URL"]
        pg_name = f"raas_zeep_{uuid.uuid4().hex[:16]}"
        psql(pg_admin_url, f'CREATE DATABASE "{pg_name}"')
        database_url = database_url_with(pg_admin_url, pg_name)
    proc = None
    try:
        seed(raas, database_url)
        seed_persons(raas, database_url, workdir)
        seed_grants(raas, database_url)
        log = workdir / "serve.log"
        # The outbox explicitly (the server's default is relative to its working directory):
        # the CLI commands that publish into the mailboxes are given the same one.
        outbox = workdir / "outbox"
        proc, base_url = start_server(raas, database_url, log, outbox=outbox)
        yield Service(backend, database_url, base_url, raas, log, outbox=outbox, workdir=workdir)
    finally:
        if proc is not None:
            stop_server(proc)
        if pg_name is not None:
            psql(pg_admin_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


@pytest.fixture
def org_a(service) -> Caller:
    return service.caller(ORG_A)


@pytest.fixture
def org_b(service) -> Caller:
    return service.caller(ORG_B)


@pytest.fixture
def org_c(service) -> Caller:
    return service.caller(ORG_C)


@pytest.fixture
def ident_a(service) -> Caller:
    """Org A on PersonIdentificationService: granted both operations."""
    return service.caller(ORG_A, contract=IDENTIFICATION)


@pytest.fixture
def ident_b(service) -> Caller:
    """Org B on PersonIdentificationService: granted identifyPerson only."""
    return service.caller(ORG_B, contract=IDENTIFICATION)


@pytest.fixture
def ident_c(service) -> Caller:
    """Org C on PersonIdentificationService: granted nothing."""
    return service.caller(ORG_C, contract=IDENTIFICATION)


@pytest.fixture
def mailbox_a(service) -> Caller:
    """Org A on DeliveryService."""
    return service.caller(ORG_A, contract=DELIVERY)


@pytest.fixture
def mailbox_b(service) -> Caller:
    """Org B on DeliveryService."""
    return service.caller(ORG_B, contract=DELIVERY)


@pytest.fixture
def mailbox_c(service) -> Caller:
    """Org C on DeliveryService."""
    return service.caller(ORG_C, contract=DELIVERY)
