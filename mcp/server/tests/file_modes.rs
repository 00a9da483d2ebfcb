//! File modes (issue 12, item 7): the team home is 0700; the database, its -wal/-shm and the
//! log files are 0600, whatever the umask; files found looser are fixed on open, with a
//! warning. Runs the real stdio server (`codex-teams-mcp`) as a child with umask 000.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use rmcp::ServiceExt;
use rmcp::model::ClientConfig;
use rmcp::transport::TokioChildProcess;
use serde_json::json;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// One session of the real server on the default database in `home`, logging to
/// `home/logs`, with umask 000 (so any mode not set on purpose would be world-readable).
/// Returned open: SQLite removes the -wal and -shm when the last connection closes.
async fn one_session(home: &Path) -> Client {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_codex-teams-mcp"));
    cmd.env("CODEX_TEAMS_HOME", home)
        .env_remove("CODEX_TEAMS_DB")
        .env("CODEX_TEAMS_LOG", "info")
        .arg("--log-dir")
        .arg(home.join("logs"));
    // SAFETY: umask is async-signal-safe and touches only the child's own state.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::stat::umask(nix::sys::stat::Mode::empty());
            Ok(())
        });
    }
    let (child, _) = TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn codex-teams-mcp");
    let lead = ClientConfig::default()
        .serve(child)
        .await
        .expect("handshake");
    ok(&lead, "team_start", json!({"goal": "modes"})).await;
    ok(&lead, "task_create", json!({"title": "t"})).await;
    lead
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_home_db_and_logs_are_owner_only_and_fixed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("nested").join(".codex-teams");
    let lead = one_session(&home).await;

    let db = home.join("teams.db");
    let files = [
        db.clone(),
        home.join("teams.db-wal"),
        home.join("teams.db-shm"),
        home.join("logs").join("mcp.jsonl"),
    ];
    assert_eq!(mode(&home), 0o700, "team home");
    assert_eq!(mode(&home.join("logs")), 0o700, "log dir");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    lead.cancel().await.ok();
    // Let the child exit (its last connection removes the -wal and -shm).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // Someone loosened them (and left a stray -wal/-shm): the next open tightens them and
    // says so.
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in &files {
        if !f.exists() {
            std::fs::write(f, b"").unwrap();
        }
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o666)).unwrap();
    }
    let lead = one_session(&home).await;
    assert_eq!(mode(&home), 0o700, "team home after reopen");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{} after reopen", f.display());
    }
    lead.cancel().await.ok();
    // Let the child exit and flush its log.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(home.join("logs").join("mcp.jsonl")).unwrap();
    let warned: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("file.mode_fixed"))
        .collect();
    assert!(
        warned.iter().any(|l| l.contains("teams.db")),
        "no warning for the database: {log}"
    );
    assert!(
        warned.iter().any(|l| l.contains("\"WARN\"")),
        "fixes are warnings: {warned:?}"
    );
}
