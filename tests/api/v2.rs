//! `/api/v2/tasks`: the planner.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::TestApp;

crate::on_both_backends!(tasks_crud_and_merge_with_v1, v1_tasks_update_and_delete_their_todo, subtasks_crud, next_and_validate_deps);

async fn tasks_crud_and_merge_with_v1(app: TestApp) {
    let r = app.post("/api/v2/tasks", json!({"title": "Plan", "dependencies": [2, 3], "complexity_score": 3.5, "tag": "alpha"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let task = &r.body["task"];
    assert_eq!(
        (task["dependencies"].as_str(), task["status"].as_str(), task["priority"].as_str()),
        (Some("[2,3]"), Some("pending"), Some("medium"))
    );
    assert_eq!(task["complexity_score"], 3.5);
    let id = task["id"].as_i64().unwrap();
    app.post("/api/todos", json!({"id": "todo_1", "content": "legacy", "status": "icebox", "project": "alpha"})).await;

    let all = app.get("/api/v2/tasks?tag=all").await.body["tasks"].as_array().unwrap().clone();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["source"], "v2");
    assert_eq!(
        (all[1]["id"].as_i64(), all[1]["source"].as_str(), all[1]["status"].as_str(), all[1]["tag"].as_str()),
        (Some(-868386184), Some("v1"), Some("deferred"), Some("alpha"))
    );
    assert_eq!(app.get("/api/v2/tasks").await.body["tasks"].as_array().unwrap().len(), 1, "master lists no alpha tasks but every todo");
    assert_eq!(app.get("/api/v2/tasks?tag=alpha&status=deferred").await.body["tasks"].as_array().unwrap().len(), 1);

    let r = app.put("/api/v2/tasks", json!({"id": id, "status": "review", "description": null, "dependencies": "  "})).await;
    assert_eq!((r.body["task"]["status"].as_str(), &r.body["task"]["dependencies"]), (Some("review"), &Value::Null));
    assert_eq!(r.body["task"]["title"], "Plan");
    assert_eq!(app.put("/api/v2/tasks", json!({"id": 999, "title": "x"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.put("/api/v2/tasks", json!({"id": id, "title": ""})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.post("/api/v2/tasks", json!({"title": "x", "dependencies": [0]})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.post("/api/v2/tasks", json!({"description": "no title"})).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.delete("/api/v2/tasks", json!({"id": id})).await.body, json!({"success": true}));
    let gone = app.delete("/api/v2/tasks", json!({"id": id})).await;
    assert_eq!((gone.status, gone.body.clone()), (StatusCode::NOT_FOUND, json!({"success": false, "error": "Task not found"})));
}

async fn v1_tasks_update_and_delete_their_todo(app: TestApp) {
    app.post("/api/todos", json!({"id": "todo_1", "content": "legacy"})).await;
    let missing = app.put("/api/v2/tasks", json!({"id": -868386184, "status": "done"})).await;
    assert_eq!(missing.body["error"], "original_id is required for v1 task updates");
    let mismatched = app.put("/api/v2/tasks", json!({"id": -5, "original_id": "todo_1", "status": "done"})).await;
    assert_eq!(mismatched.status, StatusCode::BAD_REQUEST, "ids are checked against original_id (decisions.md#work-items)");
    let r = app.put("/api/v2/tasks", json!({"id": -868386184, "original_id": "todo_1", "status": "done", "priority": "high"})).await;
    assert_eq!((r.body["task"]["status"].as_str(), r.body["task"]["source"].as_str()), (Some("done"), Some("v1")));
    let todo = app.get("/api/todos?id=todo_1").await.body;
    assert_eq!((todo["status"].as_str(), todo["priority"].as_str()), (Some("completed"), Some("high")));
    assert_eq!(app.delete("/api/v2/tasks", json!({"id": -868386184})).await.body["error"], "original_id is required for v1 task deletion");
    assert_eq!(app.delete("/api/v2/tasks", json!({"id": -868386184, "original_id": "todo_1"})).await.body, json!({"success": true}));
    assert_eq!(app.count("todos").await, 0);
    assert!(app.events().await.iter().any(|e| e.name == "todo:deleted"));
}

async fn subtasks_crud(app: TestApp) {
    let id = app.post("/api/v2/tasks", json!({"title": "T"})).await.body["task"]["id"].as_i64().unwrap();
    let path = format!("/api/v2/tasks/{id}/subtasks");
    for title in ["one", "two"] {
        assert_eq!(app.post(&path, json!({"title": title})).await.status, StatusCode::CREATED);
    }
    let list = app.get(&path).await.body["subtasks"].as_array().unwrap().clone();
    assert_eq!(list.iter().map(|s| s["id"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2]);
    let r = app.put(&path, json!({"id": 2, "status": "done"})).await;
    assert_eq!((r.body["subtask"]["status"].as_str(), r.body["subtask"]["title"].as_str()), (Some("done"), Some("two")));
    assert_eq!(app.put(&path, json!({"id": 9, "status": "done"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.delete(&path, json!({"id": 1})).await.body, json!({"success": true}));
    assert_eq!(app.delete(&path, json!({"id": 1})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post(&path, json!({"title": "three"})).await.body["subtask"]["id"], 3);
    assert_eq!(app.get("/api/v2/tasks/abc/subtasks").await.body["error"], "Invalid task id");
    assert_eq!(app.post("/api/v2/tasks/999/subtasks", json!({"title": "x"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v2/tasks/999/subtasks").await.body, json!({"subtasks": []}));
}

async fn next_and_validate_deps(app: TestApp) {
    let mut ids = Vec::new();
    for (title, priority, status) in [("base", "low", "done"), ("blocked on 3", "high", "pending"), ("free", "medium", "pending")] {
        ids.push(
            app.post("/api/v2/tasks", json!({"title": title, "priority": priority, "status": status})).await.body["task"]["id"]
                .as_i64()
                .unwrap(),
        );
    }
    app.put("/api/v2/tasks", json!({"id": ids[1], "dependencies": [ids[2]]})).await;
    app.put("/api/v2/tasks", json!({"id": ids[2], "dependencies": [ids[0]]})).await;
    assert_eq!(app.get("/api/v2/tasks/next").await.body["task"]["title"], "free");
    assert_eq!(app.get("/api/v2/tasks/next?tag=empty").await.body, json!({"task": null}));
    assert_eq!(app.post("/api/v2/tasks/validate-deps", json!({})).await.body, json!({"valid": true, "issues": []}));
    app.put("/api/v2/tasks", json!({"id": ids[0], "dependencies": [ids[1]]})).await;
    let r = app.post("/api/v2/tasks/validate-deps", json!({"tag": "master"})).await.body;
    assert_eq!(r["valid"], false);
    assert!(r["issues"][0].as_str().unwrap().starts_with("Dependency cycle detected: "), "{r}");
    assert_eq!(app.post("/api/v2/tasks/validate-deps", json!([1])).await.status, StatusCode::BAD_REQUEST);
}
