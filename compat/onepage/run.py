"""Drives Kith's OnePage dialect with OnePageCRM's own Python client (PyPI `onepagecrm`).

The client is used unchanged; only its `base_url` points at Kith. Reads KITH_URL (e.g.
http://127.0.0.1:8080), KITH_USER_ID and KITH_API_KEY from the environment, runs a sales
scenario over contacts, deals, actions and notes, and exits non-zero on the first failed check.
"""

import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import threading
import time

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


# A 50x50 PNG, the example image of OnePage's own contact_photo documentation.
PHOTO = (
    "iVBORw0KGgoAAAANSUhEUgAAADIAAAAyCAYAAAAeP4ixAAAABmJLR0QA/wD/AP+gvaeTAAAACXBIWXMAAAsTAAALEwEAmpwYAAAAB3RJTUUH4gkFCR0i"
    "iEuUHQAAA8tJREFUaN7tmX1IlHccwD/PvZRpGb0ZTcK6C9ksanIVvQ0rV4RTK5cy9keLbETOGmRBW1SMmX9sLCrbjDKrJfRqucqgyBoUW3EmRYZF"
    "XRmzFmmvXL502rM/vkIpPXenPl6Xe37wcHDP73e/3+f7/v2douai0g2GiW4yDBADxAAxQAwQA8QA+X+CNALNATzZq5Y9VT1BIhyQpULaeYhKAE8X"
    "AniAiLGQeFj2jFmgI8jwZPkcMhmSSuCbp+D4DkxWkVxnh9qigZh0SL8NaU6wzZV39s/92sM/ELWNfnv0hYk5kPESZu2FAaM6pqVmIHQwxG2GZSpM"
    "z4fw4d731hgW/zZs0H4X/YU8TyqhLAeuFYIZUHyYj30mOL6HyLgAOnv5z3LI5kbtOf0+ghl74NsmmPwT9OzX2iRUQDFD7ErIeAzJJ3WDAFD87hDV"
    "FlP4MBXGroaBY3yvubAWnD+KdmxzIOFI+0945xgcS/YpclO77NkM3DoIhR9DYTRc/937GvtcWacCwz4LgjwSFgnzr8GUXyBkgEj46U049RX8aoLz"
    "WdDwSEON7XPargUZ+TX0j4HY5bCoFlJOQeTUFmmrcHkD/DYQij+F6jOv1zXVeXd6HYelQ6uGzpCn7iFcyoErm8AKVJfC3VLoPQhGLobru8UcA3BP"
    "42ce0chIoRHwyUbIVCF+B4Tb5ND1NVCWDe5/gqzWqsiD6rPe58QshPku+LIMbCldW8Z0GKS+BoqmQ/4g8QdvjhvhgIQiWFoP9pQgrH5NQEMtnMuC"
    "zSY4vUAil6b3hUi+aQomEHNPiM+HEakSqUyII++Mhn2xklvei34kdoVUprMOQGY9TPgBrGESkWovw4k0yAuBi2vA4/YdJN4ZiMna2mTGrYXFbkgs"
    "hsHjRUvNjeDMhi19oGQ2VJVIorQEBqRz29hmy/P8LlxaD1e3yy/eOQquozo10oqOGnEdAk+d9vvwKJi2TXqKuFwIHaJfEqzc4dcp/QN5VAFbwuB4"
    "Ejz42/vc0Zmw8D6knoP+ozp2+GcuKE2HTQq4inUOv1ag6jjsmwS7hkLFVu/zP5gC8QXtu7BwFcF+BxSMgMoC3w1ap66DLIC7Gs4ugVwF/swA9z2N"
    "Xzf7NjHPC7i4DraGQsk8qCkXoQXM2ZU3ypfyPIiaJK1rq77jDXEqbWT20Cld541iOYXSuVs2fYJjD+Dfv+CPROgVDo5VUvpX5L02j8oCsM+TwOHM"
    "hidVsrtVn5igdMmfoSpSmlja2LjnLd8FRR7xZnZWjYDxzovGIB8GiAFigBggBogBYoB0J5D/ACApEz8hyMzGAAAAAElFTkSuQmCC"
)


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """The signature check of docs/webhooks.md, verbatim."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    signed = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


class Receiver(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Receiver.received.append((self.headers, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def files_and_webhooks(api, contact_id, deal_id):
    """Photos, links and webhooks through the client's generic calls and Kith's CLI."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = "compat-signing-secret-0123456789"
    out = subprocess.run(
        [os.environ["KITH_BIN"], "--data-dir", os.environ["KITH_DATA"], "webhook", "create",
         "--account", os.environ["KITH_ACCOUNT_ID"], "--name", "compat", "--secret", secret,
         "--events", "contact", "--url", f"http://127.0.0.1:{server.server_address[1]}/hook", "--json"],
        check=True, capture_output=True, text=True,
    )
    hook = json.loads(out.stdout)
    check(any(w["webhook"]["id"] == hook["id"] for w in api.get("webhooks")["webhooks"]), "webhook listed")

    photo = api.post(f"contacts/{contact_id}/contact_photo", {"image": PHOTO})["contact"]
    check(photo["photo_url"].endswith("/api/v3/files/" + photo["photo_url"].rsplit("/", 1)[1]), "photo stored")
    link = api.post(f"deals/{deal_id}/attachments", {
        "name": "Plans.pdf", "external_url": "https://drive.google.com/file/d/plans", "link_type": "google_drive",
    })["attachment"]
    check(link["storage_provider"] == "google_drive", "link attached")
    check(api.get("deals", deal_id)["deal"]["attachments"][0]["id"] == link["id"], "deal lists its attachment")

    # The photo changed the contact: a signed OnePage-format body arrives.
    deadline = time.time() + 20
    while time.time() < deadline and not any(
        json.loads(b).get("data", {}).get("contact", {}).get("photo_url") for _, b in Receiver.received
    ):
        time.sleep(0.1)
    server.shutdown()
    bodies = [(h, json.loads(b), b) for h, b in Receiver.received]
    check(bodies, "webhooks received")
    for headers, payload, raw in bodies:
        check(verify(secret, headers.get("Kith-Signature", ""), raw), "signature verifies with the documented check")
        check(payload["secretkey"] == secret and payload["type"] == "contact", "OnePage webhook body")
    check(any(p["reason"] == "updated" and p["data"]["contact"]["id"] == contact_id for _, p, _ in bodies),
          "the contact's update delivered")
    api.delete("webhooks", hook["id"])
    check(not api.get("webhooks")["webhooks"], "webhook deleted")


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

    files_and_webhooks(api, ada["id"], deal["id"])

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
