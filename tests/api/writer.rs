//! The group-commit writer and its own connection (decisions.md#group-commit, #writer-connection):
//! units grouped in one transaction stay independent, statements bind and answer the same on both
//! databases, and a lost PostgreSQL connection costs no write.

use ocd::db::WriteConn;
use ocd::error::AppError;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::TestApp;

crate::on_both_backends!(a_failing_unit_is_rolled_back_alone, statements_bind_and_answer_alike, a_duplicate_id_is_a_conflict);

async fn setting(app: &TestApp, key: &str) -> Option<String> {
    ocd::db::settings::get(&app.app.db.read, key).await.unwrap()
}

/// Twenty units queued behind a held one commit as one group; the ones that fail (or panic)
/// after writing leave nothing behind, their neighbours keep everything.
async fn a_failing_unit_is_rolled_back_alone(app: TestApp) {
    let db = app.app.db.clone();
    let (go, held) = tokio::sync::oneshot::channel::<()>();
    let (running, started) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn({
        let db = db.clone();
        async move {
            db.write(move |_| {
                Box::pin(async move {
                    let _ = running.send(());
                    held.await.map_err(|_| AppError::internal("dropped"))
                })
            })
            .await
        }
    });
    started.await.unwrap();
    let units: Vec<_> = (0..20)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(move |c: &mut WriteConn| {
                    Box::pin(async move {
                        ocd::db::settings::put(c, &format!("unit-{i}"), "written", 0).await?;
                        match i {
                            7 => panic!("unit 7 fails hard"),
                            i if i % 2 == 1 => Err(AppError::BadRequest(format!("unit {i} refuses"))),
                            _ => Ok(i),
                        }
                    })
                })
                .await
            })
        })
        .collect();
    while db.write_stats().queued < 20 {
        tokio::task::yield_now().await;
    }
    go.send(()).unwrap();
    holder.await.unwrap().unwrap();
    for (i, unit) in units.into_iter().enumerate() {
        let answer = unit.await.unwrap();
        let stored = setting(&app, &format!("unit-{i}")).await;
        match i {
            7 => assert!(matches!(answer, Err(AppError::Internal(_))), "{answer:?}"),
            i if i % 2 == 1 => assert!(matches!(&answer, Err(AppError::BadRequest(m)) if *m == format!("unit {i} refuses")), "{answer:?}"),
            _ => assert_eq!(answer.unwrap(), i),
        }
        assert_eq!(stored.as_deref(), (i % 2 == 0).then_some("written"), "unit {i}");
    }
    let stats = db.write_stats();
    let (_, up_to_16) = stats.size_buckets[4];
    let (_, up_to_32) = stats.size_buckets[5];
    assert_eq!(up_to_32 - up_to_16, 1, "the twenty units committed as one group: {stats:?}");
    // The writer goes on after the panic.
    assert_eq!(app.post("/api/todos", json!({"content": "after"})).await.status, StatusCode::OK);
}

/// `$n` names the n-th argument wherever it appears; text, integers, reals and NULL come back
/// as they went in; an UPDATE reports the rows it changed, `RETURNING` gives rows.
async fn statements_bind_and_answer_alike(app: TestApp) {
    let answer = app
        .app
        .db
        .write(|c| {
            Box::pin(async move {
                let joined: String = sqlx::query_scalar("SELECT $2 || $1 || $1").bind("a").bind("b").fetch_one(&mut *c).await?;
                let row: (Option<String>, i64, f64, String) = sqlx::query_as("SELECT $1, $2, $3, $4")
                    .bind(None::<String>)
                    .bind(i64::MAX)
                    .bind(0.25f64)
                    .bind("ünïcödé ✓")
                    .fetch_one(&mut *c)
                    .await?;
                ocd::db::settings::put(c, "bind", "one", 0).await?;
                let changed =
                    sqlx::query("UPDATE settings SET value = $1 WHERE key = $2").bind("two").bind("bind").execute(&mut *c).await?;
                let unchanged =
                    sqlx::query("UPDATE settings SET value = $1 WHERE key = $2").bind("x").bind("missing").execute(&mut *c).await?;
                let returned: Vec<String> = sqlx::query_scalar("UPDATE settings SET value = $1 WHERE key = $2 RETURNING value")
                    .bind("three")
                    .bind("bind")
                    .fetch_all(&mut *c)
                    .await?;
                Ok((joined, row, changed.rows_affected(), unchanged.rows_affected(), returned))
            })
        })
        .await
        .unwrap();
    assert_eq!(answer, ("baa".to_string(), (None, i64::MAX, 0.25, "ünïcödé ✓".to_string()), 1, 0, vec!["three".to_string()]));
    assert_eq!(setting(&app, "bind").await.as_deref(), Some("three"));
}

/// A unique-constraint violation inside the writer is a conflict the client can act on (409), on
/// SQLite's own connection as on PostgreSQL's.
async fn a_duplicate_id_is_a_conflict(app: TestApp) {
    assert_eq!(app.post("/api/todos", json!({"id": "twice", "content": "one"})).await.status, StatusCode::OK);
    let todo = ocd::db::todos::find(&app.app.db.read, "twice").await.unwrap().unwrap();
    let again = app.app.db.write(move |c| Box::pin(async move { Ok(ocd::db::todos::insert(c, &todo).await?) })).await;
    assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");
}

/// PostgreSQL ended the writer's session (a restart, an administrator, a failover): the next
/// write reopens the connection and succeeds — no request fails for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_postgres_connection_is_reopened() {
    let Some(app) = TestApp::spawn(crate::harness::Backend::Postgres).await else { return };
    let backend_pid = || {
        app.app.db.write(|c| Box::pin(async move { Ok(sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()").fetch_one(&mut *c).await?) }))
    };
    let before = backend_pid().await.unwrap();
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(before).fetch_one(&app.app.db.read).await.unwrap();
    assert!(ended);
    let reply = app.post("/api/todos", json!({"content": "after the restart"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_ne!(backend_pid().await.unwrap(), before);
}

/// An in-memory SQLite database would be one database for the writer and another for each reader:
/// refused at start, with the reason.
#[tokio::test]
async fn an_in_memory_sqlite_url_is_refused() {
    for url in ["sqlite::memory:", "sqlite://ocd.db?mode=memory"] {
        let refused = ocd::db::Db::connect(url, ocd::db::affinity::WriterCpu::Off).await.map(|_| ()).unwrap_err();
        assert!(refused.contains("in-memory SQLite database cannot be shared"), "{url}: {refused}");
    }
}

/// The writer's own SQLite connection carries the settings durability and integrity rest on
/// (decisions.md#acknowledged-writes, #writer-connection): WAL, synchronous=NORMAL, foreign keys,
/// and its savepoint journals in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_writer_connection_has_the_settings() {
    let Some(app) = TestApp::spawn(crate::harness::Backend::Sqlite).await else { return };
    let settings: String = app
        .app
        .db
        .write(|c| {
            Box::pin(async move {
                Ok(sqlx::query_scalar(
                    "SELECT journal_mode || ' ' || (SELECT synchronous FROM pragma_synchronous) || ' ' || \
                     (SELECT foreign_keys FROM pragma_foreign_keys) || ' ' || (SELECT timeout FROM pragma_busy_timeout) || ' ' || \
                     (SELECT temp_store FROM pragma_temp_store) FROM pragma_journal_mode",
                )
                .fetch_one(&mut *c)
                .await?)
            })
        })
        .await
        .unwrap();
    // synchronous 1 = NORMAL, temp_store 2 = MEMORY.
    assert_eq!(settings, "wal 1 1 5000 2");
}
