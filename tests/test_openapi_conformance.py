"""The OpenAPI document describes what the service does: a bounded Schemathesis run against
the served app (fixed seed and example count) finds no 5xx and no schema violation; and
questions that are blank once cleaned are 422."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import API_KEY, amtswissen_serve, api_client, small_index

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.mark.parametrize("q", ["\x00", "\x01\x02\x1f", " \t\n", "\u200b\u202e", "\x7f"])
def test_questions_blank_after_cleaning_are_422(tmp_path, embedder, q):
    with api_client(tmp_path, embedder) as client:
        r = client.get("/api/search", params={"q": q})
        assert r.status_code == 422 and r.json()["detail"] == "Die Frage darf nicht leer sein."


def test_validation_errors_are_one_german_sentence(tmp_path, embedder):
    with api_client(tmp_path, embedder) as client:
        detail = client.get("/api/search", params={"q": "Pass", "k": 0}).json()["detail"]
        assert detail == "Ungültige Eingabe: k muss mindestens 1 sein"
        schema = client.get("/openapi.json").json()
        error = schema["paths"]["/api/search"]["get"]["responses"]["422"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ErrorBody"}
        assert schema["components"]["schemas"]["ErrorBody"]["properties"]["detail"]["type"] == "string"


# without credentials nearly every write is a 401: fewer examples find as much there
@pytest.mark.parametrize("credentials,examples", [(["--header", f"X-API-Key: {API_KEY}"], "80"), ([], "30")],
                         ids=["mit-schluessel", "anonym"])
def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path, embedder, credentials, examples):
    # many deliberately wrong keys and searches in this run: no lockout, no rate limit here
    # (both tested in test_auth.py and test_signin.py)
    with amtswissen_serve(small_index(tmp_path, embedder), AMTSWISSEN_API_KEY=API_KEY,
                          AMTSWISSEN_LOGIN_ATTEMPTS="1000000", AMTSWISSEN_SEARCH_PER_MINUTE="0") as base:
        run = subprocess.run(
            [str(SCHEMATHESIS), "run", f"{base}/openapi.json", "--checks", "all",
             "--exclude-checks", "positive_data_acceptance",
             "--max-examples", examples, "--generation-deterministic", "--no-color",
             *credentials, "--workers", "1", "--request-timeout", "60",
             "--phases", "examples,coverage,fuzzing"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path)
        assert run.returncode == 0, run.stdout[-6000:]
        assert "0 failures" in run.stdout or " passed" in run.stdout
        assert httpx.get(f"{base}/api/health").status_code == 200
