"""The answers of real records against the API's contract.

Schemathesis invents path ids, so it sees mostly 404s on the routes that read one record.
This check takes the ids the browser test left behind (a lead with mail, a deal with its
proposal, tasks) and validates each answer against the schema `/api/openapi.json` gives
for that route — the schemas utoipa derives from the Rust types the handlers write.

Run by tests/browser/run.sh after flow.py, against `crm-local up`.
"""

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request

import jsonschema_rs

BASE = os.environ.get("CRM_URL", "http://127.0.0.1:3000")
CRM_LOCAL = os.environ.get("CRM_LOCAL", "target/debug/crm-local")


def token(role: str, user: str) -> str:
    return subprocess.check_output(
        [CRM_LOCAL, "token", "--role", role, "--user", user], text=True
    ).strip()


def get(path: str, bearer: str):
    request = urllib.request.Request(BASE + path, headers={"Authorization": f"Bearer {bearer}"})
    with urllib.request.urlopen(request) as response:
        return response.status, json.load(response)


def answer_schema(document: dict, path: str) -> dict:
    """The route's answer schema, with the document's components to resolve its refs."""
    pointer = urllib.parse.quote(path.replace("~", "~0").replace("/", "~1"), safe="~")
    root = dict(document)
    root["$ref"] = f"#/paths/{pointer}/get/responses/2XX/content/application~1json/schema"
    return root


def main() -> int:
    head = token("head", "head-1")
    manager = token("manager", "mgr-high-1")
    _, document = get("/api/openapi.json", head)
    _, deals = get("/api/deals?department=high&limit=50", head)
    deal = next(d for d in deals["items"] if d["documents"])
    party = deal["party_id"]
    checks = [
        ("/api/deals", "/api/deals?department=high&limit=50", head),
        ("/api/deals/{id}", f"/api/deals/{deal['id']}", head),
        ("/api/inquiries", "/api/inquiries?limit=100", head),
        ("/api/tasks", "/api/tasks?scope=mine", manager),
        ("/api/tasks", "/api/tasks?scope=overdue", head),
        ("/api/counterparties/{id}", f"/api/counterparties/{party}", head),
        ("/api/counterparties/{id}/timeline", f"/api/counterparties/{party}/timeline", head),
    ]
    failures = []
    for route, path, bearer in checks:
        status, body = get(path, bearer)
        validator = jsonschema_rs.Draft202012Validator(answer_schema(document, route))
        errors = [str(e) for e in validator.iter_errors(body)]
        print(f"· {route}: {status}, {'conforms' if not errors else 'BREAKS the schema'}")
        failures.extend(f"{path}: {e}" for e in errors[:5])
    if failures:
        print("\n".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
