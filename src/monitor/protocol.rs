//! What the run and the monitor say to each other (see the module
//! documentation of [`crate::monitor`]): one [`Request`] line, then
//! [`Report`] lines back, then `go`.
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ExitRecord, Limits};

/// The word the run sends once the pid file is durable.
pub const GO: &str = "go";

/// What to start and where its traces go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub service: String,
    pub argv: Vec<String>,
    /// The service's whole environment (nothing else is inherited).
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// Whom the service runs as; `None`: as the monitor.
    pub credentials: Option<Credentials>,
    pub log: PathBuf,
    pub exits: PathBuf,
    pub limits: Limits,
}

/// A user to run as: uid, primary gid, supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// One line from the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The service waits at the gate with this pid.
    Pid(u32),
    /// It could not be started; why.
    Error(String),
    /// It ran and ended.
    Exit(ExitRecord),
}

impl Report {
    /// The line for it, newline included.
    pub fn line(&self) -> String {
        match self {
            Report::Pid(pid) => format!("pid {pid}\n"),
            Report::Error(why) => format!("error {}\n", why.replace('\n', " ")),
            Report::Exit(r) => format!("exit {}\n", serde_json::to_string(r).unwrap_or_default()),
        }
    }

    /// Reads a line; `None` for anything else.
    pub fn parse(line: &str) -> Option<Report> {
        let line = line.trim_end_matches('\n');
        let (word, rest) = line.split_once(' ')?;
        match word {
            "pid" => rest.parse().ok().map(Report::Pid),
            "error" => Some(Report::Error(rest.to_string())),
            "exit" => serde_json::from_str(rest).ok().map(Report::Exit),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_read_back() {
        let r = ExitRecord::new(
            9,
            "2026-12-07T06:50:01Z".parse().unwrap(),
            "2026-12-07T06:50:02Z".parse().unwrap(),
            super::super::Ending::Status(3),
        );
        for report in [
            Report::Pid(42),
            Report::Error("no such user".into()),
            Report::Exit(r),
        ] {
            assert_eq!(Report::parse(&report.line()), Some(report));
        }
        assert_eq!(Report::parse("pid x\n"), None);
        assert_eq!(Report::parse("hello\n"), None);
    }
}
