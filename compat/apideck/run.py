"""Drives Kith's Apideck dialect with Apideck's own Python SDK (PyPI `apideck-unify`).

The SDK is used unchanged; only its `server_url` points at Kith. Reads KITH_URL and KITH_API_KEY,
and KITH_BIN, KITH_DATA and KITH_ACCOUNT_ID to save a contact filter (a list) with the command line.
For each resource Kith serves it creates, reads, lists (following the SDK's `next()` iterator),
filters, sorts, updates and deletes, and checks the error types the SDK raises. Exits non-zero on
the first failure.
"""

import os
import subprocess
import sys
import uuid

from apideck_unify import Apideck, models

checks = 0


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)


def pages(first, attr):
    """Every record of a list, page after page through the SDK's iterator."""
    out, page, count = [], first, 0
    while page is not None:
        out.extend(getattr(page, attr).data)
        count += 1
        page = page.next()
    return out, count


def expect_error(error_type, call, what):
    try:
        call()
    except error_type as e:
        check(True, what)
        return e
    check(False, f"{what}: no {error_type.__name__} raised")


def main():
    run = uuid.uuid4().hex[:8]
    with Apideck(
        api_key=os.environ["KITH_API_KEY"],
        consumer_id="compat-consumer",
        app_id="compat-app",
        server_url=os.environ["KITH_URL"],
    ) as sdk:
        crm = sdk.crm

        # Companies.
        r = crm.companies.create(**{"name": f"Initech {run}", "industry": "Software",
                                          "websites": [{"url": "https://initech.test", "type": "primary"}]})
        company_id = r.create_company_response.data.id
        check(isinstance(company_id, str), "company id is a string")
        got = crm.companies.get(id=company_id).get_company_response.data
        check(got.name == f"Initech {run}", "company read back")
        crm.companies.update(id=company_id, **{"name": f"Initech {run}", "description": "TPS"})
        found = crm.companies.list(filter_={"name": f"initech {run}"}, sort={"by": "name", "direction": "desc"})
        check([c.id for c in found.get_companies_response1.data] == [company_id], "company filter")
        check(found.get_companies_response1.data[0].description == "TPS", "company update seen")

        # Contacts: several, paged two at a time.
        made = []
        for i in range(5):
            r = crm.contacts.create(**{"first_name": "Ada", "last_name": f"L{run}{i}", "company_id": company_id,
                                             "emails": [{"email": f"ada{i}.{run}@engines.test", "type": "primary"}]})
            made.append(r.create_contact_response.data.id)
        one = crm.contacts.get(id=made[0]).get_contact_response.data
        check(one.last_name == f"L{run}0" and one.emails[0].email == f"ada0.{run}@engines.test", "contact read back")
        listed, count = pages(crm.contacts.list(limit=2, filter_={"company_id": company_id}), "get_contacts_response")
        check([c.id for c in listed] == made and count == 3, f"contacts paged: {count} pages")
        desc = crm.contacts.list(filter_={"company_id": company_id}, sort={"by": "last_name", "direction": "desc"})
        check([c.id for c in desc.get_contacts_response.data] == made[::-1], "contacts sorted descending")
        by_email = crm.contacts.list(filter_={"email": f"ada3.{run}@engines.test"})
        check([c.id for c in by_email.get_contacts_response.data] == [made[3]], "contact email filter")
        crm.contacts.update(id=made[0], **{"title": "Countess"})
        check(crm.contacts.get(id=made[0]).get_contact_response.data.title == "Countess", "contact patched")
        sparse = crm.contacts.get(id=made[0], fields="title").get_contact_response.data
        check(sparse.title == "Countess" and not sparse.last_name, f"sparse fieldset: {sparse!r}")

        # Opportunities.
        r = crm.opportunities.create(**{"title": f"Upgrade {run}", "primary_contact_id": made[1],
                                                  "monetary_amount": 1250.5, "currency": "USD"})
        deal_id = r.create_opportunity_response.data.id
        deal = crm.opportunities.get(id=deal_id).get_opportunity_response.data
        check(deal.title == f"Upgrade {run}" and deal.monetary_amount == 1250.5, "opportunity read back")
        crm.opportunities.update(id=deal_id, **{"title": f"Upgrade {run}", "win_probability": 60})
        deals = crm.opportunities.list(filter_={"primary_contact_id": made[1]}, sort={"by": "monetary_amount"})
        check([d.id for d in deals.get_opportunities_response.data] == [deal_id], "opportunity filter")
        check(deals.get_opportunities_response.data[0].win_probability == 60, "opportunity patched")

        # Leads.
        r = crm.leads.create(**{"name": f"Milton {run}", "company_name": "Initech",
                                   "emails": [{"email": f"milton.{run}@initech.test"}]})
        lead_id = r.create_lead_response.data.id
        check(crm.leads.get(id=lead_id).get_lead_response.data.name == f"Milton {run}", "lead read back")
        crm.leads.update(id=lead_id, **{"name": f"Milton {run}", "title": "Collator"})
        leads = crm.leads.list(filter_={"email": f"milton.{run}@initech.test"}, sort={"by": "created_at"})
        check([x.id for x in leads.get_leads_response.data] == [lead_id], "lead filter")
        check(leads.get_leads_response.data[0].title == "Collator", "lead patched")

        # Notes.
        r = crm.notes.create(**{"content": "Stapler missing", "contact_id": made[2]})
        note_id = r.create_note_response.data.id
        crm.notes.update(id=note_id, **{"content": "Stapler found"})
        check(crm.notes.get(id=note_id).get_note_response.data.content == "Stapler found", "note patched")
        notes, _ = pages(crm.notes.list(limit=1), "get_notes_response")
        check(note_id in [n.id for n in notes], "note listed")

        # Activities: a call, a meeting and a task on a contact, paged through the SDK's next().
        acts = []
        for kind, extra in [
            ("call", {"description": "Rang about the TPS reports", "duration_seconds": 120}),
            ("meeting", {"description": "Review", "location": "Room 4", "start_datetime": "2026-01-05T10:00:00.000Z"}),
            ("task", {"title": "File the report", "activity_datetime": "2026-01-06T09:00:00.000Z"}),
        ]:
            r = crm.activities.create(**{"type_": kind, "contact_id": made[1], **extra})
            acts.append(r.create_activity_response.data.id)
        got = crm.activities.get(id=acts[2]).get_activity_response.data
        check(got.type == "task" and got.title == "File the report" and got.done is False, "task read back")
        got = crm.activities.get(id=acts[1]).get_activity_response.data
        check(got.type == "meeting" and got.location == "Room 4", "meeting read back")
        crm.activities.update(id=acts[2], **{"type_": "task", "done": True})
        check(crm.activities.get(id=acts[2]).get_activity_response.data.done is True, "task completed")
        first = crm.activities.list(limit=2, filter_={"contact_id": made[1]})
        check(first.get_activities_response.meta.cursors.previous is None, "no previous page on the first")
        second = first.next()
        check(second is not None and second.get_activities_response.meta.cursors.previous is not None,
              "the second page has a previous cursor")
        listed, count = pages(crm.activities.list(limit=2, filter_={"contact_id": made[1]}), "get_activities_response")
        check([a.id for a in listed] == acts and count == 2, f"activities paged: {count} pages")
        only = crm.activities.list(filter_={"type": "meeting", "contact_id": made[1]})
        check([a.id for a in only.get_activities_response.data] == [acts[1]], "activity type filter")
        e = expect_error(models.BadRequestResponse, lambda: crm.activities.create(**{"type_": "email", "title": "x"}),
                         "an email activity is refused")
        check(e.data.type_name == "RequestValidationError", "refused activity's type name")

        # An idempotent retry: the same answer, nothing made twice; the key reused is a 422.
        key = {"X-Unique-Transaction-ID": f"compat-{run}"}
        once = crm.contacts.create(**{"last_name": f"Once{run}"}, http_headers=key)
        again = crm.contacts.create(**{"last_name": f"Once{run}"}, http_headers=key)
        once_id = once.create_contact_response.data.id
        check(again.create_contact_response.data.id == once_id, "a retry gets the first answer")
        same = crm.contacts.list(filter_={"last_name": f"Once{run}"}).get_contacts_response.data
        check([c.id for c in same] == [once_id], "a retry creates nothing")
        e = expect_error(models.UnprocessableResponse,
                         lambda: crm.contacts.create(**{"last_name": f"Twice{run}"}, http_headers=key),
                         "a key reused for another body is an UnprocessableResponse")
        check(e.data.type_name == "InvalidStateError", "reused key's type name")
        crm.contacts.delete(id=once_id)

        # Users and pipelines.
        users = crm.users.list().get_users_response.data
        check(len(users) >= 1 and users[0].emails, "users listed")
        check(crm.users.get(id=users[0].id).get_user_response.data.id == users[0].id, "user read")
        pipelines = crm.pipelines.list().get_pipelines_response.data
        check(pipelines and pipelines[0].stages, "pipelines listed with stages")
        check(crm.pipelines.get(id=pipelines[0].id).get_pipeline_response.data.name == pipelines[0].name, "pipeline")

        # Users: added, changed, and refused removal while they own a contact.
        r = crm.users.create(**{"first_name": "Grace", "last_name": f"H{run}",
                                "emails": [{"email": f"grace.{run}@navy.test", "type": "primary"}]})
        user_id = r.create_user_response.data.id
        check(crm.users.get(id=user_id).get_user_response.data.emails[0].email == f"grace.{run}@navy.test",
              "user read back")
        crm.users.update(id=user_id, **{"last_name": f"Hopper{run}", "emails": [{"email": f"grace.{run}@navy.test"}]})
        check(crm.users.get(id=user_id).get_user_response.data.last_name == f"Hopper{run}", "user patched")
        listed, _ = pages(crm.users.list(limit=1), "get_users_response")
        check(user_id in [u.id for u in listed], "user listed through next()")
        owned = crm.contacts.create(**{"last_name": f"Owned{run}", "owner_id": user_id}).create_contact_response.data.id
        e = expect_error(models.UnprocessableResponse, lambda: crm.users.delete(id=user_id),
                         "removing a user who owns a contact is an UnprocessableResponse")
        check(e.data.type_name == "InvalidStateError", "refused user removal's type name")
        crm.contacts.delete(id=owned)
        crm.users.delete(id=user_id)
        expect_error(models.NotFoundResponse, lambda: crm.users.get(id=user_id), "removed user is 404")

        # Pipelines with their stages.
        r = crm.pipelines.create(**{"name": f"Renewals {run}", "stages": [
            {"name": "Due", "win_probability": 20}, {"name": "Won", "win_probability": 100}]})
        pipeline_id = r.create_pipeline_response.data.id
        p = crm.pipelines.get(id=pipeline_id).get_pipeline_response.data
        check([s.name for s in p.stages] == ["Due", "Won"], "pipeline stages read back")
        crm.pipelines.update(id_param=pipeline_id, **{"name": f"Renewals {run}", "stages": [
            {"id": p.stages[0].id, "name": "Due soon", "win_probability": 30}]})
        p = crm.pipelines.get(id=pipeline_id).get_pipeline_response.data
        check([(s.id, s.name) for s in p.stages] == [(p.stages[0].id, "Due soon")], "pipeline stages replaced")
        listed, _ = pages(crm.pipelines.list(limit=1), "get_pipelines_response")
        check(pipeline_id in [x.id for x in listed], "pipeline listed through next()")
        e = expect_error(models.BadRequestResponse, lambda: crm.pipelines.create(**{"name": ""}),
                         "a pipeline without a name is a BadRequestResponse")
        crm.pipelines.delete(id=pipeline_id)
        expect_error(models.NotFoundResponse, lambda: crm.pipelines.get(id=pipeline_id), "deleted pipeline is 404")

        # Lists: a saved contact filter, its members paged through next().
        subprocess.run([os.environ["KITH_BIN"], "--data-dir", os.environ["KITH_DATA"], "filter", "create",
                        "--account", os.environ["KITH_ACCOUNT_ID"], "--name", f"Ada {run}",
                        "--condition", f"last_name prefix L{run}"], check=True, capture_output=True)
        lists, _ = pages(crm.lists.list(limit=1), "get_lists_response")
        mine = [x for x in lists if x.name == f"Ada {run}"]
        check(len(mine) == 1 and mine[0].type == "dynamic", "saved filter listed as a list")
        got = crm.lists.get(id=mine[0].id).get_list_response.data
        check(got.record_count == 5, f"list record count: {got.record_count}")
        members, count = pages(crm.list_members.list(id=mine[0].id, limit=2), "get_list_members_response")
        check(sorted(m.id for m in members) == sorted(made) and count == 3, f"list members paged: {count} pages")
        expect_error(models.NotFoundResponse, lambda: crm.lists.get(id=made[0]), "a contact is no list")

        # Custom object schemas and objects.
        r = crm.custom_object_schemas.create(**{"name": f"project-{run}", "description": "Projects", "fields": [
            {"name": "title", "type": "string", "required": True},
            {"name": "budget", "type": "currency"},
            {"name": "stage", "type": "select", "options": [{"value": "plan", "label": "Planning"}, {"value": "run"}]},
        ]})
        schema_id = r.create_custom_object_schema_response.data.id
        s = crm.custom_object_schemas.get(id=schema_id).get_custom_object_schema_response.data
        check([f.name for f in s.fields] == ["title", "budget", "stage"] and s.fields[2].options[0].label == "Planning",
              "schema read back")
        crm.custom_object_schemas.update(id=schema_id, **{"description": "Customer projects"})
        check(crm.custom_object_schemas.get(id=schema_id).get_custom_object_schema_response.data.description
              == "Customer projects", "schema patched")
        schemas, _ = pages(crm.custom_object_schemas.list(limit=1), "get_custom_object_schemas_response")
        check(schema_id in [x.id for x in schemas], "schema listed through next()")
        objects = []
        for i in range(3):
            r = crm.custom_objects.create(object_id=schema_id, **{"name": f"P{i}", "fields": [
                {"name": "title", "value": f"Project {i}"}, {"name": "budget", "value": "1250.5"}]})
            objects.append(r.create_custom_object_response.data.id)
        o = crm.custom_objects.get(object_id=schema_id, id=objects[0]).get_custom_object_response.data
        check(o.name == "P0" and [(f.name, f.value) for f in o.fields] == [("title", "Project 0"), ("budget", "1250.5")],
              "custom object read back")
        crm.custom_objects.update(object_id=schema_id, id=objects[0], **{"fields": [{"name": "stage", "value": "run"}]})
        o = crm.custom_objects.get(object_id=schema_id, id=objects[0]).get_custom_object_response.data
        check(("stage", "run") in [(f.name, f.value) for f in o.fields], "custom object patched")
        listed, count = pages(crm.custom_objects.list(object_id=schema_id, limit=2), "get_custom_objects_response")
        check([x.id for x in listed] == objects and count == 2, f"custom objects paged: {count} pages")
        e = expect_error(models.BadRequestResponse,
                         lambda: crm.custom_objects.create(object_id=schema_id, **{"fields": [
                             {"name": "title", "value": "x"}, {"name": "stage", "value": "done"}]}),
                         "a value outside the schema's options is a BadRequestResponse")
        check(e.data.type_name == "RequestValidationError", "refused value's type name")
        e = expect_error(models.UnprocessableResponse, lambda: crm.custom_object_schemas.delete(id=schema_id),
                         "deleting a schema with objects is an UnprocessableResponse")
        for oid in objects:
            crm.custom_objects.delete(object_id=schema_id, id=oid)
        expect_error(models.NotFoundResponse, lambda: crm.custom_objects.get(object_id=schema_id, id=objects[0]),
                     "deleted custom object is 404")
        crm.custom_object_schemas.delete(id=schema_id)
        expect_error(models.NotFoundResponse, lambda: crm.custom_object_schemas.get(id=schema_id),
                     "deleted schema is 404")

        # Errors the SDK raises.
        # The SDK drops filters its models do not have; one the spec has and Kith does not serve:
        e = expect_error(models.BadRequestResponse, lambda: crm.notes.list(filter_={"title": "x"}),
                         "unsupported filter is a BadRequestResponse")
        check(e.data.type_name == "UnsupportedFiltersError", "unsupported filter's type name")
        e = expect_error(models.BadRequestResponse, lambda: crm.contacts.list(cursor="forged"),
                         "bad cursor is a BadRequestResponse")
        check(e.data.type_name == "InvalidCursorError", "bad cursor's type name")
        e = expect_error(models.BadRequestResponse, lambda: crm.contacts.list(sort={"by": "colour"}),
                         "unknown sort is a BadRequestResponse")
        check(e.data.type_name == "UnsupportedSortFieldError", "unknown sort's type name")

        # Deletes, then the records are gone.
        crm.notes.delete(id=note_id)
        for aid in acts:
            crm.activities.delete(id=aid)
        expect_error(models.NotFoundResponse, lambda: crm.activities.get(id=acts[0]), "deleted activity is 404")
        crm.leads.delete(id=lead_id)
        crm.opportunities.delete(id=deal_id)
        # (Kith's shared rule: a company goes with its last contact, so it is deleted first.)
        crm.companies.delete(id=company_id)
        for cid in made:
            crm.contacts.delete(id=cid)
        e = expect_error(models.NotFoundResponse, lambda: crm.contacts.get(id=made[0]), "deleted contact is 404")
        check(e.data.type_name == "EntityNotFoundError", "404 type name")
        expect_error(models.NotFoundResponse, lambda: crm.companies.get(id=company_id), "deleted company is 404")

    with Apideck(api_key="not-a-key", consumer_id="c", app_id="a", server_url=os.environ["KITH_URL"]) as bad:
        expect_error(models.UnauthorizedResponse, lambda: bad.crm.contacts.list(), "bad key is UnauthorizedResponse")

    print(f"apideck-unify: {checks} checks passed")


if __name__ == "__main__":
    main()
