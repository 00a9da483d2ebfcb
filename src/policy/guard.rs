//! Guardrails that are not about tokens: compact messaging, idle shutdown and turn timeouts
//! (SPEC §6). Each answer carries the hint the agent needs to do the right thing instead.

use super::profile::Profile;

/// Refuses a message body over the profile's limit, pointing to artifacts instead.
pub fn check_message(profile: &Profile, body_bytes: usize) -> Result<(), String> {
    let limit = profile.limits.message_bytes;
    if body_bytes as u64 <= limit {
        return Ok(());
    }
    Err(format!(
        "message body is {body_bytes} bytes, over the limit of {limit} bytes: publish the content with artifact_publish and send its id instead"
    ))
}

/// Refuses an artifact over the profile's limit.
pub fn check_artifact(profile: &Profile, content_bytes: usize) -> Result<(), String> {
    let limit = profile.limits.artifact_bytes;
    if content_bytes as u64 <= limit {
        return Ok(());
    }
    Err(format!(
        "artifact is {content_bytes} bytes, over the limit of {limit} bytes: split it or publish a summary with references"
    ))
}

/// Whether a worker idle for `idle_secs` should be retired (no longer resumed; its process is
/// already gone, retiring frees its place in the team). `idle_shutdown_secs: 0` retires at once.
pub fn should_retire(profile: &Profile, idle_secs: u64) -> bool {
    idle_secs >= profile.idle_shutdown_secs
}

/// Whether a worker turn running for `secs` has passed its timeout and must be stopped.
pub fn turn_timed_out(profile: &Profile, secs: u64) -> bool {
    secs >= profile.timeouts.worker_turn_secs
}

/// The `timeout_ms` agents should pass to `team_wait`.
pub fn tool_wait_ms(profile: &Profile) -> u64 {
    profile.timeouts.tool_wait_secs * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_profile() {
        let fast = Profile::load("fast").unwrap(); // message 8192, artifact 1 MiB, idle 60
        let default = Profile::load("default").unwrap(); // message 16384, idle 300
        let cases: &[(&Profile, usize, bool)] = &[
            (&fast, 8192, true),
            (&fast, 8193, false),
            (&default, 8193, true),
            (&default, 16_385, false),
        ];
        for (p, n, ok) in cases {
            assert_eq!(check_message(p, *n).is_ok(), *ok, "{} {n}", p.name);
        }
        let e = check_message(&fast, 9000).unwrap_err();
        assert!(
            e.contains("9000 bytes") && e.contains("8192") && e.contains("artifact_publish"),
            "{e}"
        );
        assert!(check_artifact(&fast, 1 << 20).is_ok());
        assert!(
            check_artifact(&fast, (1 << 20) + 1)
                .unwrap_err()
                .contains("1048576")
        );
        assert!(!should_retire(&fast, 59));
        assert!(should_retire(&fast, 60));
        assert!(!should_retire(&default, 60));
        assert!(turn_timed_out(&fast, 300) && !turn_timed_out(&default, 300));
        assert_eq!(tool_wait_ms(&fast), 15_000);
    }
}
