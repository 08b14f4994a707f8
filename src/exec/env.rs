//! The environment of every command supervisorctl starts: nothing inherited
//! but a fixed PATH, a UTF-8 locale, the identity variables (HOME, USER,
//! LOGNAME) and TZ, plus `SUPERVISORCTL=1` so a script can tell who ran it.
//! Secrets in our own environment never leak into restart commands.
pub const CLEAN_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn clean_env() -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".to_string(), CLEAN_PATH.to_string()),
        ("LANG".to_string(), "C.UTF-8".to_string()),
        ("SUPERVISORCTL".to_string(), "1".to_string()),
    ];
    for k in ["HOME", "USER", "LOGNAME", "TZ"] {
        if let Ok(v) = std::env::var(k) {
            env.push((k.to_string(), v));
        }
    }
    env
}
