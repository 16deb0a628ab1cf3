"""Drives Kith's OnePage dialect with OnePageCRM's own Python client (PyPI `onepagecrm`).

The client is used unchanged; only its `base_url` points at Kith. Reads KITH_URL (e.g.
http://127.0.0.1:8080), KITH_USER_ID and KITH_API_KEY from the environment, runs a sales
scenario over contacts, deals, actions and notes, and exits non-zero on the first failed check.
"""

import datetime
import os
import sys

from onepagecrm import OnePageCRMAPI, RequestError

checks = 0


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        raise AssertionError(what)


def expect_error(status, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except RequestError as e:
        check(e.status == status, f"expected HTTP {status}, got {e.status}: {e}")
        return e
    raise AssertionError(f"expected HTTP {status}, the call succeeded")


def main():
    base = os.environ["KITH_URL"].rstrip("/") + "/api/v3"
    # The constructor authenticates by fetching /bootstrap.
    api = OnePageCRMAPI(os.environ["KITH_USER_ID"], os.environ["KITH_API_KEY"], base_url=base)
    today = datetime.date.today().isoformat()

    # Contacts: create, read, filter and page, partial update, delete and undo.
    ada = api.post("contacts", {
        "first_name": "Ada", "last_name": "Lovelace", "company_name": "Analytical Engines",
        "emails": [{"type": "work", "value": "ada@engines.example"}], "tags": ["vip"],
    })["contact"]
    check(len(ada["id"]) == 24, "24-hex contact id")
    check(ada["company_name"] == "Analytical Engines", "company linked by name")
    for i in range(12):
        api.post("contacts", {"first_name": f"Bulk{i:02}", "last_name": "Prospect"})
    got = api.get("contacts", ada["id"])["contact"]
    check(got["emails"][0]["value"] == "ada@engines.example", "contact read back")
    page = api.get("contacts", per_page=5, page=3)
    check(page["total_count"] == 13 and page["max_page"] == 3 and len(page["contacts"]) == 3, "paging")
    check(api.get("contacts", tag="vip")["total_count"] == 1, "tag filter")
    check(api.get("contacts", search="lovelace")["total_count"] == 1, "search")
    check(api.get("contacts", starred=False)["total_count"] == 13, "boolean filter as Python sends it")
    upd = api.patch("contacts", ada["id"], {"job_title": "Analyst"})["contact"]
    check(upd["job_title"] == "Analyst" and upd["last_name"] == "Lovelace", "partial update keeps the rest")
    bulk = api.get_contacts(search="bulk00")
    check(len(bulk) == 1, "get_contacts helper")
    api.delete("contacts", bulk[0]["contact"]["id"])
    expect_error(404, api.get, "contacts", bulk[0]["contact"]["id"])
    api.delete("contacts", bulk[0]["contact"]["id"], undo=True)
    check(api.get("contacts", bulk[0]["contact"]["id"])["contact"]["first_name"] == "Bulk00", "undo restores")

    # Deals: create on the contact, list per contact, win it.
    deal = api.post("deals", {"contact_id": ada["id"], "name": "Difference engine", "amount": 1200.5, "months": 2})["deal"]
    check(deal["total_amount"] == 2401.0 and deal["status"] == "pending", "deal totals")
    check(api.get("contacts", ada["id"])["contact"]["pending_deal"] is True, "contact has a pending deal")
    deals = api.get_contacts(ada["id"], "deals")
    check(len(deals) == 1 and deals[0]["deal"]["id"] == deal["id"], "deals of the contact")
    won = api.put("deals", deal["id"], {"status": "won"}, partial=True)["deal"]
    check(won["status"] == "won" and won["close_date"] == today, "deal won today")

    # Actions: create, list per contact, stream, complete.
    action = api.post("actions", {"contact_id": ada["id"], "text": "Send the plans", "status": "asap"})["action"]
    check(action["status"] == "asap", "ASAP action")
    actions = api.get_contacts(ada["id"], "actions")
    check(len(actions) == 1, "actions of the contact")
    stream = api.get("action_stream")
    check(stream["contacts"][0]["contact"]["id"] == ada["id"], "contact with an ASAP action leads the stream")
    done = api.request("PUT", "actions", action["id"], "mark_as_done")["action"]
    check(done["done"] is True and done["status"] == "done", "action completed")

    # Notes: create, list, update, delete.
    note = api.post("notes", {"contact_id": ada["id"], "text": "Met at the exhibition", "linked_deal_id": deal["id"]})["note"]
    check(note["linked_deal_name"] == "Difference engine", "note linked to the deal")
    notes = api.get_contacts(ada["id"], "notes")
    check(len(notes) == 1, "notes of the contact")
    edited = api.put("notes", note["id"], {"contact_id": ada["id"], "text": "Met at the Great Exhibition"})["note"]
    check(edited["text"] == "Met at the Great Exhibition", "note updated")
    api.delete("notes", note["id"])
    check(api.get("notes", contact_id=ada["id"])["total_count"] == 0, "note deleted")

    # Errors come back as the client expects them.
    err = expect_error(400, api.post, "contacts", {"title": "Dr"})
    check("title" in err.data.get("errors", {}), "field errors listed")
    expect_error(404, api.get, "deals", "0" * 24)
    print(f"onepage compat: {checks} checks passed")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, RequestError) as e:
        print(f"onepage compat: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
