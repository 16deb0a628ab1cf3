//! The store's contract, checked on SQLite and (when `KITH_TEST_DATABASE_URL` is set) on
//! PostgreSQL: writes and their events, soft delete, account scoping, ids, conflicts, every
//! filter operator, sorts, both kinds of pages, and the Sync API's device state.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::*;
use kith_store::system::{ACCOUNTS, EVENTS};
use kith_store::{
    Ack, Acked, Column, ColumnType, Cursor, CustomType, Dir, EntitySpec, Field, Filter, JsonStep, ListQuery, Op, Page,
    Sort, Store, StoreError, SyncPosition, Value, Visibility,
};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Writes, events, soft delete, scoping
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn insert_get_update_and_events() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let acct = s.create_account("  Acme  ").await.unwrap();
        let account_row = s.get(acct, &ACCOUNTS, acct, Visibility::Live).await.unwrap().expect("account row");
        assert_eq!(account_row.values[0], Value::Text("Acme".into()), "{l}: account name is trimmed");

        let w = W::new(1, "Alice")
            .email("alice@example.com")
            .score(7)
            .amount(2.5)
            .active(true)
            .seen(at(3, 123_456))
            .custom(json!({"tier": "Gold", "rank": 3}));
        let mut tx = s.begin(acct, Some(42)).await.unwrap();
        let inserted = tx.insert(&WIDGETS, w.values()).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(inserted.values, w.values(), "{l}");
        assert_eq!(inserted.deleted_at, None, "{l}");
        assert_eq!(inserted.created_at, inserted.updated_at, "{l}");

        let got = s.get(acct, &WIDGETS, inserted.id, Visibility::Live).await.unwrap().expect("row");
        assert_eq!(got, inserted, "{l}: a row reads back exactly as written");

        // A row with every nullable column null reads back with nulls.
        let bare = W::new(2, "Bare");
        let bare_row = insert_widgets(s, acct, std::slice::from_ref(&bare)).await.remove(0);
        let got = s.get(acct, &WIDGETS, bare_row.id, Visibility::Live).await.unwrap().unwrap();
        assert_eq!(got.values, bare.values(), "{l}");

        // The create event names the non-null columns and the actor.
        let ev = events_for(s, acct, inserted.id).await;
        assert_eq!(
            ev,
            vec![(
                "widget".to_owned(),
                inserted.id,
                "created".to_owned(),
                Some(42),
                json!(["ordinal", "name", "email", "score", "amount", "active", "seen_at", "custom_fields"])
            )],
            "{l}"
        );
        let ev = events_for(s, acct, bare_row.id).await;
        assert_eq!(ev.len(), 1, "{l}");
        assert_eq!(ev[0].3, None, "{l}: no actor");
        assert_eq!(ev[0].4, json!(["ordinal", "name", "active", "custom_fields"]), "{l}");

        // Update: only the columns whose value changes are written and recorded.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let mut tx = s.begin(acct, Some(43)).await.unwrap();
        let updated = tx
            .update(&WIDGETS, inserted.id, &[("name", Value::Text("Alice".into())), ("score", Value::Int(8))])
            .await
            .unwrap()
            .expect("live row");
        tx.commit().await.unwrap();
        assert_eq!(val(&WIDGETS, &updated, "score"), &Value::Int(8), "{l}");
        assert_eq!(val(&WIDGETS, &updated, "name"), &Value::Text("Alice".into()), "{l}");
        assert!(updated.updated_at > inserted.updated_at, "{l}: updated_at moves");
        assert_eq!(updated.created_at, inserted.created_at, "{l}");
        let got = s.get(acct, &WIDGETS, inserted.id, Visibility::Live).await.unwrap().unwrap();
        assert_eq!(got, updated, "{l}: the returned row is what is stored");
        let ev = events_for(s, acct, inserted.id).await;
        assert_eq!(ev.len(), 2, "{l}");
        assert_eq!(ev[1], ("widget".to_owned(), inserted.id, "updated".to_owned(), Some(43), json!(["score"])), "{l}");

        // Setting columns to null and changing JSON.
        let mut tx = s.begin(acct, None).await.unwrap();
        let updated2 = tx
            .update(
                &WIDGETS,
                inserted.id,
                &[
                    ("email", Value::Null),
                    ("custom_fields", Value::Json(json!({"tier": "Silver"}))),
                    ("score", Value::Int(8)),
                ],
            )
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(val(&WIDGETS, &updated2, "email"), &Value::Null, "{l}");
        let got = s.get(acct, &WIDGETS, inserted.id, Visibility::Live).await.unwrap().unwrap();
        assert_eq!(got, updated2, "{l}");
        let ev = events_for(s, acct, inserted.id).await;
        assert_eq!(ev.len(), 3, "{l}");
        assert_eq!(ev[2].2, "updated", "{l}");
        assert_eq!(ev[2].4, json!(["email", "custom_fields"]), "{l}");

        // An update that changes nothing writes nothing and records no event.
        let before_events = all_events(s, acct).await;
        let mut tx = s.begin(acct, None).await.unwrap();
        let same = tx
            .update(&WIDGETS, inserted.id, &[("name", Value::Text("Alice".into())), ("score", Value::Int(8))])
            .await
            .unwrap()
            .unwrap();
        let none = tx.update(&WIDGETS, inserted.id, &[]).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert_eq!(same, got, "{l}: a no-op update returns the row unchanged");
        assert_eq!(none, got, "{l}");
        let after = s.get(acct, &WIDGETS, inserted.id, Visibility::Live).await.unwrap().unwrap();
        assert_eq!(after.updated_at, got.updated_at, "{l}: a no-op update does not touch updated_at");
        assert_eq!(all_events(s, acct).await, before_events, "{l}: a no-op update records no event");

        // Updating a missing row gives None and records nothing.
        let mut tx = s.begin(acct, None).await.unwrap();
        assert!(tx.update(&WIDGETS, 999_999_999, &[("score", Value::Int(1))]).await.unwrap().is_none(), "{l}");
        tx.commit().await.unwrap();
        assert_eq!(all_events(s, acct).await, before_events, "{l}");

        // Reads inside the transaction see its own writes.
        let mut tx = s.begin(acct, None).await.unwrap();
        let r = tx.insert(&WIDGETS, W::new(3, "Inside").values()).await.unwrap();
        let seen = tx.get(&WIDGETS, r.id, Visibility::Live).await.unwrap();
        assert_eq!(seen.as_ref(), Some(&r), "{l}");
        let listed = tx.list(&WIDGETS, &ListQuery::all().filter(Filter::eq("ordinal", 3i64))).await.unwrap();
        assert_eq!(listed.rows, vec![r.clone()], "{l}");
        tx.commit().await.unwrap();

        // get_many skips missing ids.
        let mut many = s.get_many(acct, &WIDGETS, &[inserted.id, r.id, 123_456_789]).await.unwrap();
        many.sort_by_key(|r| r.id);
        assert_eq!(many.iter().map(|r| r.id).collect::<Vec<_>>(), vec![inserted.id, r.id], "{l}");
        assert!(s.get_many(acct, &WIDGETS, &[]).await.unwrap().is_empty(), "{l}");

        // find_unscoped resolves a row and its account without knowing the account.
        let other = s.create_account("Other").await.unwrap();
        let x = insert_widgets(s, other, &[W::new(9, "Unscoped").email("find@me.example")]).await.remove(0);
        let (found_acct, found) =
            s.find_unscoped(&WIDGETS, "email", Value::Text("find@me.example".into())).await.unwrap().expect("found");
        assert_eq!((found_acct, found.id), (other, x.id), "{l}");
        assert!(s.find_unscoped(&WIDGETS, "email", Value::Text("nobody".into())).await.unwrap().is_none(), "{l}");

        db.finish().await;
    }
}

#[tokio::test]
async fn soft_delete_restore_and_visibility() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let acct = s.create_account("a").await.unwrap();
        let rows = insert_widgets(s, acct, &[W::new(1, "one"), W::new(2, "two"), W::new(3, "three")]).await;
        let victim = rows[1].id;

        let mut tx = s.begin(acct, Some(5)).await.unwrap();
        assert!(tx.delete(&WIDGETS, victim).await.unwrap(), "{l}: first delete");
        assert!(!tx.delete(&WIDGETS, victim).await.unwrap(), "{l}: deleting a deleted row does nothing");
        assert!(!tx.delete(&WIDGETS, 987_654_321).await.unwrap(), "{l}: deleting a missing row does nothing");
        tx.commit().await.unwrap();

        assert!(s.get(acct, &WIDGETS, victim, Visibility::Live).await.unwrap().is_none(), "{l}");
        let deleted = s.get(acct, &WIDGETS, victim, Visibility::Deleted).await.unwrap().expect("deleted row");
        assert!(deleted.deleted_at.is_some(), "{l}");
        assert!(deleted.updated_at >= rows[1].updated_at, "{l}");
        assert_eq!(deleted.values, rows[1].values, "{l}: soft delete keeps the data");
        assert!(s.get(acct, &WIDGETS, victim, Visibility::All).await.unwrap().is_some(), "{l}");
        assert!(s.get(acct, &WIDGETS, rows[0].id, Visibility::Deleted).await.unwrap().is_none(), "{l}");

        let list = |v| {
            let q = vis(ListQuery::all().sort(Sort::asc("ordinal")).with_total(), v);
            async move { s.list(acct, &WIDGETS, &q).await.unwrap() }
        };
        let live = list(Visibility::Live).await;
        assert_eq!((ordinals(&live.rows), live.total), (vec![1, 3], Some(2)), "{l}");
        let del = list(Visibility::Deleted).await;
        assert_eq!((ordinals(&del.rows), del.total), (vec![2], Some(1)), "{l}");
        let all = list(Visibility::All).await;
        assert_eq!((ordinals(&all.rows), all.total), (vec![1, 2, 3], Some(3)), "{l}");

        // A deleted row cannot be updated.
        let mut tx = s.begin(acct, None).await.unwrap();
        assert!(tx.update(&WIDGETS, victim, &[("name", Value::Text("x".into()))]).await.unwrap().is_none(), "{l}");
        assert!(tx.get(&WIDGETS, victim, Visibility::Live).await.unwrap().is_none(), "{l}");
        // Restoring a live row does nothing.
        assert!(!tx.restore(&WIDGETS, rows[0].id).await.unwrap(), "{l}");
        assert!(tx.restore(&WIDGETS, victim).await.unwrap(), "{l}: restore");
        assert!(!tx.restore(&WIDGETS, victim).await.unwrap(), "{l}: restoring twice does nothing");
        tx.commit().await.unwrap();

        let back = s.get(acct, &WIDGETS, victim, Visibility::Live).await.unwrap().expect("restored");
        assert_eq!(back.deleted_at, None, "{l}");
        assert_eq!(back.values, rows[1].values, "{l}");
        assert!(s.get(acct, &WIDGETS, victim, Visibility::Deleted).await.unwrap().is_none(), "{l}");

        let ev = events_for(s, acct, victim).await;
        let ops: Vec<_> = ev.iter().map(|e| (e.2.as_str(), e.3, e.4.clone())).collect();
        assert_eq!(
            ops,
            vec![
                ("created", None, json!(["ordinal", "name", "active", "custom_fields"])),
                ("deleted", Some(5), json!([])),
                ("restored", None, json!([])),
            ],
            "{l}"
        );
        assert!(ev.iter().all(|e| e.0 == "widget" && e.1 == victim), "{l}");

        db.finish().await;
    }
}

#[tokio::test]
async fn touching_a_row_moves_its_update_time_and_records_an_event() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let acct = s.create_account("a").await.unwrap();
        let other = s.create_account("b").await.unwrap();
        let row = insert_widgets(s, acct, &[W::new(1, "Touched")]).await.remove(0);
        std::thread::sleep(std::time::Duration::from_millis(5));

        let mut tx = s.begin(acct, None).await.unwrap();
        assert!(tx.touch_row(&WIDGETS, row.id, &["links"]).await.unwrap(), "{l}");
        tx.commit().await.unwrap();
        let got = s.get(acct, &WIDGETS, row.id, Visibility::Live).await.unwrap().expect("row");
        assert!(got.updated_at > row.updated_at, "{l}: updated_at moves on");
        assert_eq!(got.values, row.values, "{l}: no column changes");
        let ev = events_for(s, acct, row.id).await;
        assert_eq!(ev.iter().map(|e| e.2.as_str()).collect::<Vec<_>>(), vec!["created", "updated"], "{l}");

        // Another account's row, or a deleted one, is not touched.
        let mut tx = s.begin(other, None).await.unwrap();
        assert!(!tx.touch_row(&WIDGETS, row.id, &["links"]).await.unwrap(), "{l}");
        tx.commit().await.unwrap();
        let mut tx = s.begin(acct, None).await.unwrap();
        assert!(tx.delete(&WIDGETS, row.id).await.unwrap(), "{l}");
        assert!(!tx.touch_row(&WIDGETS, row.id, &["links"]).await.unwrap(), "{l}");
        tx.commit().await.unwrap();
        db.finish().await;
    }
}

#[tokio::test]
async fn hard_delete_without_soft_delete() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let acct = s.create_account("a").await.unwrap();
        let p = insert_parent(s, acct, "Doomed").await;
        let keep = insert_parent(s, acct, "Kept").await;

        let mut tx = s.begin(acct, None).await.unwrap();
        assert!(tx.delete(&PARENTS, p.id).await.unwrap(), "{l}");
        assert!(!tx.delete(&PARENTS, p.id).await.unwrap(), "{l}: already gone");
        assert!(!tx.restore(&PARENTS, p.id).await.unwrap(), "{l}: nothing to restore without soft delete");
        tx.commit().await.unwrap();

        for v in [Visibility::Live, Visibility::Deleted, Visibility::All] {
            assert!(s.get(acct, &PARENTS, p.id, v).await.unwrap().is_none(), "{l}: {v:?}");
        }
        let rows = s.list(acct, &PARENTS, &ListQuery::all().with_total()).await.unwrap();
        assert_eq!(rows.rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![keep.id], "{l}");
        assert_eq!(rows.total, Some(1), "{l}");
        let ev = events_for(s, acct, p.id).await;
        assert_eq!(ev.iter().map(|e| e.2.as_str()).collect::<Vec<_>>(), vec!["created", "deleted"], "{l}");
        assert_eq!(ev[1].0, "parent", "{l}");

        db.finish().await;
    }
}

#[tokio::test]
async fn account_scoping() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let a = s.create_account("A").await.unwrap();
        let b = s.create_account("B").await.unwrap();
        assert_ne!(a, b);
        let pa = insert_parent(s, a, "Parent A").await;
        let ra = insert_widgets(s, a, &[W::new(1, "a-one").email("same@example.com").parent(pa.id)]).await;
        let ida = ra[0].id;
        let rb = insert_widgets(s, b, &[W::new(2, "b-one").email("same@example.com").parent(pa.id).buddy(ida)]).await;
        let idb = rb[0].id;

        for v in [Visibility::Live, Visibility::All] {
            assert!(s.get(b, &WIDGETS, ida, v).await.unwrap().is_none(), "{l}");
            assert!(s.get(a, &WIDGETS, idb, v).await.unwrap().is_none(), "{l}");
        }
        assert!(s.get(b, &PARENTS, pa.id, Visibility::All).await.unwrap().is_none(), "{l}");
        let lb = s.list(b, &WIDGETS, &vis(ListQuery::all().with_total(), Visibility::All)).await.unwrap();
        assert_eq!((ordinals(&lb.rows), lb.total), (vec![2], Some(1)), "{l}");
        assert!(s.get_many(b, &WIDGETS, &[ida]).await.unwrap().is_empty(), "{l}");
        assert_eq!(matching(s, b, Filter::eq("id", ida)).await, Vec::<i64>::new(), "{l}");

        // Subqueries are scoped too: B's widget points at A's parent and A's widget, but neither
        // is visible from B, and B's pointer does not make A's widget "referenced" in A.
        let related = Filter::Related {
            via: "parent_id".into(),
            target: &PARENTS,
            filter: Box::new(Filter::eq("name", "Parent A")),
        };
        assert_eq!(matching(s, b, related.clone()).await, Vec::<i64>::new(), "{l}");
        assert_eq!(matching(s, a, related).await, vec![1], "{l}");
        let referenced =
            Filter::Referenced { target: &WIDGETS, via: "buddy_id".into(), filter: Box::new(Filter::All(vec![])) };
        assert_eq!(matching(s, a, referenced).await, Vec::<i64>::new(), "{l}");

        // Writes scoped to B cannot touch A's rows.
        let mut tx = s.begin(b, None).await.unwrap();
        assert!(tx.get(&WIDGETS, ida, Visibility::All).await.unwrap().is_none(), "{l}");
        assert!(tx.update(&WIDGETS, ida, &[("name", Value::Text("hacked".into()))]).await.unwrap().is_none(), "{l}");
        assert!(!tx.delete(&WIDGETS, ida).await.unwrap(), "{l}");
        assert!(!tx.delete(&PARENTS, pa.id).await.unwrap(), "{l}");
        tx.commit().await.unwrap();
        let mut tx = s.begin(a, None).await.unwrap();
        assert!(tx.delete(&WIDGETS, ida).await.unwrap(), "{l}");
        tx.commit().await.unwrap();
        let mut tx = s.begin(b, None).await.unwrap();
        assert!(!tx.restore(&WIDGETS, ida).await.unwrap(), "{l}");
        tx.commit().await.unwrap();

        let a_row = s.get(a, &WIDGETS, ida, Visibility::Deleted).await.unwrap().expect("A's row is only deleted");
        assert_eq!(a_row.values, ra[0].values, "{l}: B did not change A's row");
        assert!(s.get(a, &PARENTS, pa.id, Visibility::Live).await.unwrap().is_some(), "{l}");

        // Event logs are per account.
        let ev_a = all_events(s, a).await;
        let ev_b = all_events(s, b).await;
        assert!(ev_a.iter().all(|(_, e)| e.1 != idb), "{l}");
        assert!(ev_b.iter().all(|(_, e)| e.1 != ida && e.1 != pa.id), "{l}");
        assert_eq!(
            ev_a.iter().filter(|(_, e)| e.1 == ida).map(|(_, e)| e.2.as_str()).collect::<Vec<_>>(),
            vec!["created", "deleted"],
            "{l}"
        );
        assert!(ev_b.iter().any(|(_, e)| e.1 == idb && e.2 == "created"), "{l}");

        db.finish().await;
    }
}

#[tokio::test]
async fn rollback_leaves_nothing() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let acct = s.create_account("a").await.unwrap();
        let kept = insert_widgets(s, acct, &[W::new(1, "kept")]).await.remove(0);
        let events_before = all_events(s, acct).await;

        let (new_id, parent_id) = {
            let mut tx = s.begin(acct, None).await.unwrap();
            let r = tx.insert(&WIDGETS, W::new(2, "ghost").values()).await.unwrap();
            let p = tx.insert(&PARENTS, vec![Value::Text("ghost parent".into())]).await.unwrap();
            tx.update(&WIDGETS, kept.id, &[("name", Value::Text("changed".into()))]).await.unwrap().unwrap();
            assert!(tx.delete(&WIDGETS, kept.id).await.unwrap());
            (r.id, p.id)
            // dropped without commit
        };

        assert!(s.get(acct, &WIDGETS, new_id, Visibility::All).await.unwrap().is_none(), "{l}");
        assert!(s.get(acct, &PARENTS, parent_id, Visibility::All).await.unwrap().is_none(), "{l}");
        let still = s.get(acct, &WIDGETS, kept.id, Visibility::Live).await.unwrap().expect("kept row is live");
        assert_eq!(still, kept, "{l}: a rolled-back update and delete leave the row as it was");
        assert!(events_for(s, acct, new_id).await.is_empty(), "{l}");
        assert_eq!(all_events(s, acct).await, events_before, "{l}: a rolled-back tx leaves no event");

        // The store keeps working after the rollback, and ids stay unique.
        let next = insert_widgets(s, acct, &[W::new(3, "after")]).await.remove(0);
        assert_ne!(next.id, kept.id, "{l}");
        let ev = events_for(s, acct, next.id).await;
        assert_eq!(ev.len(), 1, "{l}");
        assert_eq!(ev[0].2, "created", "{l}");

        db.finish().await;
    }
}

#[tokio::test]
async fn ids_are_unique_across_tables_and_handles() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let second = db.reopen().await;
        let a = s.create_account("a").await.unwrap();
        let b = second.create_account("b").await.unwrap();
        let mut row_ids = vec![a, b];
        let mut spare = Vec::new();
        for i in 0..30 {
            let (store, acct): (&Store, i64) = if i % 2 == 0 { (s, a) } else { (&second, b) };
            let mut tx = store.begin(acct, None).await.unwrap();
            row_ids.push(tx.insert(&WIDGETS, W::new(i, "w").values()).await.unwrap().id);
            row_ids.push(tx.insert(&PARENTS, vec![Value::Text(format!("p{i}"))]).await.unwrap().id);
            spare.push(tx.next_id().await.unwrap());
            tx.commit().await.unwrap();
        }
        let mut stored = Vec::new();
        let mut event_count = 0;
        for acct in [a, b] {
            for spec in [&WIDGETS, &PARENTS, &EVENTS, &ACCOUNTS] {
                let q = vis(ListQuery::all(), Visibility::All);
                let rows = s.list(acct, spec, &q).await.unwrap().rows;
                if spec == &EVENTS {
                    event_count += rows.len();
                }
                stored.extend(rows.iter().map(|r| r.id));
            }
        }
        assert_eq!(event_count, 62, "{l}: one event per account and per row created");
        assert_eq!(stored.len(), 2 + 60 + 62, "{l}");
        let stored_set: HashSet<i64> = stored.iter().copied().collect();
        assert_eq!(stored_set.len(), stored.len(), "{l}: ids are unique across tables and store handles");
        assert!(row_ids.iter().all(|id| stored_set.contains(id)), "{l}");
        let spare_set: HashSet<i64> = spare.iter().copied().collect();
        assert_eq!(spare_set.len(), spare.len(), "{l}");
        assert!(spare_set.is_disjoint(&stored_set), "{l}: an id taken with next_id is never reused");
        second.close().await;
        db.finish().await;
    }
}

#[tokio::test]
async fn bulk_inserts_match_single_inserts() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let second = db.reopen().await;
        let acct = s.create_account("bulk").await.unwrap();
        // More rows than one statement holds, so the insert is split; a second handle takes ids
        // in between, so PostgreSQL's id blocks interleave.
        let widgets: Vec<W> = (0..2_345).map(|i| W::new(i, &format!("w{i}")).score(i)).collect();
        let mut tx = s.begin(acct, Some(7)).await.unwrap();
        let first = tx.insert_many(&WIDGETS, widgets[..1_200].iter().map(W::values).collect()).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = second.begin(acct, None).await.unwrap();
        let between = tx.insert(&PARENTS, vec![Value::Text("between".into())]).await.unwrap().id;
        tx.commit().await.unwrap();
        let mut tx = s.begin(acct, Some(7)).await.unwrap();
        let rest = tx.insert_many(&WIDGETS, widgets[1_200..].iter().map(W::values).collect()).await.unwrap();
        let single = tx.insert(&WIDGETS, W::new(9_999, "single").values()).await.unwrap().id;
        tx.commit().await.unwrap();

        let ids: Vec<i64> = first.iter().chain(&rest).copied().collect();
        let mut all: HashSet<i64> = ids.iter().copied().collect();
        assert_eq!(all.len(), widgets.len(), "{l}: every bulk row has its own id");
        assert!(all.insert(between) && all.insert(single), "{l}: ids are not handed out twice");

        // Each row reads back as written, in the order given.
        for (i, id) in [0usize, 999, 1_000, 1_199, 1_200, 2_344].into_iter().map(|i| (i, ids[i])) {
            let row = s.get(acct, &WIDGETS, id, Visibility::Live).await.unwrap().expect("row");
            assert_eq!(row.values, widgets[i].values(), "{l}: row {i}");
        }
        let q = ListQuery::all().with_total();
        assert_eq!(s.list(acct, &WIDGETS, &q).await.unwrap().total, Some(2_346), "{l}");
        // One created event per row, naming the actor and the non-null columns.
        let ev = events_for(s, acct, ids[5]).await;
        assert_eq!(
            ev,
            vec![(
                "widget".to_owned(),
                ids[5],
                "created".to_owned(),
                Some(7),
                json!(["ordinal", "name", "score", "active", "custom_fields"])
            )],
            "{l}"
        );
        let q = ListQuery::all().filter(Filter::eq("entity_kind", "widget")).with_total();
        assert_eq!(s.list(acct, &EVENTS, &q).await.unwrap().total, Some(2_346), "{l}");

        // A row of the wrong width is an error and the transaction writes nothing.
        let mut tx = s.begin(acct, None).await.unwrap();
        let err = tx.insert_many(&WIDGETS, vec![W::new(1, "ok").values(), vec![Value::Int(1)]]).await;
        assert!(matches!(err, Err(StoreError::Query(_))), "{l}: {err:?}");
        drop(tx);
        let q = ListQuery::all().with_total();
        assert_eq!(s.list(acct, &WIDGETS, &q).await.unwrap().total, Some(2_346), "{l}");
        second.close().await;
        db.finish().await;
    }
}

/// Concurrent transactions (on SQLite committed together, each in a savepoint of one
/// transaction): each keeps its own outcome and its own events, and one that fails or rolls
/// back takes nothing of its neighbours' with it.
#[tokio::test]
async fn concurrent_transactions_keep_their_own_outcomes() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let acct = s.create_account("a").await.unwrap();
        insert_widgets(s, acct, &[W::new(0, "taken").email("taken@example.com")]).await;
        let events_before = all_events(s, acct).await.len();

        // The first transaction holds the writer while the others queue behind it, so on SQLite
        // they all run inside one group.
        let mut first = s.begin(acct, Some(1)).await.unwrap();
        let first_row = first.insert(&WIDGETS, W::new(1, "first").values()).await.unwrap();
        let spawn = |n: i64, email: Option<&'static str>, commit: bool| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut tx = s.begin(acct, Some(n)).await?;
                let mut w = W::new(n, &format!("w{n}"));
                if let Some(e) = email {
                    w = w.email(e);
                }
                let row = tx.insert(&WIDGETS, w.values()).await?;
                if commit {
                    tx.commit().await?;
                }
                Ok::<_, StoreError>(row)
            })
        };
        let tasks = vec![
            spawn(2, None, true),
            spawn(3, Some("taken@example.com"), true),
            spawn(4, None, false),
            spawn(5, None, true),
        ];
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        first.commit().await.unwrap();
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        assert!(outcomes[0].is_ok(), "{l}: {:?}", outcomes[0]);
        assert!(matches!(outcomes[1], Err(StoreError::Conflict(_))), "{l}: {:?}", outcomes[1]);
        assert!(outcomes[2].is_ok(), "{l}: the dropped transaction's insert ran");
        assert!(outcomes[3].is_ok(), "{l}: {:?}", outcomes[3]);

        assert_eq!(
            matching(s, acct, Filter::All(vec![])).await,
            vec![0, 1, 2, 5],
            "{l}: the failed and the dropped transactions' rows are gone, their neighbours' kept"
        );
        // (A rolled-back transaction's ids may be given out again, so events are counted.)
        assert_eq!(all_events(s, acct).await.len(), events_before + 3, "{l}: the committed inserts' events only");
        for (row, actor) in [(&first_row, 1), (outcomes[0].as_ref().unwrap(), 2), (outcomes[3].as_ref().unwrap(), 5)] {
            let ev = events_for(s, acct, row.id).await;
            assert_eq!(ev.len(), 1, "{l}: one event per committed insert");
            assert_eq!((ev[0].2.as_str(), ev[0].3), ("created", Some(actor)), "{l}: each with its own actor");
        }
        db.finish().await;
    }
}

#[tokio::test]
async fn unique_index_violation_is_a_conflict() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let a = s.create_account("a").await.unwrap();
        let b = s.create_account("b").await.unwrap();
        let rows = insert_widgets(s, a, &[W::new(1, "x").email("dup@example.com"), W::new(2, "y")]).await;

        let mut tx = s.begin(a, None).await.unwrap();
        let err = tx.insert(&WIDGETS, W::new(3, "z").email("dup@example.com").values()).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{l}: {err:?}");
        drop(tx);

        let mut tx = s.begin(a, None).await.unwrap();
        let err =
            tx.update(&WIDGETS, rows[1].id, &[("email", Value::Text("dup@example.com".into()))]).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{l}: {err:?}");
        drop(tx);

        // Nulls do not collide, other accounts do not collide, and case matters.
        let mut tx = s.begin(a, None).await.unwrap();
        tx.insert(&WIDGETS, W::new(4, "n").values()).await.unwrap();
        tx.insert(&WIDGETS, W::new(5, "c").email("DUP@example.com").values()).await.unwrap();
        tx.commit().await.unwrap();
        insert_widgets(s, b, &[W::new(6, "other").email("dup@example.com")]).await;

        let live = s.list(a, &WIDGETS, &ListQuery::all().with_total()).await.unwrap();
        assert_eq!(live.total, Some(4), "{l}: the conflicting writes left nothing behind");
        assert_eq!(
            val(&WIDGETS, &s.get(a, &WIDGETS, rows[1].id, Visibility::Live).await.unwrap().unwrap(), "email"),
            &Value::Null
        );

        db.finish().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Filters, sorts and pages on a small fixed dataset
// ---------------------------------------------------------------------------------------------

struct Fixture {
    a: i64,
    parents: Vec<i64>,
    ids: BTreeMap<i64, i64>,
}

/// Seven live widgets (ordinals 1–7) and one deleted one (8) in account `a`, plus a widget in
/// another account pointing into `a`.
async fn fixture(s: &Store) -> Fixture {
    let a = s.create_account("a").await.unwrap();
    let b = s.create_account("b").await.unwrap();
    let p1 = insert_parent(s, a, "Acme Corp").await.id;
    let p2 = insert_parent(s, a, "globex").await.id;
    let p3 = insert_parent(s, a, "Ünited").await.id;
    let ws = vec![
        W::new(1, "Alice")
            .email("alice@example.com")
            .score(10)
            .amount(1.5)
            .active(true)
            .seen(at(1, 0))
            .custom(json!({"tier": "Gold", "rank": 3, "vip": true}))
            .parent(p1),
        W::new(2, "bob")
            .email("BOB@Example.com")
            .score(5)
            .amount(-2.25)
            .seen(at(2, 0))
            .custom(json!({"tier": "silver", "rank": 7.5, "vip": false}))
            .parent(p2),
        W::new(3, "ALICE").active(true),
        W::new(4, "100% pure")
            .email("pct@example.com")
            .score(5)
            .amount(0.0)
            .seen(at(3, 0))
            .custom(json!({"tier": "gold", "rank": -1}))
            .parent(p1),
        W::new(5, "a_b")
            .email("ab@example.com")
            .score(-3)
            .amount(100.0)
            .active(true)
            .seen(at(1, 0))
            .custom(json!({"tier": null, "rank": null, "vip": null}))
            .parent(p3),
        W::new(6, "axb").score(7).custom(json!({"tier": "Éz"})),
        W::new(7, "Zed")
            .email("zed@example.com")
            .amount(2.0)
            .active(true)
            .seen(at(5, 0))
            .custom(json!({"tier": "éa", "rank": 10, "vip": true}))
            .parent(p2),
        W::new(8, "alice").email("gone@example.com").score(10).active(true),
    ];
    let rows = insert_widgets(s, a, &ws).await;
    let ids: BTreeMap<i64, i64> = rows.iter().map(|r| (ordinal(r), r.id)).collect();
    // Buddies: 2 → 1, 4 → 1, 5 → 2, 8 (deleted) → 3.
    let mut tx = s.begin(a, None).await.unwrap();
    for (from, to) in [(2, 1), (4, 1), (5, 2), (8, 3)] {
        tx.update(&WIDGETS, ids[&from], &[("buddy_id", Value::Int(ids[&to]))]).await.unwrap().unwrap();
    }
    assert!(tx.delete(&WIDGETS, ids[&8]).await.unwrap());
    tx.commit().await.unwrap();
    // Another account's widget pointing at widget 6 and parent 3 of account a.
    insert_widgets(s, b, &[W::new(100, "intruder").active(true).parent(p3).buddy(ids[&6])]).await;
    Fixture { a, parents: vec![p1, p2, p3], ids }
}

fn cmp(field: Field, op: Op, value: impl Into<Value>) -> Filter {
    Filter::Cmp { field, op, value: value.into() }
}

fn c(name: &str) -> Field {
    Field::col(name)
}

fn parent_is(f: Filter) -> Filter {
    Filter::Related { via: "parent_id".into(), target: &PARENTS, filter: Box::new(f) }
}

fn buddy_of(f: Filter) -> Filter {
    Filter::Referenced { target: &WIDGETS, via: "buddy_id".into(), filter: Box::new(f) }
}

#[tokio::test]
async fn every_filter_operator() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let fx = fixture(s).await;
        let a = fx.a;
        let tier = || custom("tier", CustomType::Text);
        let rank = || custom("rank", CustomType::Number);
        let vip = || custom("vip", CustomType::Bool);
        let none: Vec<i64> = vec![];
        let cases: Vec<(&str, Filter, Vec<i64>)> = vec![
            // Eq / Ne, nulls included in Ne.
            ("eq text is exact", Filter::eq("name", "Alice"), vec![1]),
            ("eq text case", Filter::eq("name", "alice"), none.clone()),
            ("eq int", Filter::eq("score", 5i64), vec![2, 4]),
            ("eq float", cmp(c("amount"), Op::Eq, Value::Float(0.0)), vec![4]),
            ("eq bool", Filter::eq("active", true), vec![1, 3, 5, 7]),
            ("eq time", Filter::eq("seen_at", at(1, 0)), vec![1, 5]),
            ("eq id", Filter::eq("id", fx.ids[&6]), vec![6]),
            ("ne int with nulls", cmp(c("score"), Op::Ne, 5i64), vec![1, 3, 5, 6, 7]),
            ("ne text with nulls", cmp(c("email"), Op::Ne, "alice@example.com"), vec![2, 3, 4, 5, 6, 7]),
            ("ne bool", cmp(c("active"), Op::Ne, true), vec![2, 4, 6]),
            ("ne time", cmp(c("seen_at"), Op::Ne, at(1, 0)), vec![2, 3, 4, 6, 7]),
            // Ordering comparisons never match nulls.
            ("gt int", cmp(c("score"), Op::Gt, 5i64), vec![1, 6]),
            ("gte int", cmp(c("score"), Op::Gte, 5i64), vec![1, 2, 4, 6]),
            ("lt int", cmp(c("score"), Op::Lt, 5i64), vec![5]),
            ("lte int", cmp(c("score"), Op::Lte, 5i64), vec![2, 4, 5]),
            ("gt float", cmp(c("amount"), Op::Gt, Value::Float(0.0)), vec![1, 5, 7]),
            ("lt float given an int", cmp(c("amount"), Op::Lt, 0i64), vec![2]),
            ("gte float", cmp(c("amount"), Op::Gte, Value::Float(1.5)), vec![1, 5, 7]),
            ("lte float", cmp(c("amount"), Op::Lte, Value::Float(1.5)), vec![1, 2, 4]),
            ("gt time", cmp(c("seen_at"), Op::Gt, at(1, 0)), vec![2, 4, 7]),
            ("lte time", cmp(c("seen_at"), Op::Lte, at(1, 0)), vec![1, 5]),
            ("gt time by a microsecond", cmp(c("seen_at"), Op::Gte, at(1, 1)), vec![2, 4, 7]),
            ("gt text is bytewise", cmp(c("name"), Op::Gt, "Zed"), vec![2, 5, 6]),
            ("lt text is bytewise", cmp(c("name"), Op::Lt, "B"), vec![1, 3, 4]),
            ("gt bool", cmp(c("active"), Op::Gt, false), vec![1, 3, 5, 7]),
            // Contains / Prefix: ASCII case-insensitive, LIKE wildcards are literal.
            ("contains", cmp(c("name"), Op::Contains, "LIC"), vec![1, 3]),
            ("contains percent", cmp(c("name"), Op::Contains, "%"), vec![4]),
            ("contains underscore", cmp(c("name"), Op::Contains, "_"), vec![5]),
            ("contains backslash", cmp(c("name"), Op::Contains, "\\"), none.clone()),
            ("contains empty", cmp(c("name"), Op::Contains, ""), vec![1, 2, 3, 4, 5, 6, 7]),
            ("contains nullable", cmp(c("email"), Op::Contains, "EXAMPLE.com"), vec![1, 2, 4, 5, 7]),
            ("prefix", cmp(c("name"), Op::Prefix, "A"), vec![1, 3, 5, 6]),
            ("prefix underscore", cmp(c("name"), Op::Prefix, "a_"), vec![5]),
            ("prefix percent", cmp(c("name"), Op::Prefix, "100%"), vec![4]),
            ("prefix is anchored", cmp(c("name"), Op::Prefix, "%"), none.clone()),
            ("prefix is not contains", cmp(c("name"), Op::Prefix, "lice"), none.clone()),
            ("prefix whole value", cmp(c("name"), Op::Prefix, "zed"), vec![7]),
            // In.
            ("in int", Filter::In { field: c("score"), values: vec![5i64.into(), 10i64.into()] }, vec![1, 2, 4]),
            (
                "in text",
                Filter::In { field: c("name"), values: vec!["bob".into(), "Zed".into(), "x".into()] },
                vec![2, 7],
            ),
            ("in empty", Filter::In { field: c("score"), values: vec![] }, none.clone()),
            (
                "not in empty",
                Filter::Not(Box::new(Filter::In { field: c("score"), values: vec![] })),
                vec![1, 2, 3, 4, 5, 6, 7],
            ),
            (
                "in float",
                Filter::In { field: c("amount"), values: vec![Value::Float(2.0), Value::Float(-2.25)] },
                vec![2, 7],
            ),
            // Null tests.
            ("is null", Filter::IsNull(c("score")), vec![3, 7]),
            ("is not null", Filter::IsNotNull(c("email")), vec![1, 2, 4, 5, 7]),
            ("is null time", Filter::IsNull(c("seen_at")), vec![3, 6]),
            ("is null never", Filter::IsNull(c("name")), none.clone()),
            // Boolean structure.
            ("all", Filter::All(vec![Filter::eq("active", true), cmp(c("score"), Op::Gt, 0i64)]), vec![1]),
            ("any", Filter::Any(vec![Filter::eq("score", 5i64), Filter::IsNull(c("score"))]), vec![2, 3, 4, 7]),
            ("not", Filter::Not(Box::new(Filter::eq("active", true))), vec![2, 4, 6]),
            ("empty all", Filter::All(vec![]), vec![1, 2, 3, 4, 5, 6, 7]),
            ("empty any", Filter::Any(vec![]), none.clone()),
            ("not empty any", Filter::Not(Box::new(Filter::Any(vec![]))), vec![1, 2, 3, 4, 5, 6, 7]),
            ("not empty all", Filter::Not(Box::new(Filter::All(vec![]))), none.clone()),
            ("double not", Filter::Not(Box::new(Filter::Not(Box::new(Filter::eq("score", 5i64))))), vec![2, 4]),
            (
                "nested",
                Filter::Any(vec![
                    Filter::All(vec![Filter::eq("active", false), Filter::IsNotNull(c("seen_at"))]),
                    Filter::Not(Box::new(Filter::Any(vec![
                        Filter::IsNotNull(c("score")),
                        Filter::eq("name", "ALICE"),
                    ]))),
                ]),
                vec![2, 4, 7],
            ),
            // Not over a comparison with nulls: a null field does not equal 5, so it is "not = 5"
            // exactly as it is "<> 5".
            ("not eq matches nulls", Filter::Not(Box::new(Filter::eq("score", 5i64))), vec![1, 3, 5, 6, 7]),
            ("not gt matches nulls", Filter::Not(Box::new(cmp(c("score"), Op::Gt, 5i64))), vec![2, 3, 4, 5, 7]),
            ("not contains matches nulls", Filter::Not(Box::new(cmp(c("email"), Op::Contains, "example"))), vec![3, 6]),
            ("not ne", Filter::Not(Box::new(cmp(c("score"), Op::Ne, 5i64))), vec![2, 4]),
            // Custom fields.
            ("custom text eq", cmp(tier(), Op::Eq, "gold"), vec![4]),
            ("custom text ne", cmp(tier(), Op::Ne, "gold"), vec![1, 2, 3, 5, 6, 7]),
            ("custom text contains", cmp(tier(), Op::Contains, "GOLD"), vec![1, 4]),
            ("custom text prefix", cmp(tier(), Op::Prefix, "s"), vec![2]),
            ("custom text contains non-ascii is case-sensitive", cmp(tier(), Op::Contains, "é"), vec![7]),
            ("custom text gt bytewise", cmp(tier(), Op::Gt, "gold"), vec![2, 6, 7]),
            ("custom text null", Filter::IsNull(tier()), vec![3, 5]),
            ("custom text in", Filter::In { field: tier(), values: vec!["Gold".into(), "silver".into()] }, vec![1, 2]),
            ("custom number gt", cmp(rank(), Op::Gt, 2i64), vec![1, 2, 7]),
            ("custom number eq", cmp(rank(), Op::Eq, Value::Float(3.0)), vec![1]),
            ("custom number lt", cmp(rank(), Op::Lt, Value::Float(0.0)), vec![4]),
            ("custom number lte", cmp(rank(), Op::Lte, Value::Float(7.5)), vec![1, 2, 4]),
            ("custom number ne", cmp(rank(), Op::Ne, 3i64), vec![2, 3, 4, 5, 6, 7]),
            ("custom number null", Filter::IsNull(rank()), vec![3, 5, 6]),
            (
                "custom number in",
                Filter::In { field: rank(), values: vec![3i64.into(), Value::Float(7.5)] },
                vec![1, 2],
            ),
            ("custom bool true", cmp(vip(), Op::Eq, true), vec![1, 7]),
            ("custom bool false", cmp(vip(), Op::Eq, false), vec![2]),
            ("custom bool ne", cmp(vip(), Op::Ne, true), vec![2, 3, 4, 5, 6]),
            ("custom bool not null", Filter::IsNotNull(vip()), vec![1, 2, 7]),
            ("custom bool not", Filter::Not(Box::new(cmp(vip(), Op::Eq, true))), vec![2, 3, 4, 5, 6]),
            // Related: through parent_id to a matching parent.
            ("related eq", parent_is(Filter::eq("name", "Acme Corp")), vec![1, 4]),
            ("related contains", parent_is(cmp(c("name"), Op::Contains, "GLOB")), vec![2, 7]),
            ("related any parent", parent_is(Filter::All(vec![])), vec![1, 2, 4, 5, 7]),
            ("related none", parent_is(Filter::eq("name", "nobody")), none.clone()),
            (
                "not related matches no parent",
                Filter::Not(Box::new(parent_is(Filter::eq("name", "Acme Corp")))),
                vec![2, 3, 5, 6, 7],
            ),
            // Referenced: pointed at by a live widget's buddy_id (the deleted 8 does not count).
            ("referenced", buddy_of(Filter::All(vec![])), vec![1, 2]),
            ("referenced filtered", buddy_of(Filter::eq("active", false)), vec![1]),
            ("referenced nested", buddy_of(parent_is(Filter::eq("name", "Ünited"))), vec![2]),
            ("not referenced", Filter::Not(Box::new(buddy_of(Filter::All(vec![])))), vec![3, 4, 5, 6, 7]),
            (
                "referenced inside any",
                Filter::Any(vec![buddy_of(Filter::eq("ordinal", 5i64)), Filter::eq("ordinal", 7i64)]),
                vec![2, 7],
            ),
        ];
        let mut failures = Vec::new();
        for (what, filter, want) in cases {
            let q = ListQuery::all().filter(filter.clone()).sort(Sort::asc("ordinal")).with_total();
            match s.list(a, &WIDGETS, &q).await {
                Ok(page) => {
                    let got = ordinals(&page.rows);
                    if got != want || page.total != Some(want.len() as u64) {
                        failures.push(format!("{what}: got {got:?} (total {:?}), want {want:?}", page.total));
                    }
                }
                Err(e) => failures.push(format!("{what}: error {e}")),
            }
        }
        assert!(failures.is_empty(), "{l}: filter failures:\n{}", failures.join("\n"));

        // Referenced from the other side: parents with a live widget with score 5.
        let q = ListQuery::all()
            .filter(Filter::Referenced {
                target: &WIDGETS,
                via: "parent_id".into(),
                filter: Box::new(Filter::eq("score", 5i64)),
            })
            .sort(Sort::asc("id"));
        let got: Vec<i64> = s.list(a, &PARENTS, &q).await.unwrap().rows.iter().map(|r| r.id).collect();
        assert_eq!(got, vec![fx.parents[0], fx.parents[1]], "{l}");
        let q = ListQuery::all()
            .filter(Filter::Not(Box::new(Filter::Referenced {
                target: &WIDGETS,
                via: "parent_id".into(),
                filter: Box::new(Filter::eq("score", 5i64)),
            })))
            .sort(Sort::asc("id"));
        let got: Vec<i64> = s.list(a, &PARENTS, &q).await.unwrap().rows.iter().map(|r| r.id).collect();
        assert_eq!(got, vec![fx.parents[2]], "{l}: not referenced, with null parent_ids around");

        db.finish().await;
    }
}

#[tokio::test]
async fn includes_matches_elements_of_json_arrays() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let a = s.create_account("a").await.unwrap();
        let b = s.create_account("b").await.unwrap();
        insert_widgets(
            s,
            a,
            &[
                W::new(1, "a").custom(json!({"colours": ["Red", "Blue"]})),
                W::new(2, "b").custom(json!({"colours": ["red"]})),
                W::new(3, "c").custom(json!({"colours": "Red"})),
                W::new(4, "d").custom(json!({"colours": [], "sizes": [1, 2]})),
                W::new(5, "e").custom(json!({"colours": ["x\"Red", "1", "Ré d"]})),
                W::new(6, "f"),
            ],
        )
        .await;
        insert_widgets(s, b, &[W::new(7, "other").custom(json!({"colours": ["Red"]}))]).await;
        let includes = |key: &str, value: Value| Filter::Includes { field: custom(key, CustomType::Text), value };
        let cases: Vec<(&str, Filter, Vec<i64>)> = vec![
            ("an element", includes("colours", "Red".into()), vec![1, 3]),
            ("case matters", includes("colours", "red".into()), vec![2]),
            ("a quote inside", includes("colours", "x\"Red".into()), vec![5]),
            ("non-ascii", includes("colours", "Ré d".into()), vec![5]),
            ("text is not a number", includes("sizes", "1".into()), vec![]),
            ("a number", includes("sizes", 2i64.into()), vec![4]),
            ("a number is not text", includes("colours", 1i64.into()), vec![]),
            ("no such key", includes("shapes", "Red".into()), vec![]),
            ("not", Filter::Not(Box::new(includes("colours", "Red".into()))), vec![2, 4, 5, 6]),
            ("both", Filter::All(vec![includes("colours", "Red".into()), includes("colours", "Blue".into())]), vec![1]),
        ];
        let mut failures = Vec::new();
        for (what, filter, want) in cases {
            let q = ListQuery::all().filter(filter).sort(Sort::asc("ordinal"));
            match s.list(a, &WIDGETS, &q).await {
                Ok(page) if ordinals(&page.rows) == want => {}
                Ok(page) => failures.push(format!("{what}: got {:?}, want {want:?}", ordinals(&page.rows))),
                Err(e) => failures.push(format!("{what}: error {e}")),
            }
        }
        assert!(failures.is_empty(), "{l}: includes failures:\n{}", failures.join("\n"));
        for bad in [
            Filter::Includes { field: c("name"), value: "a".into() },
            includes("colours", Value::Float(1.0)),
            includes("x') OR 1=1 --", "a".into()),
        ] {
            let q = ListQuery::all().filter(bad.clone());
            assert!(matches!(s.list(a, &WIDGETS, &q).await, Err(StoreError::Query(_))), "{l}: {bad:?}");
        }
        db.finish().await;
    }
}

#[tokio::test]
async fn sorts() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let fx = fixture(s).await;
        let tier = || custom("tier", CustomType::Text);
        let rank = || custom("rank", CustomType::Number);
        let vip = || custom("vip", CustomType::Bool);
        let asc = |f: Field| Sort { field: f, dir: Dir::Asc };
        let desc = |f: Field| Sort { field: f, dir: Dir::Desc };
        let cases: Vec<(&str, Vec<Sort>, Vec<i64>)> = vec![
            ("no sort is id order", vec![], vec![1, 2, 3, 4, 5, 6, 7]),
            ("text ignores ascii case", vec![Sort::asc("name")], vec![4, 5, 1, 3, 6, 2, 7]),
            ("text desc, id tiebreak stays asc", vec![Sort::desc("name")], vec![7, 2, 6, 1, 3, 5, 4]),
            ("nullable text", vec![Sort::asc("email")], vec![5, 1, 2, 4, 7, 3, 6]),
            ("nullable text desc", vec![Sort::desc("email")], vec![3, 6, 7, 4, 2, 1, 5]),
            ("int nulls last", vec![Sort::asc("score")], vec![5, 2, 4, 6, 1, 3, 7]),
            ("int desc nulls first", vec![Sort::desc("score")], vec![3, 7, 1, 6, 2, 4, 5]),
            ("float", vec![Sort::asc("amount")], vec![2, 4, 1, 7, 5, 3, 6]),
            ("float desc", vec![Sort::desc("amount")], vec![3, 6, 5, 7, 1, 4, 2]),
            ("time", vec![Sort::asc("seen_at")], vec![1, 5, 2, 4, 7, 3, 6]),
            ("time desc", vec![Sort::desc("seen_at")], vec![3, 6, 7, 4, 2, 1, 5]),
            ("bool", vec![Sort::asc("active")], vec![2, 4, 6, 1, 3, 5, 7]),
            ("two keys", vec![Sort::desc("active"), Sort::asc("score")], vec![5, 1, 3, 7, 2, 4, 6]),
            (
                "three keys",
                vec![Sort::asc("active"), Sort::desc("score"), Sort::desc("name")],
                vec![6, 2, 4, 7, 3, 1, 5],
            ),
            ("id desc", vec![Sort::desc("id")], vec![7, 6, 5, 4, 3, 2, 1]),
            ("custom text, ascii-only case folding", vec![asc(tier())], vec![1, 4, 2, 6, 7, 3, 5]),
            ("custom text desc", vec![desc(tier())], vec![3, 5, 7, 6, 2, 1, 4]),
            ("custom number desc", vec![desc(rank())], vec![3, 5, 6, 7, 2, 1, 4]),
            ("custom number asc", vec![asc(rank())], vec![4, 1, 2, 7, 3, 5, 6]),
            ("custom bool", vec![asc(vip())], vec![2, 1, 7, 3, 4, 5, 6]),
            ("custom bool desc then name", vec![desc(vip()), Sort::asc("name")], vec![4, 5, 3, 6, 1, 7, 2]),
        ];
        let mut failures = Vec::new();
        for (what, sorts, want) in &cases {
            let q = ListQuery { sorts: sorts.clone(), ..ListQuery::all() };
            let got = ordinals(&s.list(fx.a, &WIDGETS, &q).await.unwrap().rows);
            if &got != want {
                failures.push(format!("{what}: got {got:?}, want {want:?}"));
                continue;
            }
            // Keyset pages of every size walk the same order.
            for size in [1u64, 2, 3, 7, 10] {
                let walked = walk_keyset(s, fx.a, sorts, None, size).await;
                if &walked != want {
                    failures.push(format!("{what}: keyset pages of {size} gave {walked:?}, want {want:?}"));
                }
            }
        }
        assert!(failures.is_empty(), "{l}: sort failures:\n{}", failures.join("\n"));
        db.finish().await;
    }
}

/// Walks all keyset pages (passing each cursor through its wire form); returns the ordinals.
async fn walk_keyset(s: &Store, acct: i64, sorts: &[Sort], filter: Option<Filter>, size: u64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut after: Option<Cursor> = None;
    for _ in 0..1000 {
        let q = ListQuery {
            filter: filter.clone(),
            sorts: sorts.to_vec(),
            ..ListQuery::new(Page::After { after, limit: size })
        };
        let page = s.list(acct, &WIDGETS, &q).await.unwrap();
        assert!(page.rows.len() as u64 <= size);
        out.extend(ordinals(&page.rows));
        match page.next {
            Some(c) => {
                assert_eq!(page.rows.len() as u64, size, "only a full page has a next cursor");
                assert_eq!(c.id, page.rows.last().unwrap().id, "the cursor points at the page's last row");
                let wire = c.encode();
                let back = Cursor::decode(&wire).expect("cursor decodes");
                assert_eq!(back, c);
                after = Some(back);
            }
            None => return out,
        }
    }
    panic!(
        "keyset walk did not end: sorts {sorts:?}, filter {filter:?}, size {size}, rows so far {:?}",
        &out[..out.len().min(40)]
    );
}

#[tokio::test]
async fn offset_and_keyset_pages() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let fx = fixture(s).await;
        let a = fx.a;
        let page = |offset, limit, f: Option<Filter>, total: bool| {
            let mut q = ListQuery::new(Page::Offset { offset, limit }).sort(Sort::asc("ordinal"));
            q.filter = f;
            q.with_total = total;
            async move { s.list(a, &WIDGETS, &q).await.unwrap() }
        };
        let p = page(0, 3, None, true).await;
        assert_eq!((ordinals(&p.rows), p.total, p.next), (vec![1, 2, 3], Some(7), None), "{l}");
        let p = page(3, 3, None, true).await;
        assert_eq!((ordinals(&p.rows), p.total), (vec![4, 5, 6], Some(7)), "{l}");
        let p = page(6, 3, None, true).await;
        assert_eq!((ordinals(&p.rows), p.total), (vec![7], Some(7)), "{l}");
        let p = page(10, 3, None, true).await;
        assert_eq!((ordinals(&p.rows), p.total), (vec![], Some(7)), "{l}: past the end");
        let p = page(0, 0, None, true).await;
        assert_eq!((ordinals(&p.rows), p.total), (vec![], Some(7)), "{l}: empty page still counts");
        let p = page(1, 2, None, false).await;
        assert_eq!((ordinals(&p.rows), p.total), (vec![2, 3], None), "{l}: no total unless asked");
        let f = Some(Filter::eq("active", true));
        let p = page(1, 2, f, true).await;
        assert_eq!((ordinals(&p.rows), p.total), (vec![3, 5], Some(4)), "{l}: the total follows the filter");
        let all = vis(ListQuery::all().with_total(), Visibility::All);
        assert_eq!(s.list(a, &WIDGETS, &all).await.unwrap().total, Some(8), "{l}: the total follows visibility");

        // Keyset pages: totals, next cursors, and a walk equal to the offset listing, filtered.
        let q = ListQuery::new(Page::After { after: None, limit: 3 }).sort(Sort::desc("score")).with_total();
        let p1 = s.list(a, &WIDGETS, &q).await.unwrap();
        assert_eq!((ordinals(&p1.rows), p1.total), (vec![3, 7, 1], Some(7)), "{l}");
        let cur = p1.next.clone().expect("more pages");
        assert_eq!(cur.keys, vec![Value::Int(10)], "{l}: the cursor carries the sort keys");
        let q2 = ListQuery { page: Page::After { after: Some(cur), limit: 3 }, ..q.clone() };
        let p2 = s.list(a, &WIDGETS, &q2).await.unwrap();
        assert_eq!((ordinals(&p2.rows), p2.total), (vec![6, 2, 4], Some(7)), "{l}");
        let q3 = ListQuery { page: Page::After { after: p2.next.clone(), limit: 3 }, ..q.clone() };
        let p3 = s.list(a, &WIDGETS, &q3).await.unwrap();
        assert_eq!((ordinals(&p3.rows), p3.next), (vec![5], None), "{l}: last page has no cursor");
        // Exactly full last page: no next cursor either.
        let q = ListQuery::new(Page::After { after: None, limit: 7 });
        assert_eq!(s.list(a, &WIDGETS, &q).await.unwrap().next, None, "{l}");

        let filters = [
            None,
            Some(Filter::Not(Box::new(Filter::eq("score", 5i64)))),
            Some(cmp(c("name"), Op::Contains, "a")),
            Some(Filter::IsNull(c("email"))),
        ];
        let sort_sets: Vec<Vec<Sort>> = vec![
            vec![],
            vec![Sort::asc("name")],
            vec![Sort::desc("email"), Sort::asc("amount")],
            vec![Sort::asc("seen_at"), Sort::desc("name")],
            vec![Sort { field: custom("tier", CustomType::Text), dir: Dir::Desc }, Sort::asc("score")],
            vec![Sort { field: custom("rank", CustomType::Number), dir: Dir::Asc }, Sort::desc("active")],
        ];
        for f in &filters {
            for sorts in &sort_sets {
                let mut q = ListQuery { sorts: sorts.clone(), ..ListQuery::all() };
                q.filter = f.clone();
                let want = ordinals(&s.list(a, &WIDGETS, &q).await.unwrap().rows);
                for size in [1, 2, 4] {
                    let got = walk_keyset(s, a, sorts, f.clone(), size).await;
                    assert_eq!(got, want, "{l}: filter {f:?}, sorts {sorts:?}, size {size}");
                }
                // Offset pages concatenate to the same listing.
                let mut off = Vec::new();
                for start in (0..want.len() as u64 + 2).step_by(2) {
                    let mut q =
                        ListQuery { sorts: sorts.clone(), ..ListQuery::new(Page::Offset { offset: start, limit: 2 }) };
                    q.filter = f.clone();
                    off.extend(ordinals(&s.list(a, &WIDGETS, &q).await.unwrap().rows));
                }
                assert_eq!(off, want, "{l}: offset pages, filter {f:?}, sorts {sorts:?}");
            }
        }

        db.finish().await;
    }
}

#[test]
fn cursor_round_trip() {
    let c = Cursor {
        keys: vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(-42),
            Value::Float(0.1),
            Value::Float(-1e300),
            Value::Text("Ünïcode / + = ?&%".into()),
            Value::Time(at(7, 123_456)),
            Value::Json(json!({"a": [1, 2]})),
        ],
        id: 9_007_199_254_740_993,
    };
    let wire = c.encode();
    assert!(wire.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "URL-safe: {wire}");
    assert_eq!(Cursor::decode(&wire), Some(c.clone()));
    let empty = Cursor { keys: vec![], id: 1 };
    assert_eq!(Cursor::decode(&empty.encode()), Some(empty));
    assert_eq!(Cursor::decode("not a cursor!"), None);
    assert_eq!(Cursor::decode(""), None);
    // Valid base64 that is not a cursor.
    assert_eq!(Cursor::decode("aGVsbG8"), None);
    assert_eq!(Cursor::decode(&wire[..wire.len() - 3]), None);
}

#[tokio::test]
async fn bad_queries_are_query_errors() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let fx = fixture(s).await;
        let a = fx.a;
        let bad_filters: Vec<(&str, Filter)> = vec![
            ("unknown column", Filter::eq("nope", 1i64)),
            ("unknown column in is null", Filter::IsNull(c("nope"))),
            ("deleted_at on a spec that has it is fine, but not a made-up one", Filter::IsNull(c("removed_at"))),
            ("text for int", Filter::eq("score", "five")),
            ("int for text", Filter::eq("name", 5i64)),
            ("float for int", cmp(c("score"), Op::Gt, Value::Float(1.5))),
            ("bool for time", Filter::eq("seen_at", true)),
            ("null compare", Filter::Cmp { field: c("score"), op: Op::Eq, value: Value::Null }),
            ("null ne", Filter::Cmp { field: c("score"), op: Op::Ne, value: Value::Null }),
            ("contains on int", cmp(c("score"), Op::Contains, "1")),
            ("contains with int", cmp(c("name"), Op::Contains, 1i64)),
            ("prefix on custom number", cmp(custom("rank", CustomType::Number), Op::Prefix, "1")),
            ("in with wrong type", Filter::In { field: c("score"), values: vec![1i64.into(), "x".into()] }),
            ("custom key with quote", cmp(custom("a'b", CustomType::Text), Op::Eq, "x")),
            ("custom key with double quote", cmp(custom("a\"b", CustomType::Text), Op::Eq, "x")),
            ("custom key with dot", cmp(custom("a.b", CustomType::Text), Op::Eq, "x")),
            ("custom key with sql", Filter::IsNull(custom("x') OR 1=1 --", CustomType::Text))),
            ("empty custom key", Filter::IsNull(custom("", CustomType::Text))),
            ("long custom key", Filter::IsNull(custom(&"k".repeat(65), CustomType::Text))),
            ("custom value of wrong type", cmp(custom("rank", CustomType::Number), Op::Eq, "3")),
            ("custom bool with text", cmp(custom("vip", CustomType::Bool), Op::Eq, "true")),
            (
                "bad leaf deep inside",
                Filter::All(vec![Filter::Any(vec![Filter::Not(Box::new(Filter::eq("nope", 1i64)))])]),
            ),
            (
                "related via unknown column",
                Filter::Related { via: "nope".into(), target: &PARENTS, filter: Box::new(Filter::All(vec![])) },
            ),
            ("related bad target filter", parent_is(Filter::eq("score", 1i64))),
            (
                "related custom on a spec without custom fields",
                parent_is(Filter::IsNull(custom("x", CustomType::Text))),
            ),
            (
                "referenced via unknown column",
                Filter::Referenced { target: &WIDGETS, via: "nope".into(), filter: Box::new(Filter::All(vec![])) },
            ),
        ];
        for (what, f) in bad_filters {
            let q = ListQuery::all().filter(f.clone()).with_total();
            match s.list(a, &WIDGETS, &q).await {
                Err(StoreError::Query(_)) => {}
                other => panic!("{l}: {what}: expected a query error, got {other:?}"),
            }
            let q = ListQuery::new(Page::After { after: None, limit: 2 }).filter(f);
            assert!(matches!(s.list(a, &WIDGETS, &q).await, Err(StoreError::Query(_))), "{l}: {what} (keyset)");
        }
        let bad_sorts: Vec<(&str, Sort)> = vec![
            ("unknown sort column", Sort::asc("nope")),
            ("bad custom sort key", Sort { field: custom("bad key", CustomType::Number), dir: Dir::Asc }),
        ];
        for (what, sort) in bad_sorts {
            let q = ListQuery::all().sort(sort);
            assert!(matches!(s.list(a, &WIDGETS, &q).await, Err(StoreError::Query(_))), "{l}: {what}");
        }
        assert!(
            matches!(
                s.list(
                    a,
                    &PARENTS,
                    &ListQuery::all().sort(Sort { field: custom("x", CustomType::Text), dir: Dir::Asc })
                )
                .await,
                Err(StoreError::Query(_))
            ),
            "{l}: custom field on a spec without custom fields"
        );
        // Cursors that do not fit the query.
        let wrong_len = Cursor { keys: vec![Value::Int(1), Value::Int(2)], id: 1 };
        let q = ListQuery::new(Page::After { after: Some(wrong_len), limit: 2 }).sort(Sort::asc("score"));
        assert!(matches!(s.list(a, &WIDGETS, &q).await, Err(StoreError::Query(_))), "{l}: cursor length");
        let wrong_type = Cursor { keys: vec![Value::Text("x".into())], id: 1 };
        let q = ListQuery::new(Page::After { after: Some(wrong_type), limit: 2 }).sort(Sort::asc("score"));
        assert!(matches!(s.list(a, &WIDGETS, &q).await, Err(StoreError::Query(_))), "{l}: cursor key type");

        // Writes with bad input.
        let mut tx = s.begin(a, None).await.unwrap();
        let err = tx.insert(&WIDGETS, vec![Value::Int(1)]).await.unwrap_err();
        assert!(matches!(err, StoreError::Query(_)), "{l}: short insert: {err:?}");
        let mut v = W::new(50, "x").values();
        v[3] = Value::Text("not an int".into());
        let err = tx.insert(&WIDGETS, v).await.unwrap_err();
        assert!(matches!(err, StoreError::Query(_)), "{l}: insert type: {err:?}");
        let err = tx.update(&WIDGETS, fx.ids[&1], &[("nope", Value::Int(1))]).await.unwrap_err();
        assert!(matches!(err, StoreError::Query(_)), "{l}: update column: {err:?}");
        let err = tx.update(&WIDGETS, fx.ids[&1], &[("score", Value::Text("x".into()))]).await.unwrap_err();
        assert!(matches!(err, StoreError::Query(_)), "{l}: update type: {err:?}");
        // The transaction is still usable after rejected input.
        tx.update(&WIDGETS, fx.ids[&1], &[("score", Value::Int(11))]).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        let r = s.get(a, &WIDGETS, fx.ids[&1], Visibility::Live).await.unwrap().unwrap();
        assert_eq!(val(&WIDGETS, &r, "score"), &Value::Int(11), "{l}");
        let err = s.find_unscoped(&WIDGETS, "nope", Value::Int(1)).await.unwrap_err();
        assert!(matches!(err, StoreError::Query(_)), "{l}");

        db.finish().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Migrations
// ---------------------------------------------------------------------------------------------

/// `WIDGETS` as a later schema version describes it: one more column, added at version 2.
static WIDGETS_V2: EntitySpec = EntitySpec {
    kind: "widget",
    table: "widgets",
    columns: &[
        Column { name: "ordinal", ty: ColumnType::Int, nullable: false, since: 1 },
        Column { name: "name", ty: ColumnType::Text, nullable: false, since: 1 },
        Column { name: "email", ty: ColumnType::Text, nullable: true, since: 1 },
        Column { name: "score", ty: ColumnType::Int, nullable: true, since: 1 },
        Column { name: "amount", ty: ColumnType::Float, nullable: true, since: 1 },
        Column { name: "active", ty: ColumnType::Bool, nullable: false, since: 1 },
        Column { name: "seen_at", ty: ColumnType::Time, nullable: true, since: 1 },
        Column { name: "custom_fields", ty: ColumnType::Json, nullable: false, since: 1 },
        Column { name: "parent_id", ty: ColumnType::Int, nullable: true, since: 1 },
        Column { name: "buddy_id", ty: ColumnType::Int, nullable: true, since: 1 },
        Column { name: "note", ty: ColumnType::Text, nullable: false, since: NEXT_VERSION },
        Column { name: "level", ty: ColumnType::Int, nullable: true, since: NEXT_VERSION },
    ],
    soft_delete: true,
    indexes: &[&["parent_id"], &["buddy_id"]],
    unique: &[&["email"]],
    global_indexes: &[],
    since: 1,
};

/// One past the store's own schema version (its system tables'), for a column added later.
const NEXT_VERSION: u32 = 6;

#[tokio::test]
async fn migrations_are_idempotent_and_add_columns() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        assert_eq!(s.migrate(SPECS).await.unwrap(), NEXT_VERSION - 1, "{l}: migrating again is a no-op");
        let acct = s.create_account("a").await.unwrap();
        let old = insert_widgets(s, acct, &[W::new(1, "old")]).await.remove(0);
        assert_eq!(s.migrate(&[&WIDGETS_V2, &PARENTS]).await.unwrap(), NEXT_VERSION, "{l}");
        assert_eq!(s.migrate(&[&WIDGETS_V2, &PARENTS]).await.unwrap(), NEXT_VERSION, "{l}: again");
        let r = s.get(acct, &WIDGETS_V2, old.id, Visibility::Live).await.unwrap().unwrap();
        assert_eq!(&r.values[..10], &old.values[..], "{l}");
        assert_eq!(&r.values[10..], &[Value::Text(String::new()), Value::Null], "{l}: defaults for added columns");
        let mut v = W::new(2, "new").values();
        v.push(Value::Text("hello".into()));
        v.push(Value::Int(3));
        let mut tx = s.begin(acct, None).await.unwrap();
        let n = tx.insert(&WIDGETS_V2, v.clone()).await.unwrap();
        tx.commit().await.unwrap();
        let q = ListQuery::all().filter(Filter::eq("note", "hello"));
        let rows = s.list(acct, &WIDGETS_V2, &q).await.unwrap().rows;
        assert_eq!(rows.len(), 1, "{l}");
        assert_eq!(rows[0].id, n.id, "{l}");
        assert_eq!(rows[0].values, v, "{l}");
        db.finish().await;
    }
}

/// Tags before schema version 3: names unique per account.
static TAGS_V1: EntitySpec = EntitySpec {
    kind: "tag",
    table: "tags",
    columns: &[Column { name: "name", ty: ColumnType::Text, nullable: false, since: 1 }],
    soft_delete: false,
    indexes: &[],
    unique: &[&["name"]],
    global_indexes: &[],
    since: 1,
};

/// Tags from version 3: names unique per resource type, by an index over the added column.
static TAGS_V3: EntitySpec = EntitySpec {
    kind: "tag",
    table: "tags",
    columns: &[
        Column { name: "name", ty: ColumnType::Text, nullable: false, since: 1 },
        Column { name: "resource_type", ty: ColumnType::Text, nullable: false, since: 3 },
    ],
    soft_delete: false,
    indexes: &[],
    unique: &[&["resource_type", "name"]],
    global_indexes: &[],
    since: 1,
};

async fn insert_tag(s: &kith_store::Store, acct: i64, values: Vec<Value>) -> Result<i64, StoreError> {
    let mut tx = s.begin(acct, None).await?;
    let row = tx.insert(&TAGS_V3, values).await?;
    tx.commit().await?;
    Ok(row.id)
}

/// The rules version 3 sets for tags, on a database made at version 3.
async fn check_tags_per_type(s: &kith_store::Store, acct: i64, l: &str) {
    insert_tag(s, acct, vec![Value::Text("vip".into()), Value::Text("deal".into())]).await.unwrap();
    let err = insert_tag(s, acct, vec![Value::Text("vip".into()), Value::Text("deal".into())]).await;
    assert!(matches!(err, Err(StoreError::Conflict(_))), "{l}: {err:?}");
    insert_tag(s, acct, vec![Value::Text("vip".into()), Value::Text("lead".into())]).await.unwrap();
}

#[tokio::test]
async fn tag_names_become_unique_per_type_at_version_3() {
    // A database made before version 3, then upgraded.
    for db in empty_backends().await {
        let s = &db.store;
        let l = db.label;
        s.migrate_to(&[&TAGS_V1], 2).await.unwrap();
        let acct = s.create_account("a").await.unwrap();
        let mut tx = s.begin(acct, None).await.unwrap();
        let old = tx.insert(&TAGS_V1, vec![Value::Text("vip".into())]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(s.migrate(&[&TAGS_V3]).await.unwrap(), NEXT_VERSION - 1, "{l}: the store's own version");
        let r = s.get(acct, &TAGS_V3, old.id, Visibility::Live).await.unwrap().unwrap();
        let want = vec![Value::Text("vip".into()), Value::Text("contact".into())];
        assert_eq!(r.values, want, "{l}: tags from before are contact tags");
        let err = insert_tag(s, acct, want).await;
        assert!(matches!(err, Err(StoreError::Conflict(_))), "{l}: {err:?}");
        check_tags_per_type(s, acct, l).await;
        db.finish().await;
    }
    // A database made at version 3.
    for db in empty_backends().await {
        let s = &db.store;
        assert_eq!(s.migrate(&[&TAGS_V3]).await.unwrap(), NEXT_VERSION - 1, "{}", db.label);
        let acct = s.create_account("a").await.unwrap();
        check_tags_per_type(s, acct, db.label).await;
        db.finish().await;
    }
}

#[tokio::test]
async fn non_ascii_text_sorts_and_keyset_pages() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let a = s.create_account("a").await.unwrap();
        let names = ["Éz", "éa", "Zed", "zz", "ÉZ", "éA", "b"];
        let ws: Vec<W> =
            names.iter().enumerate().map(|(i, n)| W::new(i as i64 + 1, n).custom(json!({ "tier": n }))).collect();
        insert_widgets(s, a, &ws).await;
        // Only ASCII letters fold: "Éz" and "ÉZ" tie, "éa" and "éA" tie, and É (C3 89) sorts
        // before é (C3 A9).
        let asc = vec![7, 3, 4, 1, 5, 2, 6];
        let desc = vec![2, 6, 1, 5, 4, 3, 7];
        for field in [Field::col("name"), custom("tier", CustomType::Text)] {
            for (dir, want) in [(Dir::Asc, &asc), (Dir::Desc, &desc)] {
                let sorts = vec![Sort { field: field.clone(), dir }];
                let q = ListQuery { sorts: sorts.clone(), ..ListQuery::all() };
                let got = ordinals(&s.list(a, &WIDGETS, &q).await.unwrap().rows);
                assert_eq!(&got, want, "{l}: {field:?} {dir:?}");
                for size in [1, 2, 3] {
                    let walked = walk_keyset(s, a, &sorts, None, size).await;
                    assert_eq!(&walked, want, "{l}: keyset {field:?} {dir:?} size {size}");
                }
            }
            let q = ListQuery::all().filter(cmp(field.clone(), Op::Contains, "É")).sort(Sort::asc("ordinal"));
            assert_eq!(ordinals(&s.list(a, &WIDGETS, &q).await.unwrap().rows), vec![1, 5], "{l}: {field:?}");
            let q = ListQuery::all().filter(cmp(field.clone(), Op::Prefix, "éa")).sort(Sort::asc("ordinal"));
            assert_eq!(ordinals(&s.list(a, &WIDGETS, &q).await.unwrap().rows), vec![2, 6], "{l}: {field:?}");
        }
        db.finish().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Sync: pending records per device, acknowledgements, sessions
// ---------------------------------------------------------------------------------------------

const WIDGET: &[&str] = &["widget"];

fn ack(id: i64, revision: i64, present: bool) -> Ack {
    Ack { kind: "widget".into(), id, revision, present }
}

async fn ack_all(s: &Store, acct: i64, device: &str, acks: &[Ack]) {
    let mut tx = s.begin(acct, None).await.unwrap();
    tx.ack_sync(device, acks).await.unwrap();
    tx.commit().await.unwrap();
}

/// `(id, revision, acked)` of every pending widget of a device, walked `size` at a time.
async fn walk_pending(s: &Store, acct: i64, device: &str, size: u64) -> Vec<(i64, i64, Option<Acked>)> {
    let mut out = Vec::new();
    let mut after = SyncPosition::default();
    loop {
        let page = s.pending_after(acct, device, WIDGET, &after, size).await.unwrap();
        assert!(page.len() as u64 <= size);
        let Some(last) = page.last() else { return out };
        after = SyncPosition { kind: last.kind.clone(), id: last.id };
        out.extend(page.into_iter().map(|p| (p.id, p.revision, p.acked)));
    }
}

#[tokio::test]
async fn sync_pending_records_and_acks() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let a = s.create_account("a").await.unwrap();
        let b = s.create_account("b").await.unwrap();
        let rows = insert_widgets(s, a, &[W::new(1, "one"), W::new(2, "two"), W::new(3, "three")]).await;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        insert_widgets(s, b, &[W::new(4, "theirs")]).await;
        insert_parent(s, a, "not synced").await;

        // Every record is pending at revision 1 (its one event), in id order, whatever the page size.
        assert_eq!(s.count_pending(a, "d1", WIDGET).await.unwrap(), 3, "{l}");
        assert_eq!(s.count_pending(a, "d1", &[]).await.unwrap(), 0, "{l}");
        let all: Vec<(i64, i64, Option<Acked>)> = ids.iter().map(|id| (*id, 1, None)).collect();
        for size in [1, 2, 10] {
            assert_eq!(walk_pending(s, a, "d1", size).await, all, "{l}: page size {size}");
        }
        let after_first = SyncPosition { kind: "widget".into(), id: ids[0] };
        let rest = s.pending_after(a, "d1", WIDGET, &after_first, 10).await.unwrap();
        assert_eq!(rest.iter().map(|p| p.id).collect::<Vec<_>>(), ids[1..], "{l}: after a position");

        // Acknowledged records stop being pending, for that device only.
        ack_all(s, a, "d1", &[ack(ids[0], 1, true), ack(ids[1], 1, true)]).await;
        assert_eq!(walk_pending(s, a, "d1", 10).await, vec![(ids[2], 1, None)], "{l}");
        assert_eq!(s.count_pending(a, "d2", WIDGET).await.unwrap(), 3, "{l}: another device");
        assert_eq!(s.count_pending(b, "d1", WIDGET).await.unwrap(), 1, "{l}: another account");
        assert_eq!(s.acked(a, "d1", "widget", ids[0]).await.unwrap(), Some(Acked { revision: 1, present: true }));
        assert_eq!(s.acked(b, "d1", "widget", ids[0]).await.unwrap(), None, "{l}: acks are per account");

        // A change makes a record pending again, one revision further, with what was acked.
        let mut tx = s.begin(a, None).await.unwrap();
        tx.update(&WIDGETS, ids[0], &[("name", Value::Text("uno".into()))]).await.unwrap();
        tx.update(&WIDGETS, ids[0], &[("name", Value::Text("eins".into()))]).await.unwrap();
        tx.delete(&WIDGETS, ids[1]).await.unwrap();
        tx.commit().await.unwrap();
        let held = Some(Acked { revision: 1, present: true });
        assert_eq!(
            walk_pending(s, a, "d1", 10).await,
            vec![(ids[0], 3, held), (ids[1], 2, held), (ids[2], 1, None)],
            "{l}"
        );

        // An older acknowledgement never lowers a newer one; the newest of a call wins.
        ack_all(s, a, "d1", &[ack(ids[0], 3, true), ack(ids[1], 2, false)]).await;
        ack_all(s, a, "d1", &[ack(ids[0], 2, true)]).await;
        assert_eq!(s.acked(a, "d1", "widget", ids[0]).await.unwrap(), Some(Acked { revision: 3, present: true }));
        assert_eq!(s.acked(a, "d1", "widget", ids[1]).await.unwrap(), Some(Acked { revision: 2, present: false }));
        assert_eq!(walk_pending(s, a, "d1", 10).await, vec![(ids[2], 1, None)], "{l}");

        // Many acknowledgements in one call (more than one statement's worth).
        let many: Vec<W> = (10..1210).map(|i| W::new(i, "bulk")).collect();
        let mut tx = s.begin(a, None).await.unwrap();
        let bulk = tx.insert_many(&WIDGETS, many.iter().map(W::values).collect()).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(s.count_pending(a, "d1", WIDGET).await.unwrap(), 1201, "{l}");
        let acks: Vec<Ack> = bulk.iter().map(|id| ack(*id, 1, true)).collect();
        ack_all(s, a, "d1", &acks).await;
        assert_eq!(s.count_pending(a, "d1", WIDGET).await.unwrap(), 1, "{l}");
        db.finish().await;
    }
}

#[tokio::test]
async fn sync_sessions_advance_once_per_position() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let a = s.create_account("a").await.unwrap();
        let b = s.create_account("b").await.unwrap();
        let mut tx = s.begin(a, Some(7)).await.unwrap();
        let id = tx.create_sync_session("token-1", "d1", 7, 12).await.unwrap();
        tx.commit().await.unwrap();
        let session = s.sync_session(a, "token-1").await.unwrap().expect("session");
        assert_eq!((session.id, session.device.as_str(), session.user_id, session.total_count), (id, "d1", 7, 12));
        assert_eq!(session.after, SyncPosition::default(), "{l}");
        assert!(!session.finished, "{l}");
        assert_eq!(s.sync_session(b, "token-1").await.unwrap(), None, "{l}: another account's");
        assert_eq!(s.sync_session(a, "token-2").await.unwrap(), None, "{l}");

        // Only the first of two requests at the same position moves the session.
        let start = SyncPosition::default();
        let first = SyncPosition { kind: "widget".into(), id: 5 };
        let mut tx = s.begin(a, None).await.unwrap();
        assert!(tx.advance_sync_session(id, &start, &first, false).await.unwrap(), "{l}");
        assert!(!tx.advance_sync_session(id, &start, &first, false).await.unwrap(), "{l}");
        tx.commit().await.unwrap();
        let mut tx = s.begin(b, None).await.unwrap();
        assert!(!tx.advance_sync_session(id, &first, &first, true).await.unwrap(), "{l}: another account's");
        tx.commit().await.unwrap();
        let mut tx = s.begin(a, None).await.unwrap();
        assert!(tx.advance_sync_session(id, &first, &first, true).await.unwrap(), "{l}");
        assert!(!tx.advance_sync_session(id, &first, &first, true).await.unwrap(), "{l}: finished");
        tx.commit().await.unwrap();
        let session = s.sync_session(a, "token-1").await.unwrap().expect("session");
        assert_eq!((session.after, session.finished), (first, true), "{l}");

        // Old sessions of a device go; other devices' stay.
        let mut tx = s.begin(a, None).await.unwrap();
        tx.create_sync_session("token-2", "d2", 7, 1).await.unwrap();
        assert_eq!(tx.expire_sync_sessions("d1", kith_store::now() + chrono::Duration::seconds(1)).await.unwrap(), 1);
        tx.commit().await.unwrap();
        assert_eq!(s.sync_session(a, "token-1").await.unwrap(), None, "{l}");
        assert!(s.sync_session(a, "token-2").await.unwrap().is_some(), "{l}");
        db.finish().await;
    }
}

#[tokio::test]
async fn json_text_fields_filter_and_sort_by_a_path() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let a = s.create_account("a").await.unwrap();
        let ws = [
            W::new(1, "a").custom(json!({ "home": { "city": "Chicago" }, "list": [{ "city": "Dublin" }] })),
            W::new(2, "b")
                .custom(json!({ "home": { "city": "Boston" }, "list": [{ "city": "Cork" }, { "city": "Chicago" }] })),
            W::new(3, "c").custom(json!({ "home": {} })),
            W::new(4, "d"),
        ];
        insert_widgets(s, a, &ws).await;
        let city = Field::JsonText {
            column: "custom_fields".into(),
            path: vec![JsonStep::Key("home".into()), JsonStep::Key("city".into())],
        };
        let first = Field::JsonText {
            column: "custom_fields".into(),
            path: vec![JsonStep::Key("list".into()), JsonStep::Index(0), JsonStep::Key("city".into())],
        };
        let q = ListQuery::all().filter(cmp(city.clone(), Op::Eq, "Chicago"));
        assert_eq!(ordinals(&s.list(a, &WIDGETS, &q).await.unwrap().rows), vec![1], "{l}");
        // Only the first element of the array counts.
        let q = ListQuery::all().filter(cmp(first.clone(), Op::Eq, "Chicago"));
        assert!(s.list(a, &WIDGETS, &q).await.unwrap().rows.is_empty(), "{l}");
        let q = ListQuery::all().filter(cmp(first.clone(), Op::Eq, "Cork"));
        assert_eq!(ordinals(&s.list(a, &WIDGETS, &q).await.unwrap().rows), vec![2], "{l}");
        let q = ListQuery::all().filter(Filter::IsNull(city.clone())).sort(Sort::asc("ordinal"));
        assert_eq!(ordinals(&s.list(a, &WIDGETS, &q).await.unwrap().rows), vec![3, 4], "{l}");
        // Sorted as text, missing values last.
        let q = ListQuery { sorts: vec![Sort { field: city, dir: Dir::Asc }], ..ListQuery::all() };
        assert_eq!(ordinals(&s.list(a, &WIDGETS, &q).await.unwrap().rows), vec![2, 1, 3, 4], "{l}");
        // Keys are spliced into SQL: anything but a plain key is refused.
        let bad = Field::JsonText { column: "custom_fields".into(), path: vec![JsonStep::Key("x') OR 1=1 --".into())] };
        let q = ListQuery::all().filter(cmp(bad, Op::Eq, "x"));
        assert!(matches!(s.list(a, &WIDGETS, &q).await, Err(StoreError::Query(_))), "{l}");
        let not_json = Field::JsonText { column: "name".into(), path: vec![JsonStep::Key("x".into())] };
        let q = ListQuery::all().filter(cmp(not_json, Op::Eq, "x"));
        assert!(matches!(s.list(a, &WIDGETS, &q).await, Err(StoreError::Query(_))), "{l}");
        db.finish().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Listings over two entities, first rows per group, filling added columns
// ---------------------------------------------------------------------------------------------

/// A union key as the reference computes it.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum K {
    Int(i64),
    Float(f64),
    Text(String),
}

/// Orders (branch, id, keys) rows as a union orders them: nulls last ascending and first
/// descending, then id ascending.
fn reference_order(rows: &mut [(usize, i64, Vec<Option<K>>)], dirs: &[Dir]) {
    rows.sort_by(|a, b| {
        for (n, dir) in dirs.iter().enumerate() {
            let o = match (&a.2[n], &b.2[n]) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) => x.partial_cmp(y).expect("comparable keys"),
            };
            let o = if *dir == Dir::Desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        a.1.cmp(&b.1)
    });
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

#[tokio::test]
async fn union_lists_two_entities_in_one_order() {
    use kith_store::{Key, UnionBranch, UnionQuery};
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let a = s.create_account("a").await.unwrap();
        let b = s.create_account("b").await.unwrap();
        // Parents and widgets with names that tie across the two tables.
        let mut parents = Vec::new();
        for name in ["bob smith", "Alice", "Zulu", "acme"] {
            parents.push(insert_parent(s, a, name).await);
        }
        // Times on both sides of a second, and before 1970 (seconds floor, not truncate).
        let before_1970 = |micros: i64| kith_store::value::from_micros(micros);
        let ws = vec![
            W::new(1, "Bob").email("Smith").seen(at(1, 999_999)).custom(json!({"rank": 2})),
            W::new(2, "alice").seen(at(1, 0)).custom(json!({"rank": 2.5})),
            W::new(3, "ALICE").email("b").seen(at(1, 500_000)),
            W::new(4, "Émile").seen(before_1970(-1_500_000)).custom(json!({"rank": -1})),
            W::new(5, "zed").email("A").seen(before_1970(-1_200_000)).custom(json!({"rank": 10})),
            W::new(6, "acme").custom(json!({"rank": 2})),
            W::new(7, "gone").seen(at(1, 1)),
        ];
        let widgets = insert_widgets(s, a, &ws).await;
        let mut tx = s.begin(a, None).await.unwrap();
        assert!(tx.delete(&WIDGETS, widgets[6].id).await.unwrap());
        tx.commit().await.unwrap();
        let widgets = &widgets[..6];
        insert_widgets(s, b, &[W::new(100, "alice")]).await;
        insert_parent(s, b, "alice").await;

        let seconds = |t: chrono::DateTime<chrono::Utc>| K::Int(t.timestamp_micros().div_euclid(1_000_000));
        let widget_name = |r: &kith_store::Row| val(&WIDGETS, r, "name").as_text().unwrap().to_owned();
        let widget_email = |r: &kith_store::Row| val(&WIDGETS, r, "email").as_text().map(str::to_owned);
        let parent_name = |r: &kith_store::Row| r.values[0].as_text().unwrap().to_owned();
        let rank = |r: &kith_store::Row| match val(&WIDGETS, r, "custom_fields") {
            Value::Json(j) => j.get("rank").and_then(serde_json::Value::as_f64).map(K::Float),
            _ => None,
        };

        type Refs = Vec<(usize, i64, Vec<Option<K>>)>;
        struct Case {
            what: &'static str,
            widget_keys: Vec<Key>,
            parent_keys: Vec<Key>,
            dirs: Vec<Dir>,
            reference: Refs,
        }
        let joined = |r: &kith_store::Row| {
            format!("{} {}", lower(&widget_name(r)), lower(&widget_email(r).unwrap_or_default()))
                .trim_end_matches(' ')
                .to_owned()
        };
        let by = |wf: &dyn Fn(&kith_store::Row) -> Vec<Option<K>>, pf: &dyn Fn(&kith_store::Row) -> Vec<Option<K>>| {
            let mut out: Refs = widgets.iter().map(|r| (0, r.id, wf(r))).collect();
            out.extend(parents.iter().map(|r| (1, r.id, pf(r))));
            out
        };
        let cases = vec![
            Case {
                what: "names ignoring ascii case, ties by id",
                widget_keys: vec![Key::Field(Field::col("name"))],
                parent_keys: vec![Key::Field(Field::col("name"))],
                dirs: vec![Dir::Asc],
                reference: by(&|r| vec![Some(K::Text(lower(&widget_name(r))))], &|r| {
                    vec![Some(K::Text(lower(&parent_name(r))))]
                }),
            },
            Case {
                what: "joined name and email against a name, descending",
                widget_keys: vec![Key::Joined { columns: vec!["name".into(), "email".into()], separator: " ".into() }],
                parent_keys: vec![Key::Field(Field::col("name"))],
                dirs: vec![Dir::Desc],
                reference: by(&|r| vec![Some(K::Text(joined(r)))], &|r| vec![Some(K::Text(lower(&parent_name(r))))]),
            },
            Case {
                what: "times to the second, nulls last",
                widget_keys: vec![Key::Seconds("seen_at".into())],
                parent_keys: vec![Key::Seconds("created_at".into())],
                dirs: vec![Dir::Asc],
                reference: by(
                    &|r| {
                        vec![match val(&WIDGETS, r, "seen_at") {
                            Value::Time(t) => Some(seconds(*t)),
                            _ => None,
                        }]
                    },
                    &|r| vec![Some(seconds(r.created_at))],
                ),
            },
            Case {
                what: "positions one branch lacks, descending: nulls first",
                widget_keys: vec![Key::Field(custom("rank", CustomType::Number)), Key::Null(ColumnType::Text)],
                parent_keys: vec![Key::Null(ColumnType::Float), Key::Field(Field::col("name"))],
                dirs: vec![Dir::Desc, Dir::Desc],
                reference: by(&|r| vec![rank(r), None], &|r| vec![None, Some(K::Text(lower(&parent_name(r))))]),
            },
            Case {
                what: "the same, ascending",
                widget_keys: vec![Key::Field(custom("rank", CustomType::Number)), Key::Null(ColumnType::Text)],
                parent_keys: vec![Key::Null(ColumnType::Float), Key::Field(Field::col("name"))],
                dirs: vec![Dir::Asc, Dir::Asc],
                reference: by(&|r| vec![rank(r), None], &|r| vec![None, Some(K::Text(lower(&parent_name(r))))]),
            },
        ];
        for case in cases {
            let mut want = case.reference;
            reference_order(&mut want, &case.dirs);
            let want: Vec<(usize, i64)> = want.into_iter().map(|(b, id, _)| (b, id)).collect();
            let query = |offset: u64, limit: u64| UnionQuery {
                branches: vec![
                    UnionBranch { spec: &WIDGETS, filter: None, keys: case.widget_keys.clone() },
                    UnionBranch { spec: &PARENTS, filter: None, keys: case.parent_keys.clone() },
                ],
                dirs: case.dirs.clone(),
                offset,
                limit,
                with_total: true,
            };
            let all = s.list_union(a, &query(0, 100)).await.unwrap_or_else(|e| panic!("{l}: {}: {e}", case.what));
            assert_eq!(all.rows, want, "{l}: {}", case.what);
            assert_eq!(all.total, Some(10), "{l}: {}: live rows of the account only", case.what);
            for size in [1u64, 3, 4] {
                let mut walked = Vec::new();
                for n in 0..=(10 / size) {
                    walked.extend(s.list_union(a, &query(n * size, size)).await.unwrap().rows);
                }
                assert_eq!(walked, want, "{l}: {}: pages of {size}", case.what);
            }
        }

        // Each branch has its own filter; a branch may be left out.
        let u = UnionQuery {
            branches: vec![
                UnionBranch {
                    spec: &WIDGETS,
                    filter: Some(Filter::cmp("name", Op::Prefix, "a")),
                    keys: vec![Key::Field(Field::col("name"))],
                },
                UnionBranch {
                    spec: &PARENTS,
                    filter: Some(Filter::cmp("name", Op::Contains, "l")),
                    keys: vec![Key::Field(Field::col("name"))],
                },
            ],
            dirs: vec![Dir::Asc],
            offset: 0,
            limit: 10,
            with_total: true,
        };
        let page = s.list_union(a, &u).await.unwrap();
        let (w, p) = (|i: usize| (0, widgets[i].id), |i: usize| (1, parents[i].id));
        assert_eq!(page.rows, vec![w(5), p(1), w(1), w(2), p(2)], "{l}: ties by id: the parent was made first");
        assert_eq!(page.total, Some(5), "{l}");
        let one = UnionQuery { branches: u.branches[1..].to_vec(), ..u.clone() };
        let only = vec![(0, parents[1].id), (0, parents[2].id)];
        assert_eq!(s.list_union(a, &one).await.unwrap().rows, only, "{l}: branches are numbered as given");
        let none = UnionQuery { branches: vec![], ..u.clone() };
        assert_eq!(s.list_union(a, &none).await.unwrap().rows, vec![], "{l}");

        // Branches over one entity, each a part of it, in an order of their own.
        let groups = UnionQuery {
            branches: vec![
                UnionBranch {
                    spec: &WIDGETS,
                    filter: Some(Filter::IsNull(c("email"))),
                    keys: vec![Key::Int(2), Key::Field(c("name"))],
                },
                UnionBranch {
                    spec: &WIDGETS,
                    filter: Some(Filter::IsNotNull(c("email"))),
                    keys: vec![Key::Int(1), Key::Null(ColumnType::Text)],
                },
            ],
            dirs: vec![Dir::Asc, Dir::Desc],
            offset: 1,
            limit: 4,
            with_total: true,
        };
        let page = s.list_union(a, &groups).await.unwrap();
        let w = |i: usize| widgets[i].id;
        assert_eq!(
            page.rows,
            vec![(1, w(2)), (1, w(4)), (0, w(3)), (0, w(1))],
            "{l}: with email by id, then by name desc"
        );
        assert_eq!(page.total, Some(6), "{l}");

        // Keys must line up: same count, same types.
        let mut bad = u.clone();
        bad.branches[1].keys = vec![Key::Field(Field::col("id"))];
        assert!(matches!(s.list_union(a, &bad).await, Err(StoreError::Query(_))), "{l}: text against int");
        let mut bad = u.clone();
        bad.branches[0].keys.push(Key::Null(ColumnType::Int));
        assert!(matches!(s.list_union(a, &bad).await, Err(StoreError::Query(_))), "{l}: key count");
        let mut bad = u.clone();
        bad.branches[0].keys = vec![Key::Joined { columns: vec!["score".into()], separator: " ".into() }];
        assert!(matches!(s.list_union(a, &bad).await, Err(StoreError::Query(_))), "{l}: joins text only");
        let mut bad = u.clone();
        bad.branches[0].keys = vec![Key::Seconds("name".into())];
        assert!(matches!(s.list_union(a, &bad).await, Err(StoreError::Query(_))), "{l}: seconds of times only");
        // A separator is quoted, not spliced.
        let mut quoted = u.clone();
        quoted.branches[0].keys =
            vec![Key::Joined { columns: vec!["name".into(), "email".into()], separator: "' OR 1=1 --".into() }];
        assert_eq!(s.list_union(a, &quoted).await.unwrap().total, Some(5), "{l}");
        db.finish().await;
    }
}

#[tokio::test]
async fn first_per_lists_the_first_row_of_each_value() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let fx = fixture(s).await;
        let [p1, p2, p3] = [fx.parents[0], fx.parents[1], fx.parents[2]];
        // By parent: 1 (Acme: 1, 4), 2 (globex: 2, 7), 5 (Ünited), and one row for no parent (3, 6).
        let cases: Vec<(&str, Vec<Sort>, Vec<i64>)> = vec![
            ("by id", vec![], vec![1, 2, 3, 5]),
            ("by score: nulls last, ties by id", vec![Sort::asc("score")], vec![5, 2, 4, 6]),
            ("by score descending: nulls first", vec![Sort::desc("score")], vec![3, 7, 1, 5]),
            ("by name", vec![Sort::asc("name")], vec![4, 5, 3, 2]),
        ];
        for (what, sorts, want) in cases {
            let q = ListQuery { sorts: sorts.clone(), ..ListQuery::all() }.with_total();
            let page = s.list_first_per(fx.a, &WIDGETS, "parent_id", &q).await.unwrap();
            assert_eq!(ordinals(&page.rows), want, "{l}: {what}");
            assert_eq!(page.total, Some(4), "{l}: {what}: three parents and no parent");
            for size in [1u64, 3] {
                let mut walked = Vec::new();
                let mut after = None;
                loop {
                    let q = ListQuery { sorts: sorts.clone(), ..ListQuery::new(Page::After { after, limit: size }) };
                    let page = s.list_first_per(fx.a, &WIDGETS, "parent_id", &q).await.unwrap();
                    walked.extend(ordinals(&page.rows));
                    match page.next {
                        Some(c) => after = Some(c),
                        None => break,
                    }
                }
                assert_eq!(walked, want, "{l}: {what}: keyset pages of {size}");
                let q = ListQuery { sorts: sorts.clone(), ..ListQuery::new(Page::Offset { offset: 1, limit: 2 }) };
                let page = s.list_first_per(fx.a, &WIDGETS, "parent_id", &q).await.unwrap();
                assert_eq!(ordinals(&page.rows), want[1..3], "{l}: {what}: an offset page");
            }
        }
        // The filter applies before the first row is picked.
        let q = ListQuery::all().filter(Filter::cmp("score", Op::Gte, 6)).sort(Sort::asc("score")).with_total();
        let page = s.list_first_per(fx.a, &WIDGETS, "parent_id", &q).await.unwrap();
        assert_eq!(ordinals(&page.rows), vec![6, 1], "{l}");
        assert_eq!(page.total, Some(2), "{l}");
        let q = ListQuery::all().filter(Filter::In { field: c("parent_id"), values: vec![p2.into(), p3.into()] });
        let page = s.list_first_per(fx.a, &WIDGETS, "parent_id", &q.sort(Sort::desc("name"))).await.unwrap();
        assert_eq!(ordinals(&page.rows), vec![7, 5], "{l}");
        let _ = p1;
        let q = ListQuery::all();
        assert!(matches!(s.list_first_per(fx.a, &WIDGETS, "nope", &q).await, Err(StoreError::Query(_))), "{l}");
        db.finish().await;
    }
}

#[tokio::test]
async fn fill_column_fills_an_added_column_quietly() {
    for db in backends().await {
        let s = &db.store;
        let l = db.label;
        let a = s.create_account("a").await.unwrap();
        let b = s.create_account("b").await.unwrap();
        let old_a = insert_widgets(s, a, &[W::new(1, "one"), W::new(2, "two")]).await;
        let old_b = insert_widgets(s, b, &[W::new(3, "three")]).await;
        let mut tx = s.begin(a, None).await.unwrap();
        assert!(tx.delete(&WIDGETS, old_a[1].id).await.unwrap());
        tx.commit().await.unwrap();
        s.migrate(&[&WIDGETS_V2, &PARENTS]).await.unwrap();
        let events_before = (all_events(s, a).await, all_events(s, b).await);
        let derive = |r: &kith_store::Row| match &r.values[1] {
            Value::Text(name) => Ok(Value::Text(format!("note of {name}"))),
            other => Err(format!("name is {other:?}")),
        };
        let empty = || Value::Text(String::new());
        assert_eq!(s.fill_column(&WIDGETS_V2, "note", empty(), derive).await.unwrap(), 3, "{l}");
        for (acct, row) in [(a, &old_a[0]), (a, &old_a[1]), (b, &old_b[0])] {
            let got = s.get(acct, &WIDGETS_V2, row.id, Visibility::All).await.unwrap().unwrap();
            let name = row.values[1].as_text().unwrap();
            assert_eq!(got.values[10], Value::Text(format!("note of {name}")), "{l}");
            assert_eq!(
                got.updated_at,
                s.get(acct, &WIDGETS, row.id, Visibility::All).await.unwrap().unwrap().updated_at
            );
        }
        assert_eq!((all_events(s, a).await, all_events(s, b).await), events_before, "{l}: no events");
        assert_eq!(s.fill_column(&WIDGETS_V2, "note", empty(), derive).await.unwrap(), 0, "{l}: nothing left");
        // A derivation that gives the empty value would never end: refused.
        let mut v = W::new(4, "new").values();
        v.extend([empty(), Value::Null]);
        let mut tx = s.begin(a, None).await.unwrap();
        tx.insert(&WIDGETS_V2, v).await.unwrap();
        tx.commit().await.unwrap();
        assert!(s.fill_column(&WIDGETS_V2, "note", empty(), |_| Ok(empty())).await.is_err(), "{l}");
        db.finish().await;
    }
}
