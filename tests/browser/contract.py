"""The answers of real records against the API's contract.

Schemathesis invents path ids, so it sees mostly 404s on the routes that read one record.
This check takes the ids the browser test left behind (a lead with mail, a deal with its
proposal, tasks), adds a product with a received batch and a segment, agrees the deal so
that its order is placed, and validates each answer against the schema
`/api/openapi.json` gives for that route and method — the schemas utoipa derives from the
Rust types the handlers write.

Run by tests/browser/run.sh after flow.py, against `crm-local up`.
"""

import json
import os
import random
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import jsonschema_rs

BASE = os.environ.get("CRM_URL", "http://127.0.0.1:3000")
CRM_LOCAL = os.environ.get("CRM_LOCAL", "target/debug/crm-local")


def token(role: str, user: str) -> str:
    return subprocess.check_output(
        [CRM_LOCAL, "token", "--role", role, "--user", user], text=True
    ).strip()


def call(method: str, path: str, bearer: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        BASE + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return response.status, json.load(response)


def get(path: str, bearer: str):
    return call("GET", path, bearer)


def ean13() -> str:
    """A random EAN-13 with its check digit (a barcode no other run has used)."""
    digits = [random.randrange(10) for _ in range(12)]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def answer_schema(document: dict, path: str, method: str = "get") -> dict:
    """The route's answer schema, with the document's components to resolve its refs."""
    pointer = urllib.parse.quote(path.replace("~", "~0").replace("/", "~1"), safe="~")
    root = dict(document)
    root["$ref"] = f"#/paths/{pointer}/{method}/responses/2XX/content/application~1json/schema"
    return root


def main() -> int:
    head = token("head", "head-1")
    manager = token("manager", "mgr-high-1")
    warehouse = token("warehouse", "wh-1")
    marketer = token("marketer", "mkt-1")
    production = token("production", "prod-1")
    _, document = get("/api/openapi.json", head)
    _, deals = get("/api/deals?department=high&limit=50", head)
    # The browser test's deal: its proposal made, moved to the invoice stage.
    deal = next(d for d in deals["items"] if d["documents"] and d["stage"] == "invoice")
    party = deal["party_id"]
    _, card = get(f"/api/counterparties/{party}", head)
    word = card["name"].split()[0]
    failures = []

    def check(route: str, method: str, status: int, body) -> None:
        validator = jsonschema_rs.Draft202012Validator(answer_schema(document, route, method))
        errors = [str(e) for e in validator.iter_errors(body)]
        verdict = "conforms" if not errors else "BREAKS the schema"
        print(f"· {method.upper()} {route}: {status}, {verdict}")
        failures.extend(f"{method.upper()} {route}: {e}" for e in errors[:5])

    # Records of the other contexts, made through the API: a product, a batch of it, a
    # segment and its export.
    sku = f"CT-{random.randrange(10**9)}"
    barcode = ean13()
    product = {
        "sku": sku,
        "name": "Насос контрактный",
        "unit": "шт",
        "kind": "purchased",
        "equipment_type": "vacuum_pump",
        "barcodes": [barcode],
        "tracks_batches": True,
        "tracks_expiry": True,
        "default_supplier": "ООО «Вакуумтех»",
    }
    check("/api/products", "post", *call("POST", "/api/products", head, product))
    receipt = {"scan": f"01{barcode.zfill(14)}17300630\x1d10CT1\x1d305"}
    call("POST", "/api/warehouse/receipts", warehouse, receipt)
    segment = {"name": f"Контракт {sku}", "definition": {"kinds": ["lead"], "has_email": True}}
    status, saved = call("POST", "/api/segments", marketer, segment)
    check("/api/segments", "post", status, saved)
    _, export = call("POST", f"/api/segments/{saved['id']}/exports", marketer)

    # The deal agreed, its chamber made to order: the deal-events function places its
    # order (production for the chamber), read through the order routes.
    path = f"/api/deals/{deal['id']}"
    items = [dict(item, made_to_order=True) for item in deal["items"]]
    status, edited = call("PATCH", path, manager, {"version": deal["version"], "items": items})
    check("/api/deals/{id}", "patch", status, edited)
    status, agreed = call(
        "POST", f"{path}/stage", manager, {"version": edited["version"], "to": "agreed"}
    )
    check("/api/deals/{id}/stage", "post", status, agreed)
    for _ in range(60):
        _, shown = get(path, manager)
        if shown.get("order"):
            break
        time.sleep(0.5)
    else:
        failures.append("no order was placed for the agreed deal")

    checks = [
        ("/api/deals", "/api/deals?department=high&limit=50", head),
        ("/api/deals/{id}", f"/api/deals/{deal['id']}", head),
        ("/api/inquiries", "/api/inquiries?limit=100", head),
        ("/api/tasks", "/api/tasks?scope=mine", manager),
        ("/api/tasks", "/api/tasks?scope=overdue", head),
        ("/api/counterparties", "/api/counterparties?limit=20", head),
        ("/api/counterparties", f"/api/counterparties?q={urllib.parse.quote(word)}", head),
        ("/api/counterparties/{id}", f"/api/counterparties/{party}", head),
        ("/api/counterparties/{id}/timeline", f"/api/counterparties/{party}/timeline", head),
        ("/api/audit/{entity}/{id}", f"/api/audit/deal/{deal['id']}", manager),
        (
            "/api/deals/{id}/documents/{document}/url",
            f"/api/deals/{deal['id']}/documents/{deal['documents'][0]['id']}/url",
            manager,
        ),
        ("/api/me", "/api/me", head),
        ("/api/me", "/api/me", warehouse),
        ("/api/employees", "/api/employees", head),
        ("/api/dashboard", "/api/dashboard", head),
        ("/api/products", f"/api/products?q={sku}", warehouse),
        ("/api/products/{sku}", f"/api/products/{sku}", warehouse),
        ("/api/warehouse/stock", f"/api/warehouse/stock?sku={sku}", warehouse),
        ("/api/warehouse/expiring", "/api/warehouse/expiring?days=3650", warehouse),
        ("/api/warehouse/recipients", f"/api/warehouse/recipients?sku={sku}&batch=CT1", warehouse),
        ("/api/deals/{id}", f"/api/deals/{deal['id']}", manager),
        ("/api/orders/{id}", f"/api/orders/{deal['id']}", warehouse),
        ("/api/orders", "/api/orders", warehouse),
        ("/api/production-orders", "/api/production-orders", production),
        ("/api/segments", "/api/segments", marketer),
        ("/api/segments/{id}", f"/api/segments/{saved['id']}", marketer),
        ("/api/segments/{id}/preview", f"/api/segments/{saved['id']}/preview", marketer),
        ("/api/exports/{id}", f"/api/exports/{export['export_id']}", marketer),
    ]
    # The dashboard as the scheduled job rolls it up (every 15 minutes in the stack).
    subprocess.run([CRM_LOCAL, "job", "dashboard"], check=True, stdout=subprocess.DEVNULL)
    for route, path, bearer in checks:
        check(route, "get", *get(path, bearer))
    _, dashboard = get("/api/dashboard", head)
    if dashboard["dashboard"] is None:
        failures.append("the dashboard was not rolled up")
    _, work = get("/api/orders", warehouse)
    if not any(o["deal_id"] == deal["id"] and o["awaited"] == 1 for o in work["items"]):
        failures.append(f"the agreed deal's order is not on the work list: {work}")
    _, stock = get(f"/api/warehouse/stock?sku={sku}", warehouse)
    if len(stock["items"]) != 1:
        failures.append(f"the received batch is not in stock: {stock}")
    if failures:
        print("\n".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
