"""Drives Kith's Sell dialect with Zendesk's own Python client (PyPI `basecrm`).

The client is used unchanged; only its `base_url` points at Kith. Reads KITH_URL, and KITH_BIN and
KITH_DATA to create fresh accounts and custom fields with Kith's command line. It runs a scenario
through every service the client has (account, users, contacts, leads, deals and their associated
contacts, pipelines, stages, sources, loss and unqualified reasons, tags, notes, tasks, text
messages, visits and their outcomes, products, orders and line items, lead conversions and the
Sync API), then the client's own integration test suite, and exits non-zero on the first failure.
"""

import contextlib
import io
import json
import os
import subprocess
import sys
import unittest
import uuid
from decimal import Decimal

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


def kith(*args):
    """Runs Kith's command line on the server's data directory; returns its JSON output."""
    out = subprocess.run(
        [os.environ["KITH_BIN"], "--data-dir", os.environ["KITH_DATA"], *args],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def new_account(name, email):
    created = kith("account", "create", "--name", name, "--owner-email", email, "--json")
    client = basecrm.Client(access_token=created["api_key"], base_url=os.environ["KITH_URL"])
    return created, client


def people(client, created):
    account = client.accounts.self()
    check(account.id == created["account_id"] and account.name == "Sell Compat", "account self")
    me = client.users.self()
    check(me.email == "sell@example.test" and me.role == "admin", "user self")
    check(client.users.retrieve(me.id).id == me.id, "user by id")
    check([u.id for u in client.users.list()] == [me.id], "users list")
    expect(RequestError, 400, client.users.list, colour="red")

    # Organisations and persons.
    org = client.contacts.create(is_organization=True, name="Difference Engines Ltd",
                                 industry="Computing", tags=["partner"],
                                 address={"line1": "1 Main St", "city": "Dublin", "country": "Ireland"})
    check(org.is_organization is True and isinstance(org.id, int), "organisation created")
    ada = client.contacts.create(first_name="Ada", last_name="Lovelace", contact_id=org.id,
                                 email="ada@engines.example", mobile="+353 1 234", tags=["vip", "speaker"],
                                 custom_fields={"Tier": "gold"})
    check(ada.contact_id == org.id and ada.name == "Ada Lovelace", "person linked to the organisation")
    check(ada.custom_fields == {"Tier": "gold"}, "custom field by name")
    for i in range(4):
        client.contacts.create(last_name=f"Prospect{i}")
    got = client.contacts.retrieve(ada.id)
    check(got.email == "ada@engines.example" and got.mobile == "+353 1 234", "person read back")
    check(got.address.line1 is None, "empty address")

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
    check([c.id for c in client.contacts.list(**{"custom_fields[Tier]": "gold"})] == [ada.id], "custom field filter")
    check([c.id for c in client.contacts.list(**{"address[city]": "Dublin"})] == [org.id], "address filter")
    with_org = client.contacts.retrieve(ada.id)
    check(with_org.contact_id == org.id, "person's organisation")

    # Errors as the client raises them.
    err = expect(ResourceError, 422, client.contacts.create, first_name="NoLastName")
    check(err.errors[0].code == "validation_failed" and err.errors[0].field == "/data/last_name", "422 field")
    expect(ResourceError, 422, client.contacts.create, last_name="X", custom_fields={"Tier": "platinum"})
    expect(RequestError, 404, client.contacts.retrieve, 999999999)
    expect(RequestError, 400, client.contacts.list, per_page=500)
    expect(RequestError, 400, client.contacts.list, nam="Ada")

    # Deletion.
    spare = client.contacts.create(last_name="Spare")
    check(client.contacts.destroy(spare.id) is True, "DELETE answers 204")
    expect(RequestError, 404, client.contacts.retrieve, spare.id)
    return me, org, ada


def leads(client, me):
    lead = client.leads.create(first_name="Charles", last_name="Babbage", organization_name="Engines",
                               email="charles@engines.example", tags=["hot"])
    check(lead.status == "New" and lead.owner_id == me.id, "lead created with defaults")
    client.leads.create(organization_name="Jacquard Looms")
    lead = client.leads.update(lead.id, status="Working", tags=[])
    check(lead.status == "Working" and lead.tags == [] and lead.email == "charles@engines.example", "lead updated")
    check([x.id for x in client.leads.list(status="Working")] == [lead.id], "lead filter")
    check(client.leads.retrieve(lead.id).last_name == "Babbage", "lead read back")
    expect(ResourceError, 422, client.leads.create, first_name="Nameless")
    source = client.lead_sources.create(name="Trade show")
    check(source.resource_type == "lead", "lead source")
    reasons = client.lead_unqualified_reasons.list()
    check(len(reasons) > 0, "lead unqualified reasons")
    lead = client.leads.update(lead.id, source_id=source.id)
    check(lead.source_id == source.id, "lead source set")
    expect(ResourceError, 422, client.leads.update, lead.id, source_id=999999999)
    spare = client.leads.create(last_name="Spare")
    check(client.leads.destroy(spare.id) is True, "lead deleted")
    return lead


def deals(client, me, org, ada):
    pipelines = client.pipelines.list()
    check(len(pipelines) == 1, "the default pipeline")
    stages = client.stages.list(pipeline_id=pipelines[0].id, sort_by="position")
    categories = [s.category for s in stages]
    check(categories[0] == "incoming" and "won" in categories and "lost" in categories, "stage categories")
    won = next(s for s in stages if s.category == "won")
    check(won.active is False and stages[0].active is True, "closed stages are not active")
    source = client.deal_sources.create(name="Referral partner")
    check([s.id for s in client.sources.list()] == [source.id], "sources are deal sources")

    deal = client.deals.create(name="Analytical Engine", contact_id=ada.id, value=1599.99, currency="EUR",
                               hot=True, tags=["big"], source_id=source.id)
    check(deal.value == Decimal("1599.99") and isinstance(deal.value, Decimal), "value as a decimal")
    check(deal.stage_id == stages[0].id and deal.organization_id == org.id, "first stage, person's organisation")
    check(deal.creator_id == me.id and deal.owner_id == me.id and deal.hot is True, "owner and hot")
    org_deal = client.deals.create(name="Looms", contact_id=org.id, value=10)
    check(org_deal.contact_id == org.id, "an organisation as the primary contact")
    check([d.id for d in client.deals.list(hot=True)] == [deal.id], "hot filter")
    check([d.id for d in client.deals.list(sort_by="value:desc")] == [deal.id, org_deal.id], "sort by value")
    check([d.id for d in client.deals.list(organization_id=org.id, sort_by="id")] == [deal.id, org_deal.id],
          "organization filter")
    moved = client.deals.update(deal.id, stage_id=won.id)
    check(moved.stage_id == won.id and moved.last_stage_change_at is not None, "moved to the won stage")
    check(moved.last_stage_change_by_id == me.id, "who moved it")
    same = client.deals.update(deal.id, moved)
    check(same.value == moved.value and same.stage_id == won.id, "PUT of the record as read")
    expect(ResourceError, 422, client.deals.create, name="No contact")
    expect(ResourceError, 422, client.deals.create, name="Bad", contact_id=ada.id, value="lots")
    expect(ResourceError, 422, client.deals.update, deal.id, stage_id=999999999)

    loss = client.loss_reasons.create(name="Too expensive")
    check(client.loss_reasons.update(loss.id, name="Price").name == "Price", "loss reason renamed")
    check([r.name for r in client.loss_reasons.list()] == ["Price"], "loss reasons listed")
    expect(ResourceError, 422, client.loss_reasons.create, name="price")
    lost = next(s for s in stages if s.category == "lost")
    lost_deal = client.deals.update(org_deal.id, stage_id=lost.id, loss_reason_id=loss.id)
    check(lost_deal.loss_reason_id == loss.id, "lost with a reason")
    unqualified = client.deal_unqualified_reasons.create(name="No budget")
    check(client.deal_unqualified_reasons.retrieve(unqualified.id).name == "No budget", "unqualified reason")
    check(client.deal_unqualified_reasons.update(unqualified.id, name="No money").name == "No money", "renamed")
    check(client.deal_unqualified_reasons.destroy(unqualified.id) is True, "unqualified reason deleted")

    # Associated contacts.
    assoc = client.associated_contacts.create(deal.id, contact_id=org.id, role="involved")
    check(assoc.contact_id == org.id and assoc.role == "involved", "contact associated")
    check([a.contact_id for a in client.associated_contacts.list(deal.id)] == [org.id], "associations listed")
    expect(ResourceError, 422, client.associated_contacts.create, deal.id, contact_id=org.id)
    check(client.associated_contacts.destroy(deal.id, org.id) is True, "association removed")
    return deal, org_deal


def activities(client, me, ada, lead, deal):
    note = client.notes.create(content="Met at the Royal Society", resource_type="contact", resource_id=ada.id)
    check(note.resource_id == ada.id and note.creator_id == me.id, "note on a person")
    client.notes.create(content="Quoted", resource_type="deal", resource_id=deal.id)
    client.notes.create(content="Called back", resource_type="lead", resource_id=lead.id)
    check([n.id for n in client.notes.list(resource_type="contact", resource_id=ada.id)] == [note.id],
          "notes of a person")
    check(len(client.notes.list(q="Quoted")) == 1, "note search")
    check(client.notes.update(note.id, content="Met twice").content == "Met twice", "note updated")
    expect(ResourceError, 422, client.notes.create, content="Nowhere", resource_type="contact", resource_id=999999999)
    check(client.notes.destroy(note.id) is True, "note deleted")

    task = client.tasks.create(content="Send the plans", due_date="2030-01-02T10:00:00Z",
                               resource_type="deal", resource_id=deal.id)
    check(task.completed is False and task.overdue is False and task.owner_id == me.id, "open task")
    floating = client.tasks.create(content="Order ink")
    check(floating.resource_type is None, "a task on nothing")
    done = client.tasks.update(task.id, completed=True)
    check(done.completed is True and done.completed_at is not None, "task completed")
    check([t.id for t in client.tasks.list(completed=True)] == [task.id], "completed filter")
    check([t.id for t in client.tasks.list(type="floating")] == [floating.id], "floating filter")
    reopened = client.tasks.update(task.id, completed=False)
    check(reopened.completed is False and reopened.completed_at is None, "task reopened")
    check(client.tasks.destroy(floating.id) is True, "task deleted")

    check(client.text_messages.list() == [], "no text messages yet")
    expect(RequestError, 404, client.text_messages.retrieve, 999999999)
    check(client.visits.list() == [], "no visits yet")
    outcomes = client.visit_outcomes.list()
    check(len(outcomes) > 0 and all(o.name for o in outcomes), "visit outcomes")


def catalog(client, ada, deal):
    product = client.products.create(name="Difference Engine No. 2", sku="DE2", active=True, max_discount=10,
                                     max_markup=20, cost=100, cost_currency="EUR",
                                     prices=[{"amount": "500.00", "currency": "EUR"},
                                             {"amount": "550.00", "currency": "USD"}])
    check([p.amount for p in product.prices] == ["500.00", "550.00"], "prices as decimal strings")
    product = client.products.update(product.id, description="With printer")
    check(product.description == "With printer" and product.sku == "DE2", "product updated")
    check([p.id for p in client.products.list(sku="DE2")] == [product.id], "sku filter")
    expect(ResourceError, 422, client.products.create, name="Difference Engine No. 2")

    fresh = client.deals.create(name="Engine order", contact_id=ada.id, currency="EUR")
    order = client.orders.create(deal_id=fresh.id, discount=10)
    check(order.deal_id == fresh.id and order.discount == 10, "order")
    expect(ResourceError, 422, client.orders.create, deal_id=fresh.id)
    line = client.line_items.create(order.id, product_id=product.id, quantity=2, currency="EUR")
    check(line.price == "500.00" and line.value == "500.00" and line.name == product.name, "line from the product")
    check(client.deals.retrieve(fresh.id).value == Decimal("900.00"), "deal value: lines less the discount")
    marked = client.line_items.create(order.id, product_id=product.id, variation=10, currency="EUR")
    check(marked.value == "550.00", "a marked-up line")
    check(len(client.line_items.list(order.id)) == 2, "lines listed")
    check(client.line_items.retrieve(order.id, marked.id).variation in ("10", "10.0", 10, 10.0), "line read back")
    check(client.line_items.destroy(order.id, marked.id) is True, "line deleted")
    check(client.orders.update(order.id, discount=0).discount == 0, "discount changed")
    check(client.deals.retrieve(fresh.id).value == Decimal("1000.00"), "deal value follows")
    expect(ResourceError, 422, client.line_items.create, order.id, product_id=product.id, variation=50,
           currency="EUR")
    check(client.orders.destroy(order.id) is True, "order deleted")

    tag = client.tags.create(name="publisher", resource_type="contact")
    check(tag.resource_type == "contact", "tag created")
    deal_tag = client.tags.create(name="publisher", resource_type="deal")
    check(deal_tag.id != tag.id, "the same name for another type")
    speaker = next(t for t in client.tags.list(resource_type="contact", name="speaker"))
    client.tags.update(speaker.id, name="keynote")
    check(client.contacts.retrieve(ada.id).tags == ["keynote"], "a tag renamed on its records")
    check(client.tags.destroy(tag.id) is True, "tag deleted")
    expect(ResourceError, 422, client.tags.create, name="publisher", resource_type="deal")


def conversion(client, me):
    lead = client.leads.create(first_name="Grace", last_name="Hopper", organization_name="Navy",
                               tags=["cobol"])
    _, _, converted = client.http_client.post("/lead_conversions", body={"lead_id": lead.id})
    check(converted.lead_id == lead.id and converted.creator_id == me.id, "lead converted")
    person = client.contacts.retrieve(converted.individual_id)
    check(person.last_name == "Hopper" and person.contact_id == converted.organization_id, "person made")
    check(client.deals.retrieve(converted.deal_id).contact_id == person.id, "deal made")
    expect(RequestError, 404, client.leads.retrieve, lead.id)


def sync(client):
    device = str(uuid.uuid4())
    seen = {}

    def take(meta, data):
        seen.setdefault(meta["type"], set()).add(data["id"])
        return basecrm.Sync.ACK

    basecrm.Sync(client, device).fetch(take)
    for kind in ["user", "contact", "lead", "deal", "note", "task", "product", "stage", "pipeline", "tag",
                 "loss_reason", "lead_source", "deal_source"]:
        check(kind in seen, f"sync hands out {kind} records")
    check(client.sync.start(device) is None, "nothing more after acknowledging")

    # Only changes come next; a NACK brings an item again in the next session.
    def changes(answer):
        events = []

        def take(meta, data):
            events.append((meta["sync"]["event_type"], data["id"]))
            return answer

        basecrm.Sync(client, device).fetch(take)
        return events

    person = client.contacts.create(last_name="Turing")
    check(changes(basecrm.Sync.NACK) == [("created", person.id)], "only the new record")
    client.contacts.update(person.id, title="Dr")
    check(changes(basecrm.Sync.ACK) == [("created", person.id)], "not acknowledged, it comes again")
    check(client.sync.start(device) is None, "acknowledged")
    client.contacts.update(person.id, title="Prof")
    check(changes(basecrm.Sync.ACK) == [("updated", person.id)], "an update")
    client.contacts.destroy(person.id)
    check(changes(basecrm.Sync.ACK) == [("deleted", person.id)], "a deletion")


def scenario():
    created, client = new_account("Sell Compat", "sell@example.test")
    kith("field", "create", "--account", str(created["account_id"]), "--entity", "contact", "--name", "Tier",
         "--type", "list", "--choice", "gold", "--choice", "silver")
    me, org, ada = people(client, created)
    lead = leads(client, me)
    deal, _ = deals(client, me, org, ada)
    activities(client, me, ada, lead, deal)
    catalog(client, ada, deal)
    conversion(client, me)
    sync(client)


# The client's own tests that reach past Kith: its default host, or a host that does not exist.
OFF_LOOPBACK = {"test_authentication_error", "test_connection_error"}


def client_suite():
    """The client's integration tests (shipped in the package), on an account of their own."""
    created, _ = new_account("Sell Client Tests", "tests@example.test")
    os.environ["BASECRM_ACCESS_TOKEN"] = created["api_key"]
    os.environ["BASECRM_BASE_URL"] = os.environ["KITH_URL"]
    import basecrm.test

    def kept(suite):
        out = unittest.TestSuite()
        for test in suite:
            if isinstance(test, unittest.TestSuite):
                out.addTest(kept(test))
            elif test._testMethodName not in OFF_LOOPBACK:
                out.addTest(test)
        return out

    suite = kept(basecrm.test.all())
    # Its clients are verbose (every request and header): keep that for when a test fails.
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        result = unittest.TextTestRunner(stream=log, verbosity=1).run(suite)
    if not result.wasSuccessful():
        print(log.getvalue()[-20000:], file=sys.stderr)
    check(result.testsRun > 200, f"the client's suite ran ({result.testsRun} tests)")
    check(result.wasSuccessful(), "the client's own tests pass against Kith")
    return result.testsRun


def main():
    scenario()
    ran = client_suite()
    print(f"sell compat: {checks} checks passed, and the client's own {ran} tests")


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, RequestError, ResourceError) as e:
        print(f"sell compat: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
