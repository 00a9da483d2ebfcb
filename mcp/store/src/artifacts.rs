//! Artifacts: named, versioned documents. Each publish adds version n+1 of the name; the
//! content goes into `blobs` keyed by its SHA-256, so identical content is stored once per
//! team however many versions or names point at it.

use rusqlite::{Connection, OptionalExtension, Row, params};
use sha2::{Digest, Sha256};

use crate::events::log_event;
use crate::ids::{new_id, now_ms, prefix};
use crate::store::{ensure_member, ensure_team, require_text, within_limit};
use crate::*;

const REF_COLS: &str = "a.artifact_id, a.team_id, a.name, v.version, v.sha256, v.size, v.summary, v.author, v.created_at";

fn ref_row(r: &Row<'_>) -> rusqlite::Result<ArtifactRef> {
    Ok(ArtifactRef {
        artifact_id: r.get(0)?,
        team_id: r.get(1)?,
        name: r.get(2)?,
        version: r.get(3)?,
        sha256: r.get(4)?,
        size: r.get::<_, i64>(5)? as usize,
        summary: r.get(6)?,
        author: r.get(7)?,
        created_at: r.get(8)?,
    })
}

/// Lowercase hex SHA-256 of `content`: the checksum agents quote in artifact references.
pub fn sha256_hex(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// The newest version of an artifact of the team, `None` when it has none.
fn latest_version(c: &Connection, artifact_id: &str) -> StoreResult<Option<u32>> {
    let v: Option<u32> = c
        .prepare_cached("SELECT max(version) FROM artifact_versions WHERE artifact_id = ?1")?
        .query_row([artifact_id], |r| r.get(0))?;
    Ok(v)
}

/// The artifact's id if it belongs to the team; `NotFound` otherwise.
fn artifact_in_team(c: &Connection, team_id: &str, artifact_id: &str) -> StoreResult<()> {
    let found = c
        .prepare_cached("SELECT 1 FROM artifacts WHERE team_id = ?1 AND artifact_id = ?2")?
        .query_row(params![team_id, artifact_id], |_| Ok(()))
        .optional()?;
    match found {
        Some(()) => Ok(()),
        None => {
            ensure_team(c, team_id)?;
            Err(StoreError::NotFound {
                kind: "artifact",
                id: artifact_id.to_string(),
            })
        }
    }
}

/// Resolves `version` (newest when `None`) of a team's artifact to a version that exists;
/// used where a task records its result.
pub(crate) fn existing_version(
    c: &Connection,
    team_id: &str,
    artifact_id: &str,
    version: Option<u32>,
) -> StoreResult<u32> {
    artifact_in_team(c, team_id, artifact_id)?;
    let latest = latest_version(c, artifact_id)?.unwrap_or(0);
    match version {
        None if latest > 0 => Ok(latest),
        Some(v) if v >= 1 && v <= latest => Ok(v),
        _ => Err(StoreError::NotFound {
            kind: "artifact version",
            id: format!("{artifact_id} v{}", version.unwrap_or(latest)),
        }),
    }
}

fn load_ref(c: &Connection, artifact_id: &str, version: u32) -> StoreResult<ArtifactRef> {
    let r = c
        .prepare_cached(&format!(
            "SELECT {REF_COLS} FROM artifacts a
             JOIN artifact_versions v ON v.artifact_id = a.artifact_id
             WHERE a.artifact_id = ?1 AND v.version = ?2"
        ))?
        .query_row(params![artifact_id, version], ref_row)?;
    Ok(r)
}

fn read(
    c: &Connection,
    team_id: &str,
    artifact_id: &str,
    version: Option<u32>,
) -> StoreResult<Artifact> {
    let version = existing_version(c, team_id, artifact_id, version)?;
    let meta = load_ref(c, artifact_id, version)?;
    let content: String = c
        .prepare_cached("SELECT content FROM blobs WHERE team_id = ?1 AND sha256 = ?2")?
        .query_row(params![team_id, meta.sha256], |r| r.get(0))?;
    Ok(Artifact { meta, content })
}

impl Store {
    /// Publishes a new version of the named artifact. Naming a `parent_version` that is not
    /// the newest is a conflict (someone published in between); content over the artifact
    /// limit is `TooLarge`. Content is stored once per checksum.
    pub fn publish_artifact(
        &self,
        team_id: &str,
        author: &str,
        new: NewArtifact,
    ) -> StoreResult<ArtifactRef> {
        require_text("artifact name", &new.name)?;
        within_limit(
            "artifact content",
            &new.content,
            self.opts.max_artifact_bytes,
        )?;
        within_limit("artifact summary", &new.summary, self.opts.max_body_bytes)?;
        let sha256 = sha256_hex(new.content.as_bytes());
        let now = now_ms();
        self.write(|c| {
            ensure_member(c, team_id, author)?;
            let existing = c
                .prepare_cached("SELECT artifact_id FROM artifacts WHERE team_id = ?1 AND name = ?2")?
                .query_row(params![team_id, new.name], |r| r.get::<_, String>(0))
                .optional()?;
            let (artifact_id, latest) = match existing {
                Some(id) => {
                    let latest = latest_version(c, &id)?.unwrap_or(0);
                    (id, latest)
                }
                None => {
                    let id = new_id(prefix::ARTIFACT);
                    c.prepare_cached(
                        "INSERT INTO artifacts (artifact_id, team_id, name, created_at)
                         VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![id, team_id, new.name, now])?;
                    (id, 0)
                }
            };
            if let Some(parent) = new.parent_version
                && parent != latest
            {
                return Err(StoreError::Conflict(format!(
                    "artifact '{}' is at version {latest}; parent_version {parent} is stale, \
                     read the newest version and publish on top of it",
                    new.name
                )));
            }
            c.prepare_cached(
                "INSERT OR IGNORE INTO blobs (team_id, sha256, size, content) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![team_id, sha256, new.content.len() as i64, new.content])?;
            let version = latest + 1;
            c.prepare_cached(
                "INSERT INTO artifact_versions (artifact_id, version, team_id, sha256, size,
                                                summary, author, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                artifact_id,
                version,
                team_id,
                sha256,
                new.content.len() as i64,
                new.summary,
                author,
                now
            ])?;
            let published = serde_json::json!({ "artifact_id": artifact_id, "name": new.name,
                "version": version, "bytes": new.content.len(), "sha256": sha256 });
            log_event(c, team_id, Some(author), "artifact.published", &published)?;
            load_ref(c, &artifact_id, version)
        })
    }

    /// Records in the event log that `reader` read this artifact version (ids and size, no
    /// content): reads are otherwise invisible, and a replay shows who used whose work.
    pub fn record_artifact_read(
        &self,
        team_id: &str,
        reader: &str,
        meta: &ArtifactRef,
    ) -> StoreResult<i64> {
        let read = serde_json::json!({ "artifact_id": meta.artifact_id, "name": meta.name,
            "version": meta.version, "bytes": meta.size, "author": meta.author });
        self.write(|c| {
            ensure_member(c, team_id, reader)?;
            artifact_in_team(c, team_id, &meta.artifact_id)?;
            log_event(c, team_id, Some(reader), "artifact.read", &read)
        })
    }

    /// One version (the newest with `None`) with its content.
    pub fn read_artifact(
        &self,
        team_id: &str,
        artifact_id: &str,
        version: Option<u32>,
    ) -> StoreResult<Artifact> {
        self.read(|c| read(c, team_id, artifact_id, version))
    }

    /// Like [`Store::read_artifact`], by the name agents publish under.
    pub fn read_artifact_by_name(
        &self,
        team_id: &str,
        name: &str,
        version: Option<u32>,
    ) -> StoreResult<Artifact> {
        self.read(|c| {
            let id = c
                .prepare_cached(
                    "SELECT artifact_id FROM artifacts WHERE team_id = ?1 AND name = ?2",
                )?
                .query_row(params![team_id, name], |r| r.get::<_, String>(0))
                .optional()?;
            match id {
                Some(id) => read(c, team_id, &id, version),
                None => {
                    ensure_team(c, team_id)?;
                    Err(StoreError::NotFound {
                        kind: "artifact named",
                        id: name.to_string(),
                    })
                }
            }
        })
    }

    /// The newest version of every artifact of the team, in order of first publication.
    pub fn list_artifacts(&self, team_id: &str) -> StoreResult<Vec<ArtifactRef>> {
        self.read(|c| {
            ensure_team(c, team_id)?;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {REF_COLS} FROM artifacts a
                 JOIN artifact_versions v ON v.artifact_id = a.artifact_id
                 WHERE a.team_id = ?1
                   AND v.version = (SELECT max(version) FROM artifact_versions
                                    WHERE artifact_id = a.artifact_id)
                 ORDER BY a.rowid"
            ))?;
            let refs = stmt
                .query_map([team_id], ref_row)?
                .collect::<Result<_, _>>()?;
            Ok(refs)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::{Fixture, assert_not_found};
    use crate::*;

    fn art(name: &str, content: &str, parent: Option<u32>) -> NewArtifact {
        NewArtifact {
            name: name.into(),
            content: content.into(),
            summary: format!("{name} summary"),
            parent_version: parent,
        }
    }

    fn blob_rows(f: &Fixture) -> i64 {
        let raw = rusqlite::Connection::open(&f.db.path).unwrap();
        raw.query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn publish_versions_and_read_back() {
        let f = Fixture::new(2);
        let (s, a, b) = (&f.store, &f.agents[0], &f.agents[1]);
        let v1 = s
            .publish_artifact(&f.team, a, art("plan", "hello", None))
            .unwrap();
        assert!(v1.artifact_id.starts_with("art-"));
        assert_eq!(
            (v1.version, v1.size, v1.author.as_str()),
            (1, 5, a.as_str())
        );
        assert_eq!(
            v1.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let v2 = s
            .publish_artifact(&f.team, b, art("plan", "hello, world", Some(1)))
            .unwrap();
        assert_eq!(
            (v2.artifact_id.as_str(), v2.version, v2.author.as_str()),
            (v1.artifact_id.as_str(), 2, b.as_str())
        );
        let v3 = s
            .publish_artifact(&f.team, a, art("plan", "latest", None))
            .unwrap();
        assert_eq!(v3.version, 3, "no parent: on top of the newest");

        let newest = s.read_artifact(&f.team, &v1.artifact_id, None).unwrap();
        assert_eq!(
            (newest.meta.clone(), newest.content.as_str()),
            (v3.clone(), "latest")
        );
        let old = s.read_artifact(&f.team, &v1.artifact_id, Some(1)).unwrap();
        assert_eq!((old.meta, old.content.as_str()), (v1.clone(), "hello"));
        let by_name = s.read_artifact_by_name(&f.team, "plan", Some(2)).unwrap();
        assert_eq!(by_name.content, "hello, world");

        let other = s
            .publish_artifact(&f.team, a, art("notes", "n", None))
            .unwrap();
        assert_eq!(s.list_artifacts(&f.team).unwrap(), vec![v3, other]);
        assert!(s.list_artifacts(&f.other_team).unwrap().is_empty());
    }

    #[test]
    fn content_is_stored_once_per_checksum() {
        let f = Fixture::new(1);
        let (s, a) = (&f.store, &f.agents[0]);
        s.publish_artifact(&f.team, a, art("x", "same bytes", None))
            .unwrap();
        s.publish_artifact(&f.team, a, art("x", "same bytes", None))
            .unwrap();
        let y = s
            .publish_artifact(&f.team, a, art("y", "same bytes", None))
            .unwrap();
        assert_eq!(blob_rows(&f), 1);
        assert_eq!(
            s.read_artifact(&f.team, &y.artifact_id, None)
                .unwrap()
                .content,
            "same bytes"
        );
        s.publish_artifact(&f.team, a, art("y", "other bytes", None))
            .unwrap();
        assert_eq!(blob_rows(&f), 2);
    }

    #[test]
    fn stale_parent_is_a_conflict() {
        let f = Fixture::new(2);
        let (s, a, b) = (&f.store, &f.agents[0], &f.agents[1]);
        s.publish_artifact(&f.team, a, art("doc", "v1", None))
            .unwrap();
        s.publish_artifact(&f.team, b, art("doc", "v2 by b", Some(1)))
            .unwrap();
        let err = s
            .publish_artifact(&f.team, a, art("doc", "v2 by a", Some(1)))
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("at version 2") && m.contains("parent_version 1")),
            "{err}"
        );
        assert!(matches!(
            s.publish_artifact(&f.team, a, art("fresh", "x", Some(1))),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            s.read_artifact_by_name(&f.team, "doc", None)
                .unwrap()
                .content,
            "v2 by b"
        );
        assert_not_found(
            s.read_artifact_by_name(&f.team, "fresh", None),
            "artifact named",
        );
    }

    #[test]
    fn limits_and_bad_input() {
        let opts = StoreOptions {
            max_artifact_bytes: 4,
            max_body_bytes: 16,
            ..Default::default()
        };
        let f = Fixture::with_options(1, opts);
        let (s, a) = (&f.store, &f.agents[0]);
        let err = s
            .publish_artifact(&f.team, a, art("n", "12345", None))
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::TooLarge {
                    what: "artifact content",
                    size: 5,
                    limit: 4
                }
            ),
            "{err}"
        );
        let long_summary = NewArtifact {
            summary: "x".repeat(17),
            ..art("n", "1", None)
        };
        assert!(matches!(
            s.publish_artifact(&f.team, a, long_summary),
            Err(StoreError::TooLarge {
                what: "artifact summary",
                ..
            })
        ));
        assert!(matches!(
            s.publish_artifact(&f.team, a, art("", "1", None)),
            Err(StoreError::Invalid(_))
        ));
        assert_not_found(
            s.publish_artifact(&f.team, &f.outsider, art("n", "1", None)),
            "agent",
        );
        assert_not_found(
            s.publish_artifact("team-nope", a, art("n", "1", None)),
            "team",
        );
        assert!(s.list_artifacts(&f.team).unwrap().is_empty());
        assert_not_found(s.list_artifacts("team-nope"), "team");
    }

    #[test]
    fn reads_are_team_scoped() {
        let f = Fixture::new(1);
        let (s, a) = (&f.store, &f.agents[0]);
        let mine = s.publish_artifact(&f.team, a, art("n", "1", None)).unwrap();
        let theirs = s
            .publish_artifact(&f.other_team, &f.outsider, art("n", "2", None))
            .unwrap();
        assert_not_found(
            s.read_artifact(&f.team, &theirs.artifact_id, None),
            "artifact",
        );
        assert_not_found(
            s.read_artifact(&f.other_team, &mine.artifact_id, None),
            "artifact",
        );
        assert_not_found(
            s.read_artifact(&f.team, &mine.artifact_id, Some(2)),
            "artifact version",
        );
        assert_not_found(
            s.read_artifact(&f.team, &mine.artifact_id, Some(0)),
            "artifact version",
        );
        assert_not_found(
            s.read_artifact("team-nope", &mine.artifact_id, None),
            "team",
        );
        assert_eq!(
            s.read_artifact_by_name(&f.other_team, "n", None)
                .unwrap()
                .content,
            "2"
        );
    }
}
