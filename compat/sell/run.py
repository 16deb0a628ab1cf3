"""Drives Kith's Sell dialect with Zendesk's own Python client (PyPI `basecrm`).

The client is used unchanged; only its `base_url` points at Kith. Reads KITH_URL, and KITH_BIN and
KITH_DATA to create a fresh account with Kith's command line, runs a scenario over the services
Kith serves so far (account, users, contacts as persons and organisations, leads) and exits non-zero on
the first failed check.
"""

import json
import os
import subprocess
import sys

import basecrm
from basecrm.errors import RequestError, ResourceError

checks = 0


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        raise AssertionError(what)


def expect(error_type, status, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except error_type as e:
        check(e.http_status == status, f"expected HTTP {status}, got {e.http_status}: {e}")
        check(bool(e.logref), "errors carry a logref")
        return e
    raise AssertionError(f"expected {error_type.__name__} {status}, the call succeeded")


def main():
    out = subprocess.run(
        [os.environ["KITH_BIN"], "--data-dir", os.environ["KITH_DATA"], "account", "create",
         "--name", "Sell Compat", "--owner-email", "sell@example.test", "--json"],
        check=True, capture_output=True, text=True,
    )
    created = json.loads(out.stdout)
    client = basecrm.Client(access_token=created["api_key"], base_url=os.environ["KITH_URL"])

    account = client.accounts.self()
    check(account.id == created["account_id"] and account.name == "Sell Compat", "account self")
    me = client.users.self()
    check(me.email == "sell@example.test" and me.role == "admin", "user self")
    check(client.users.retrieve(me.id).id == me.id, "user by id")
    check([u.id for u in client.users.list()] == [me.id], "users list")

    # Organisations and persons.
    org = client.contacts.create(is_organization=True, name="Difference Engines Ltd",
                                 industry="Computing", tags=["partner"],
                                 address={"line1": "1 Main St", "city": "Dublin", "country": "Ireland"})
    check(org.is_organization is True and isinstance(org.id, int), "organisation created")
    ada = client.contacts.create(first_name="Ada", last_name="Lovelace", contact_id=org.id,
                                 email="ada@engines.example", mobile="+353 1 234", tags=["vip", "speaker"])
    check(ada.contact_id == org.id and ada.name == "Ada Lovelace", "person linked to the organisation")
    for i in range(4):
        client.contacts.create(last_name=f"Prospect{i}")
    got = client.contacts.retrieve(ada.id)
    check(got.email == "ada@engines.example" and got.mobile == "+353 1 234", "person read back")
    check(got.address.line1 is None and got.custom_fields == {}, "empty address and custom fields")

    # Partial update; tags replace the whole set.
    upd = client.contacts.update(ada.id, title="Countess", tags=["speaker"])
    check(upd.title == "Countess" and upd.tags == ["speaker"] and upd.email == "ada@engines.example",
          "PUT is partial, tags replaced")

    # Lists: filters, paging and sorting as the client sends them.
    check(len(client.contacts.list()) == 6, "all contacts")
    check([c.id for c in client.contacts.list(is_organization=True)] == [org.id], "organisations only")
    check(len(client.contacts.list(per_page=4, page=2)) == 2, "second page")
    check([c.id for c in client.contacts.list(contact_id=org.id)] == [ada.id], "persons of an organisation")
    check([c.id for c in client.contacts.list(ids=f"{ada.id},{org.id}")] == sorted([ada.id, org.id]), "ids filter")
    names = [c.last_name for c in client.contacts.list(is_organization=False, sort_by="last_name:desc")]
    check(names == ["Prospect3", "Prospect2", "Prospect1", "Prospect0", "Lovelace"], "sort_by desc")

    # Errors as the client raises them.
    err = expect(ResourceError, 422, client.contacts.create, first_name="NoLastName")
    check(err.errors[0].code == "validation_failed" and err.errors[0].field == "/data/last_name", "422 field")
    expect(RequestError, 404, client.contacts.retrieve, 999999999)
    expect(RequestError, 400, client.contacts.list, per_page=500)

    # Deletion.
    check(client.contacts.destroy(ada.id) is True, "DELETE answers 204")
    expect(RequestError, 404, client.contacts.retrieve, ada.id)
    check(client.contacts.retrieve(org.id).name == "Difference Engines Ltd", "organisation stays")
    # Leads.
    lead = client.leads.create(first_name="Charles", last_name="Babbage", organization_name="Engines",
                               email="charles@engines.example", tags=["hot"])
    check(lead.status == "New" and lead.owner_id == me.id, "lead created with defaults")
    client.leads.create(organization_name="Jacquard Looms")
    lead = client.leads.update(lead.id, status="Working", tags=[])
    check(lead.status == "Working" and lead.tags == [] and lead.email == "charles@engines.example", "lead updated")
    check([l.id for l in client.leads.list(status="Working")] == [lead.id], "lead filter")
    check(client.leads.retrieve(lead.id).last_name == "Babbage", "lead read back")
    expect(ResourceError, 422, client.leads.create, first_name="Nameless")
    check(client.leads.destroy(lead.id) is True, "lead deleted")
    check(len(client.leads.list()) == 1, "one lead left")
    # Loss reasons.
    reason = client.loss_reasons.create(name="Too expensive")
    check(client.loss_reasons.update(reason.id, name="Price").name == "Price", "loss reason renamed")
    check([r.name for r in client.loss_reasons.list()] == ["Price"], "loss reasons listed")
    expect(ResourceError, 422, client.loss_reasons.create, name="price")
    check(client.loss_reasons.destroy(reason.id) is True, "loss reason deleted")
    print(f"sell compat: {checks} checks passed")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, RequestError, ResourceError) as e:
        print(f"sell compat: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
