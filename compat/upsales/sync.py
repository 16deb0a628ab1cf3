"""A full integration sync the way Upsales tells integrations to do one: page through every
account and every contact with `sort=id&limit=N&id=gt:LAST_ID`, backing off on 429 as the
rate-limit headers say. Seeds its own records first, then checks that the sync saw each of them
exactly once, in id order, and that a change made after a first sync is seen by the next one
(`modDate=gte:`). Standard library only. Needs KITH_URL and KITH_API_KEY."""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

API = os.environ["KITH_URL"].rstrip("/") + "/api/v2"
KEY = os.environ["KITH_API_KEY"]


def call(method, path, body=None, params=None):
    query = dict(params or {})
    query["token"] = KEY
    url = f"{API}{path}?{urllib.parse.urlencode(query)}"
    data = json.dumps(body).encode() if body is not None else None
    for attempt in range(8):
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as res:
                for h in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
                    assert res.headers.get(h) is not None, f"{h} missing on {method} {path}"
                return json.load(res)
        except urllib.error.HTTPError as e:
            if e.code == 429:
                wait = int(e.headers.get("X-RateLimit-Reset") or 1)
                time.sleep(min(wait, 2 ** attempt))
                continue
            raise SystemExit(f"FAIL: {method} {path} answered {e.code}: {e.read().decode()}")
    raise SystemExit(f"FAIL: {method} {path}: still throttled")


def full_sync(path, page, extra=None):
    """Every record of a list, by id, a page at a time; the ids in the order received."""
    seen, last = [], 0
    while True:
        params = {"sort": "id", "limit": page, "id": f"gt:{last}", **(extra or {})}
        body = call("GET", path, params=params)
        assert body["error"] is None and body["metadata"]["limit"] == page, body
        rows = body["data"]
        if not rows:
            return seen
        seen.extend(r["id"] for r in rows)
        last = rows[-1]["id"]


def main():
    accounts = [call("POST", "/accounts", {"name": f"Sync account {i}"})["data"]["id"] for i in range(23)]
    contacts = [
        call("POST", "/contacts", {"name": f"Sync Person{i}", "client": {"id": accounts[i % len(accounts)]}})["data"]["id"]
        for i in range(31)
    ]
    got_accounts = full_sync("/accounts", 5)
    got_contacts = full_sync("/contacts", 7)
    for name, got, made in (("accounts", got_accounts, accounts), ("contacts", got_contacts, contacts)):
        assert got == sorted(got), f"{name} not in id order"
        assert len(got) == len(set(got)), f"{name} seen twice"
        missing = set(made) - set(got)
        assert not missing, f"{name} missing from the sync: {missing}"
        total = call("GET", f"/{name}", params={"limit": 1})["metadata"]["total"]
        assert total == len(got), f"{name}: total {total} but the sync saw {len(got)}"

    # An incremental sync: what changed since the last one.
    time.sleep(1.1)
    before = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    changed = accounts[3]
    call("PUT", f"/accounts/{changed}", {"notes": "changed after the first sync"})
    since = full_sync("/accounts", 5, {"modDate": f"gte:{before}"})
    assert since == [changed], f"the incremental sync saw {since}, not only {changed}"
    print(f"upsales sync: {len(got_accounts)} accounts and {len(got_contacts)} contacts synced, "
          f"{len(since)} changed since the first pass")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
