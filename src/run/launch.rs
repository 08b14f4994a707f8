//! From a `spawn:` service's declaration to what its monitor starts
//! ([`exec::Launch`]): the clean environment plus `env_file` and `env`,
//! the working directory, the user to run as, and the log limits.
//!
//! **Environment.** The child gets the clean environment
//! ([`exec::clean_env`]), then the `env_file`'s assignments, then `env`'s
//! (a name set twice: the later wins, so `env` overrides the file). With
//! `user`, `HOME`, `USER` and `LOGNAME` are that user's (as systemd's
//! `User=` sets them) unless declared. Nothing else of ours is inherited.
//!
//! **User.** `user` (a name or a uid) and `group` are taken only by a run as
//! root, which drops to them (supplementary groups too) in the child before
//! it runs anything; a run as another user refuses the start unless `user`
//! names that very user. The log is then owned by that user.
use std::path::Path;

use nix::unistd::{Gid, Group, Uid, User};

use crate::desired::ServiceSpec;
use crate::exec::{self, Launch};
use crate::monitor::{Credentials, Limits};

/// The most bytes of an `env_file` read.
const MAX_ENV_FILE: u64 = 1 << 20;

/// The launch of `spec`'s `argv` on `node`, traces under `state_dir`;
/// Err: why it cannot start (an unreadable `env_file`, an unknown user).
pub fn launch(
    node: &str,
    spec: &ServiceSpec,
    argv: &[String],
    state_dir: &Path,
) -> Result<Launch, String> {
    let unit = exec::transient::unit_name(node, &spec.name);
    let mut launch = Launch::new(&spec.name, argv, state_dir, &unit);
    let settings = &spec.launch;
    launch.request.credentials = credentials(settings.user.as_deref(), settings.group.as_deref())?;
    if let Some(file) = &settings.env_file {
        for (k, v) in env_file(file)? {
            set(&mut launch.request.env, k, v);
        }
    }
    if let Some(c) = &launch.request.credentials {
        for (k, v) in user_env(c) {
            if !settings.env.iter().any(|(name, _)| *name == k) {
                set(&mut launch.request.env, k, v);
            }
        }
    }
    for (k, v) in &settings.env {
        set(&mut launch.request.env, k.clone(), v.clone());
    }
    if let Some(cwd) = &settings.cwd {
        launch.request.cwd.clone_from(cwd);
    }
    launch.request.limits = Limits {
        max_size: settings.log_max_size,
        keep: settings.log_keep,
    };
    Ok(launch)
}

/// Sets `name` in `env`, replacing an earlier value in place.
fn set(env: &mut Vec<(String, String)>, name: String, value: String) {
    match env.iter_mut().find(|(k, _)| *k == name) {
        Some(slot) => slot.1 = value,
        None => env.push((name, value)),
    }
}

/// The assignments of `env_file`, read like a `ca_file` (bounded, no FIFO,
/// as root only root's file).
fn env_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let bytes = crate::desired::opened::read_small_file(path, MAX_ENV_FILE)
        .map_err(|why| format!("cannot read env_file `{}`: {why}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("env_file `{}` is not UTF-8 text", path.display()))?;
    let (pairs, warnings) = crate::envfile::parse_assignments(path, &text);
    if let Some(first) = warnings.first() {
        return Err(format!("env_file {first}"));
    }
    Ok(pairs)
}

/// `HOME`, `USER` and `LOGNAME` of the user the service runs as.
fn user_env(c: &Credentials) -> Vec<(String, String)> {
    let home = User::from_uid(Uid::from_raw(c.uid))
        .ok()
        .flatten()
        .map_or_else(|| "/".to_string(), |u| u.dir.display().to_string());
    vec![
        ("HOME".into(), home),
        ("USER".into(), c.user.clone()),
        ("LOGNAME".into(), c.user.clone()),
    ]
}

/// Whom to run as: `None` without `user`; Err when the user or group is
/// unknown, or when only root could switch to it.
pub fn credentials(user: Option<&str>, group: Option<&str>) -> Result<Option<Credentials>, String> {
    let Some(user) = user else {
        return Ok(None);
    };
    let entry = find_user(user)?;
    let gid = match group {
        Some(g) => find_group(g)?,
        None => entry.gid,
    };
    let me = nix::unistd::geteuid();
    if !me.is_root() {
        if entry.uid == me && group.is_none_or(|_| gid == nix::unistd::getegid()) {
            return Ok(None); // Already that user: nothing to switch.
        }
        return Err(format!(
            "`user: {user}` needs root to switch to (this run is uid {me}); run as root, or remove `user`"
        ));
    }
    let name = std::ffi::CString::new(entry.name.clone())
        .map_err(|_| format!("invalid user name `{user}`"))?;
    let mut groups: Vec<u32> = nix::unistd::getgrouplist(&name, gid)
        .map_err(|e| format!("cannot read the groups of `{user}`: {e}"))?
        .into_iter()
        .map(Gid::as_raw)
        .collect();
    groups.sort_unstable();
    groups.dedup();
    Ok(Some(Credentials {
        user: entry.name,
        uid: entry.uid.as_raw(),
        gid: gid.as_raw(),
        groups,
    }))
}

/// A user by name, or by number when it is all digits.
fn find_user(user: &str) -> Result<User, String> {
    let found = match user.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)),
        Err(_) => User::from_name(user),
    };
    match found {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(format!(
            "`user: {user}` is no user of this machine (see `getent passwd`)"
        )),
        Err(e) => Err(format!("cannot look up user `{user}`: {e}")),
    }
}

fn find_group(group: &str) -> Result<Gid, String> {
    let found = match group.parse::<u32>() {
        Ok(gid) => Group::from_gid(Gid::from_raw(gid)),
        Err(_) => Group::from_name(group),
    };
    match found {
        Ok(Some(g)) => Ok(g.gid),
        Ok(None) => Err(format!(
            "`group: {group}` is no group of this machine (see `getent group`)"
        )),
        Err(e) => Err(format!("cannot look up group `{group}`: {e}")),
    }
}
