"""The answers of real records against the API's contract.

Schemathesis invents path ids, so it sees mostly 404s on the routes that read one record.
This check takes the ids the browser test left behind (a lead with mail, a deal with its
proposal, tasks), adds a product with a received batch, a segment with its export and
call tasks, and an opt-out, agrees the deal (its order is placed), finishes its production
and ships it by scan, and validates each answer against the schema `/api/openapi.json`
gives for that route and method — the schemas utoipa derives from the Rust types the
handlers write. A refused request fails the check too.

Run by tests/browser/run.sh after flow.py, against `crm-local up`.
"""

import json
import os
import random
import subprocess
import sys
import time
import urllib.error
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
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


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
        if status >= 400:
            print(f"· {method.upper()} {route}: {status} REFUSED")
            failures.append(f"{method.upper()} {route}: {status} {body}")
            return
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
    check("/api/warehouse/receipts", "post", *call("POST", "/api/warehouse/receipts", warehouse, receipt))
    segment = {"name": f"Контракт {sku}", "definition": {"kinds": ["lead"], "has_email": True}}
    status, saved = call("POST", "/api/segments", marketer, segment)
    check("/api/segments", "post", status, saved)
    status, export = call("POST", f"/api/segments/{saved['id']}/exports", marketer)
    check("/api/segments/{id}/exports", "post", status, export)
    tasks = {"request_id": f"ct-{sku}", "title": "Позвонить", "due_at": "2030-01-01T09:00:00Z"}
    check(
        "/api/segments/{id}/call-tasks",
        "post",
        *call("POST", f"/api/segments/{saved['id']}/call-tasks", marketer, tasks),
    )
    opt_out = {"email": f"{sku.lower()}@contract-test.ru", "reason": "просил не писать"}
    check("/api/opt-outs", "post", *call("POST", "/api/opt-outs", marketer, opt_out))
    _, spare = call("POST", "/api/segments", marketer, dict(segment, name=f"Удалить {sku}"))
    check("/api/segments/{id}", "delete", *call("DELETE", f"/api/segments/{spare['id']}", marketer))

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

    # The shop finishes the chamber; the warehouse checks its label and ships it, twice
    # (the second time is the same shipment: nothing more ships).
    orders = f"/api/orders/{deal['id']}"
    status, done = call("PATCH", f"{orders}/production/1", production, {"status": "done"})
    check("/api/orders/{id}/production/{line}", "patch", status, done)
    shipment = {"shipment_id": f"ct-{sku}", "scans": [{"scan": f"{deal['id']}-P1"}]}
    status, checked = call("POST", f"{orders}/shipments/check", warehouse, shipment)
    check("/api/orders/{id}/shipments/check", "post", status, checked)
    status, shipped = call("POST", f"{orders}/shipments", warehouse, shipment)
    check("/api/orders/{id}/shipments", "post", status, shipped)
    status, again = call("POST", f"{orders}/shipments", warehouse, shipment)
    check("/api/orders/{id}/shipments", "post", status, again)
    if not (shipped.get("shipped") is True and again.get("repeated") is True):
        failures.append(f"shipped {shipped}, then {again}")

    _, inquiries = get("/api/inquiries?limit=1", head)
    inquiry_id = inquiries["items"][0]["id"]
    checks = [
        ("/api/deals", "/api/deals?department=high&limit=50", head),
        ("/api/deals/{id}", f"/api/deals/{deal['id']}", head),
        ("/api/inquiries", "/api/inquiries?limit=100", head),
        ("/api/inquiries/{id}", f"/api/inquiries/{inquiry_id}", head),
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
    if any(o["deal_id"] == deal["id"] for o in work["items"]):
        failures.append(f"the shipped order is still on the work list: {work}")
    _, stock = get(f"/api/warehouse/stock?sku={sku}", warehouse)
    if len(stock["items"]) != 1:
        failures.append(f"the received batch is not in stock: {stock}")
    if failures:
        print("\n".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
