//! `GET /api/settings/projects`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::App;
use crate::db::projects;
use crate::error::AppResult;

pub async fn list(State(app): State<App>) -> AppResult<Json<Value>> {
    let projects = projects::list(&app.db.read).await?;
    let usage: std::collections::HashMap<String, Value> = projects::usage(&app.db.read)
        .await?
        .into_iter()
        .map(|(id, tokens_in, tokens_out, cost_usd)| (id, json!({"tokens_in": tokens_in, "tokens_out": tokens_out, "cost_usd": cost_usd})))
        .collect();
    let zero = json!({"tokens_in": 0, "tokens_out": 0, "cost_usd": 0.0});
    let listed: Vec<Value> = projects
        .into_iter()
        .map(|p| {
            let mut v = json!(p);
            v["usage"] = usage.get(&p.id).cloned().unwrap_or_else(|| zero.clone());
            v
        })
        .collect();
    Ok(Json(json!({ "projects": listed })))
}
