"""The HTTP API's input checks, without Ray: pydantic validation, size limits, the guard on
statement files, unknown jobs, and the OpenAPI document."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from prover.config import ProverConfig
from prover.service import MAX_FILE_CHARS, ManagerFactory, build_app

HEADER = "import Mathlib\n\nopen Real\n"


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = build_app(ManagerFactory(config=ProverConfig(policy={"name": "hammer"}), use_ray=False))
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("malicious, reason", [
    ("axiom cheat : (1 : ℕ) = 2\n\ntheorem t : (1 : ℕ) = 2 := by\n  sorry\n", "axiom"),
    ("set_option debug.skipKernelTC true\n\ntheorem t : (1 : ℕ) = 2 := by\n  sorry\n", "debug.skipKernelTC"),
    ('#eval IO.Process.run {cmd := "sh"}\n\ntheorem t : (1 : ℕ) = 2 := by\n  sorry\n', "#eval"),
    ("theorem t : (1 : ℕ) = 2 := by\n  native_decide\n\ntheorem u : True := by\n  sorry\n", "native"),
])
def test_malicious_statement_file_is_rejected(client: TestClient, malicious: str, reason: str) -> None:
    response = client.post("/prove", json={"file": HEADER + malicious})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail["error"] == "statement file rejected"
    assert any(reason in problem for problem in detail["problems"]), detail


def test_statement_smuggling_a_command_is_rejected(client: TestClient) -> None:
    statement = "theorem t : (1 : ℕ) = 2 := by\n  sorry\n\naxiom cheat : False\n\ntheorem u : True := by"
    response = client.post("/prove", json={"header": HEADER, "statement": statement})
    assert response.status_code == 422
    assert any("axiom" in problem for problem in response.json()["detail"]["problems"])


@pytest.mark.parametrize("body, needle", [
    ({"file": "x" * (MAX_FILE_CHARS + 1)}, "at most"),
    ({"file": "theorem t : True := by sorry", "statement": "theorem t : True := by"}, "not both"),
    ({}, "not both or neither"),
    ({"statement": "theorem t : True := by", "budget": {"time_limit_s": 10_000}}, "less than or equal"),
    ({"statement": "theorem t : True := by", "budget": {"max_expansions": 0}}, "greater than or equal"),
    ({"statement": "theorem t : True := by", "colour": "red"}, "Extra inputs"),
])
def test_bad_requests_are_refused_with_the_reason(client: TestClient, body: dict, needle: str) -> None:
    response = client.post("/prove", json=body)
    assert response.status_code == 422
    assert needle in response.text


def test_oversized_body_is_refused_before_parsing(client: TestClient) -> None:
    from prover.service import MAX_BODY_BYTES

    response = client.post("/prove", content=b"{" + b" " * MAX_BODY_BYTES + b"}",
                           headers={"content-type": "application/json"})
    assert response.status_code == 413 and "over the limit" in response.text


def test_statement_without_by_and_file_without_open_theorem(client: TestClient) -> None:
    response = client.post("/prove", json={"statement": "theorem t : True := trivial"})
    assert response.status_code == 422 and ":= by" in response.text
    # nothing to prove is not a refusal (as `prover prove` exits 0): the job says so (tests/prover/test_files.py)


def test_unknown_job_is_404_and_openapi_is_served(client: TestClient) -> None:
    assert client.get("/jobs/does-not-exist").status_code == 404
    spec = client.get("/openapi.json").json()
    assert {"/prove", "/jobs/{job_id}"} <= set(spec["paths"])
    assert "ProveRequest" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_every_search_knob_is_in_the_http_schema_with_its_default(client: TestClient) -> None:
    from search import SearchBudget, SearchConfig

    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    search, budget = schemas["SearchConfig"]["properties"], schemas["SearchBudget"]["properties"]
    assert set(search) == set(SearchConfig.model_fields) and set(budget) == set(SearchBudget.model_fields)
    for name, field in SearchConfig.model_fields.items():
        if name != "budget":
            assert search[name].get("default") == field.default, name  # FastAPI leaves out a null default
    assert budget["time_limit_s"]["default"] == 60.0 and budget["max_expansions"]["default"] == 64


def test_a_request_sets_search_knobs_over_the_servers_settings() -> None:
    from concurrent.futures import Future

    from prover.service import JobManager, ProveRequest

    class Recorder:
        def submit(self, text, config):
            self.config = config
            future: Future = Future()
            future.set_result(None)
            return future

    server = ProverConfig.build(policy="hammer", search="rmaxts", time_limit_s=20, environ={})
    executor = Recorder()
    manager = JobManager(server, executor)
    body = ProveRequest.model_validate({"statement": "theorem t : True := by",
                                        "search": {"concurrency": 2, "budget": {"max_expansions": 5}}})
    manager.submit("text", body.search)
    got = executor.config.search
    assert (got.algorithm, got.concurrency, got.budget.max_expansions, got.budget.time_limit_s) == ("rmaxts", 2, 5, 20)
    legacy = ProveRequest.model_validate({"statement": "theorem t : True := by", "budget": {"time_limit_s": 9}})
    manager.submit("text", legacy.search)
    assert executor.config.search.budget.time_limit_s == 9 and executor.config.search.budget.max_expansions == 64


@pytest.mark.parametrize("search, needle", [
    ({"budget": {"time_limit_s": None}}, "greater than or equal"),
    ({"concurrency": 10_000}, "less than or equal"),
    ({"algorithm": "dfs"}, "best-first, rmaxts"),
    ({"beam": 3}, "Extra inputs"),
])
def test_search_knobs_are_validated_and_capped(client: TestClient, search: dict, needle: str) -> None:
    response = client.post("/prove", json={"statement": "theorem t : True := by", "search": search})
    assert response.status_code == 422 and needle in response.text, response.text


def test_a_refused_request_is_not_echoed_back(client: TestClient) -> None:
    big = "theorem t : True := by\n  sorry\n" + "-- padding\n" * 18_000  # ~200 KB, over the file limit
    response = client.post("/prove", json={"file": big, "colour": "x" * 5_000})
    assert response.status_code == 422
    assert len(response.content) < 2_000, len(response.content)  # not the 200 KB body
    problems = {tuple(p["loc"]): p for p in response.json()["detail"]}
    assert problems[("body", "file")]["msg"] == "String should have at most 64000 characters"
    assert problems[("body", "file")]["ctx"] == {"max_length": MAX_FILE_CHARS}
    assert f"({len(big)} chars)" in problems[("body", "file")]["input"]  # cut, and says how long it was
    assert "Extra inputs" in problems[("body", "colour")]["msg"]
    axioms = "".join(f"axiom a{i} : (1 : ℕ) = {i + 2}\n" for i in range(1_500))  # ~45 KB, all refused
    refused = client.post("/prove", json={"file": HEADER + axioms + "theorem t : True := by\n  sorry\n"})
    assert refused.status_code == 422 and len(refused.content) < 4_000
    listed = refused.json()["detail"]["problems"]
    assert len(listed) == 21 and "axiom" in listed[0] and listed[-1].startswith("... and ")
    quoted = client.post("/prove", json={"statement": "theorem t : True := by", "search": {"algorithm": "y" * 50_000}})
    assert quoted.status_code == 422 and len(quoted.content) < 2_000 and "best-first, rmaxts" in quoted.text


def test_docs_page_is_self_contained(client: TestClient) -> None:
    import re

    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    links = re.findall(r"""(?:src|href|action)\s*=\s*["']?([^"' >]+)""", html, flags=re.I)
    assert links and all(link.startswith("#") or (link.startswith("/") and not link.startswith("//"))
                         for link in links), links
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}|@import|<script", html, flags=re.I)
    for needed in ("/prove", "/jobs/{job_id}", 'id="schema-ProveRequest"', 'id="schema-SearchBudget"',
                   "time_limit_s", "max length 64000"):
        assert needed in html, needed
    assert client.get("/redoc").status_code == 404  # FastAPI's CDN pages are not offered
