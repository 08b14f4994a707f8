//! The one environment every command and service we start receives, so that
//! what runs under a systemd timer and what runs from an operator's shell
//! behave the same, and no secret of ours leaks into a child.
use std::process::Command;

/// The search path of every child; `argv[0]` is looked up on it.
pub const CLEAN_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Variables copied from our own environment when set (and valid UTF-8).
const COPIED: [&str; 4] = ["HOME", "USER", "LOGNAME", "TZ"];

/// The full environment of a child: `PATH` (fixed), `LANG=C.UTF-8`, `HOME`,
/// `USER`, `LOGNAME` and `TZ` copied from ours when set, and
/// `SUPERVISORCTL=1` so that a script can tell who started it. Nothing else
/// is inherited.
pub fn clean_env() -> Vec<(String, String)> {
    let mut vars = vec![
        ("PATH".to_string(), CLEAN_PATH.to_string()),
        ("LANG".to_string(), "C.UTF-8".to_string()),
    ];
    for name in COPIED {
        if let Ok(value) = std::env::var(name) {
            vars.push((name.to_string(), value));
        }
    }
    vars.push(("SUPERVISORCTL".to_string(), "1".to_string()));
    vars
}

/// Builds a command for `argv` (which must not be empty) with the clean
/// environment, `/` as working directory and stdin from `/dev/null`.
pub(crate) fn clean_command(argv: &[String]) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(clean_env())
        .current_dir("/")
        .stdin(std::process::Stdio::null());
    cmd
}

/// Formats an error of starting `program` as "cannot run `x`: reason",
/// without the "(os error N)" suffix std adds.
pub(crate) fn cannot_run(program: &str, err: &std::io::Error) -> String {
    let reason = match err.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => err.to_string(),
    };
    format!("cannot run `{program}`: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_env_has_fixed_path_lang_and_marker() {
        let env = clean_env();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PATH"), Some(CLEAN_PATH));
        assert_eq!(get("LANG"), Some("C.UTF-8"));
        assert_eq!(get("SUPERVISORCTL"), Some("1"));
        let allowed = [
            "PATH",
            "LANG",
            "HOME",
            "USER",
            "LOGNAME",
            "TZ",
            "SUPERVISORCTL",
        ];
        for (name, _) in &env {
            assert!(allowed.contains(&name.as_str()), "unexpected {name}");
        }
        if let Ok(home) = std::env::var("HOME") {
            assert_eq!(get("HOME"), Some(home.as_str()));
        }
    }

    #[test]
    fn cannot_run_drops_os_error_suffix() {
        let err = std::io::Error::from_raw_os_error(2);
        assert_eq!(
            cannot_run("nope", &err),
            "cannot run `nope`: No such file or directory"
        );
    }
}
