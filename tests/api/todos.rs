//! `/api/todos` and its sub-resources.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{T0, TestApp};

crate::on_both_backends!(
    create_then_read_back,
    status_only_update_keeps_other_fields,
    every_field_of_an_update_is_stored,
    unknown_id_is_created_or_rejected_without_content,
    list_filters,
    batch_is_all_or_nothing,
    hierarchy_rules_are_400s,
    subtasks_inherit_and_respect_depth,
    comments_round_trip,
    sprint_links_and_auto_assignment,
    bad_bodies_name_the_field,
    concurrent_writes_fail_alone,
);

async fn create_then_read_back(app: TestApp) {
    let r = app.post("/api/todos", json!({"content": "Write docs", "priority": "high", "agent": "ann", "project": "docs"})).await;
    assert_eq!(r.status, StatusCode::OK);
    let todo = &r.body["todo"];
    let id = todo["id"].as_str().unwrap();
    assert!(id.starts_with("todo_"));
    assert_eq!(todo["status"], "pending");
    assert_eq!(todo["created_at"], T0);
    assert_eq!(r.body["auto_sprint_id"], Value::Null);

    let listed = app.get("/api/todos").await;
    assert_eq!(listed.body["todos"].as_array().unwrap().len(), 1);
    let first = &listed.body["todos"][0];
    assert_eq!(first["content"], "Write docs");
    assert_eq!(first["comment_count"], 0);
    assert_eq!(first["sprints"], json!([]));
    let lookup = app.get(&format!("/api/todos?id={id}")).await;
    assert_eq!(lookup.body, json!({"id": id, "content": "Write docs", "status": "pending", "priority": "high"}));
    assert_eq!(app.get("/api/todos?id=nope").await.status, StatusCode::NOT_FOUND);
    // the project was recorded and the creation is in the event log with its project
    let projects = app.get("/api/settings/projects").await;
    assert_eq!(projects.body["projects"][0]["id"], "docs");
    let events = app.events().await;
    let created = events.iter().find(|e| e.name == "todo:created").expect("todo:created event");
    assert_eq!(created.project.as_deref(), Some("docs"));
    assert_eq!(created.payload["todo"]["id"], id);
    assert_eq!(app.count("todo_status_history").await, 1);
}

async fn status_only_update_keeps_other_fields(app: TestApp) {
    let id = app.post("/api/todos", json!({"content": "x", "priority": "high", "agent": "ann", "project": "p"})).await.body["todo"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.clock.advance_secs(60);
    let r = app.post("/api/todos", json!({"id": id, "status": "completed"})).await;
    assert_eq!(r.status, StatusCode::OK);
    let todo = &r.body["todo"];
    assert_eq!(
        (todo["status"].as_str(), todo["priority"].as_str(), todo["agent"].as_str()),
        (Some("completed"), Some("high"), Some("ann"))
    );
    assert_eq!(todo["completed_at"], T0 + 60);
    assert_eq!(todo["updated_at"], T0 + 60);
    assert_eq!(app.count("todo_status_history").await, 2);
    // an update without a status change adds no history
    app.post("/api/todos", json!({"id": id, "content": "y"})).await;
    assert_eq!(app.count("todo_status_history").await, 2);
    let names: Vec<String> = app.events().await.into_iter().map(|e| e.name).collect();
    assert_eq!(names.iter().filter(|n| *n == "todo:updated").count(), 2);
}

/// An update writes only the columns that changed (docs/decisions.md#upserts); each one that
/// changes is stored, and one that is sent again unchanged stays as it was.
async fn every_field_of_an_update_is_stored(app: TestApp) {
    app.post("/api/todos", json!({"id": "parent", "content": "parent"})).await;
    let first = json!({"id": "t", "content": "a", "name": "n1", "session_id": "s1", "agent": "ann", "project": "p1", "priority": "low"});
    assert_eq!(app.post("/api/todos", first).await.status, StatusCode::OK);
    app.clock.advance_secs(60);
    let every = json!({"id": "t", "content": "b", "name": "n2", "session_id": "s2", "status": "completed", "priority": "high",
        "agent": "bob", "project": "p2", "parent_id": "parent"});
    let answered = app.post("/api/todos", every).await.body["todo"].clone();
    let stored = ocd::db::todos::find(&app.app.db.read, "t").await.unwrap().unwrap();
    assert_eq!(serde_json::to_value(&stored).unwrap(), answered);
    assert_eq!(
        answered,
        json!({"id": "t", "content": "b", "name": "n2", "session_id": "s2", "status": "completed", "priority": "high", "agent": "bob",
            "project": "p2", "parent_id": "parent", "completed_at": T0 + 60, "created_at": T0, "updated_at": T0 + 60})
    );
    // The same values again, a minute later: only updated_at moves.
    app.clock.advance_secs(60);
    let again = json!({"id": "t", "content": "b", "name": "n2", "session_id": "s2", "status": "completed", "priority": "high",
        "agent": "bob", "project": "p2", "parent_id": "parent"});
    app.post("/api/todos", again).await;
    let stored_again = ocd::db::todos::find(&app.app.db.read, "t").await.unwrap().unwrap();
    assert_eq!(stored_again.updated_at, T0 + 120);
    assert_eq!(ocd::domain::todos::Todo { updated_at: T0 + 60, ..stored_again }, stored);
    // Clearing a field stores NULL.
    app.post("/api/todos", json!({"id": "t", "agent": null, "parent_id": null})).await;
    let cleared = ocd::db::todos::find(&app.app.db.read, "t").await.unwrap().unwrap();
    assert_eq!((cleared.agent, cleared.parent_id), (None, None));
}

async fn unknown_id_is_created_or_rejected_without_content(app: TestApp) {
    let r = app.post("/api/todos", json!({"id": "mine", "content": "hello"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["todo"]["id"], "mine");
    let r = app.post("/api/todos", json!({"id": "ghost", "status": "completed"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["details"][0]["path"], json!(["content"]));
    assert_eq!(app.count("todos").await, 1);
}

async fn list_filters(app: TestApp) {
    app.put(
        "/api/todos",
        json!({"todos": [
            {"id": "a", "content": "a", "status": "pending", "session_id": "s1", "project": "p1"},
            {"id": "b", "content": "b", "status": "in_progress", "session_id": "s2", "project": "p2"},
            {"id": "c", "content": "c", "status": "completed", "parent_id": "a", "project": "p1"},
        ]}),
    )
    .await;
    let ids = |r: crate::harness::Reply| -> Vec<String> {
        let mut v: Vec<String> = r.body["todos"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(ids(app.get("/api/todos?session_id=s1").await), ["a"]);
    assert_eq!(ids(app.get("/api/todos?project=p1").await), ["a", "c"]);
    assert_eq!(ids(app.get("/api/todos?parent_id=a").await), ["c"]);
    assert_eq!(ids(app.get("/api/todos?top_level=true").await), ["a", "b"]);
    assert_eq!(ids(app.get("/api/todos?status=pending,completed").await), ["a", "c"]);
    assert_eq!(ids(app.get("/api/todos?status=pending&status=completed").await), ["a"], "first value wins");
    app.clock.advance_secs(100);
    app.post("/api/todos", json!({"id": "b", "status": "blocked"})).await;
    assert_eq!(ids(app.get(&format!("/api/todos?since={}", T0 + 50)).await), ["b"]);
}

async fn batch_is_all_or_nothing(app: TestApp) {
    let r = app
        .put(
            "/api/todos",
            json!({"todos": [
                {"id": "ok1", "content": "fine"},
                {"id": "bad", "content": "orphan", "parent_id": "missing"},
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"].as_str().unwrap().contains("Parent todo with id missing not found"), "{}", r.body);
    assert_eq!(app.count("todos").await, 0, "nothing of a failed batch is kept");
    assert!(app.events().await.is_empty());

    let r = app.put("/api/todos", json!({"todos": [{"id": "x", "content": "1"}, {"id": "x", "status": "completed"}]})).await;
    assert_eq!(r.body["results"], json!([{"id": "x", "action": "created"}, {"id": "x", "action": "updated"}]));
    assert_eq!(app.put("/api/todos", json!({"todos": []})).await.body, json!({"results": []}));
    let r = app.put("/api/todos", json!({"todos": [{"content": "no id"}]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["details"][0]["path"], json!(["todos", 0, "id"]));
}

async fn hierarchy_rules_are_400s(app: TestApp) {
    app.put(
        "/api/todos",
        json!({"todos": [
            {"id": "d0", "content": "0"},
            {"id": "d1", "content": "1", "parent_id": "d0"},
            {"id": "d2", "content": "2", "parent_id": "d1"},
            {"id": "d3", "content": "3", "parent_id": "d2"},
            {"id": "m0", "content": "m0"},
            {"id": "m1", "content": "m1", "parent_id": "m0"},
        ]}),
    )
    .await;
    let too_deep = app.post("/api/todos", json!({"content": "4", "parent_id": "d3"})).await;
    assert_eq!((too_deep.status, too_deep.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("Maximum todo depth exceeded")));
    let cycle = app.post("/api/todos", json!({"id": "d0", "parent_id": "d2"})).await;
    assert_eq!(cycle.body["error"], "Circular todo parent relationship is not allowed");
    let own = app.post("/api/todos", json!({"id": "d1", "parent_id": "d1"})).await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
    // moving m0 (one level below it) under d2 would put m1 at depth 4
    let subtree = app.post("/api/todos", json!({"id": "m0", "parent_id": "d2"})).await;
    assert_eq!(subtree.body["error"], "Maximum todo depth exceeded");
    // under d1 it fits: m0 at depth 2, m1 at depth 3
    assert_eq!(app.post("/api/todos", json!({"id": "m0", "parent_id": "d1"})).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/todos?parent_id=d1").await.body["todos"].as_array().unwrap().len(), 2);
}

async fn subtasks_inherit_and_respect_depth(app: TestApp) {
    app.post("/api/todos", json!({"id": "root", "content": "r", "session_id": "ses", "project": "p"})).await;
    let r = app.post("/api/todos/root/subtasks", json!({"content": "child", "priority": "low"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let child = &r.body["todo"];
    assert_eq!(
        (child["parent_id"].as_str(), child["session_id"].as_str(), child["project"].as_str()),
        (Some("root"), Some("ses"), Some("p"))
    );
    let list = app.get("/api/todos/root/subtasks").await;
    assert_eq!(list.body["subtasks"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/api/todos/none/subtasks").await.body, json!({"subtasks": []}));
    assert_eq!(app.post("/api/todos/none/subtasks", json!({"content": "x"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post("/api/todos/root/subtasks", json!({"content": ""})).await.status, StatusCode::BAD_REQUEST);
    let mut parent = child["id"].as_str().unwrap().to_string();
    for _ in 0..2 {
        parent = app.post(&format!("/api/todos/{parent}/subtasks"), json!({"content": "deeper"})).await.body["todo"]["id"]
            .as_str()
            .unwrap()
            .to_string();
    }
    let r = app.post(&format!("/api/todos/{parent}/subtasks"), json!({"content": "too deep"})).await;
    assert_eq!((r.status, r.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("Maximum todo depth exceeded")));
}

async fn comments_round_trip(app: TestApp) {
    app.post("/api/todos", json!({"id": "t", "content": "x", "project": "p"})).await;
    let r = app.post("/api/todos/t/comments", json!({"body": "first"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["comment"]["author"], "anonymous");
    app.post("/api/todos/t/comments", json!({"body": "second", "author": "ann"})).await;
    let list = app.get("/api/todos/t/comments").await;
    let bodies: Vec<&str> = list.body["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["first", "second"]);
    assert_eq!(app.get("/api/todos").await.body["todos"][0]["comment_count"], 2);
    assert_eq!(app.get("/api/todos/zz/comments").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post("/api/todos/zz/comments", json!({"body": "x"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post("/api/todos/t/comments", json!({"body": ""})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.post("/api/todos/t/comments", json!({"body": "x", "author": ""})).await.status, StatusCode::BAD_REQUEST);
    let events = app.events().await;
    assert_eq!(events.iter().filter(|e| e.name == "comment:created" && e.project.as_deref() == Some("p")).count(), 2);
}

async fn sprint_links_and_auto_assignment(app: TestApp) {
    let sprint = app.post("/api/sprints", json!({"name": "S1", "start_date": T0 - 10, "end_date": T0 + 86_400, "status": "active"})).await;
    let sprint_id = sprint.body["sprint"]["id"].as_str().unwrap().to_string();
    let r = app.post("/api/todos", json!({"content": "joins the sprint"})).await;
    assert_eq!(r.body["auto_sprint_id"], sprint_id.as_str());
    // batch-created todos join it too (fixes decisions.md#upserts)
    app.put("/api/todos", json!({"todos": [{"id": "b1", "content": "batch"}]})).await;
    // and so do subtasks: every way of creating a todo applies the same rule
    let parent = r.body["todo"]["id"].as_str().unwrap().to_string();
    let child = app.post(&format!("/api/todos/{parent}/subtasks"), json!({"content": "sub"})).await;
    assert_eq!(child.status, StatusCode::CREATED);
    let child_id = child.body["todo"]["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/todos/{child_id}/sprints")).await.body["sprints"][0]["id"], sprint_id.as_str());
    let linked = app.get(&format!("/api/todos?sprint_id={sprint_id}")).await;
    assert_eq!(linked.body["todos"].as_array().unwrap().len(), 3);
    assert_eq!(linked.body["todos"][0]["sprints"], json!([{"id": sprint_id, "name": "S1"}]));

    app.post("/api/todos", json!({"id": "solo", "content": "x", "sprint_id": sprint_id})).await;
    assert_eq!(app.get("/api/todos/solo/sprints").await.body["sprints"][0]["id"], sprint_id.as_str());
    let r = app.delete("/api/todos/solo/sprints", json!({"sprint_id": sprint_id})).await;
    assert_eq!(r.body, json!({"ok": true}));
    assert_eq!(app.get("/api/todos/solo/sprints").await.body["sprints"], json!([]));
    assert_eq!(app.post("/api/todos/solo/sprints", json!({"sprint_id": sprint_id})).await.body, json!({"ok": true}));
    assert_eq!(app.post("/api/todos/solo/sprints", json!({"sprint_id": "nope"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post("/api/todos/nope/sprints", json!({"sprint_id": sprint_id})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/todos/nope/sprints").await.status, StatusCode::NOT_FOUND);
    // an unknown sprint on a todo write leaves nothing behind (fixes decisions.md#upserts)
    let r = app.post("/api/todos", json!({"id": "late", "content": "x", "sprint_id": "missing"})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/todos?id=late").await.status, StatusCode::NOT_FOUND);
}

async fn bad_bodies_name_the_field(app: TestApp) {
    let cases = [
        (json!({"content": "x", "status": "done"}), "status", "invalid_value"),
        (json!({"content": "x", "priority": 3}), "priority", "invalid_type"),
        (json!({"content": 5}), "content", "invalid_type"),
        (json!({"content": "x", "status": null}), "status", "invalid_type"),
    ];
    for (body, field, code) in cases {
        let r = app.post("/api/todos", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.body["error"], "Invalid request body");
        assert_eq!(r.body["details"][0]["path"][0], field, "{body}: {}", r.body);
        assert_eq!(r.body["details"][0]["code"], code, "{body}: {}", r.body);
    }
    let raw = app.send(app.raw(reqwest::Method::POST, "/api/todos").bearer_auth(&app.key).body("{not json")).await;
    assert_eq!((raw.status, raw.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("Invalid request body")));
    assert_eq!(app.count("todos").await, 0);
}

async fn concurrent_writes_fail_alone(app: TestApp) {
    // Writes that share a commit group: the invalid ones (unknown parent) are rolled back
    // alone; every acknowledged one is stored with its event.
    let requests = (0..120).map(|i| {
        let body = if i % 3 == 0 {
            json!({"id": format!("bad{i}"), "content": "x", "parent_id": "missing"})
        } else {
            json!({"id": format!("ok{i}"), "content": "x"})
        };
        app.post("/api/todos", body)
    });
    let replies = futures_util::future::join_all(requests).await;
    let ok = replies.iter().filter(|r| r.status == StatusCode::OK).count();
    let bad = replies.iter().filter(|r| r.status == StatusCode::BAD_REQUEST).count();
    assert_eq!((ok, bad), (80, 40));
    assert_eq!(app.count("todos").await, 80);
    assert_eq!(app.count("todo_status_history").await, 80);
    assert_eq!(app.events().await.iter().filter(|e| e.name == "todo:created").count(), 80);
    let ids: Vec<i64> = app.events().await.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}
