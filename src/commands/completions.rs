//! `completions SHELL`, `man` and `schema` (docs/operator-guide.md, "Commands"): a shell completion
//! script and a roff man page, both generated from the clap definition in
//! `crate::cli`, so they list exactly the commands and flags the binary
//! accepts; the JSON Schema of `services.yaml`, generated from the types
//! the loader reads.
use crate::exit::Exit;
use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, Shell};

/// Prints the completion script for `shell` to stdout: the static script
/// clap generates, or with `dynamic` one that calls the binary while
/// completing (`COMPLETE=<shell> supervisorctl -- <words>`), which also
/// offers node and service names ([`super::complete_targets`]).
pub fn completions(shell: Shell, dynamic: bool) -> Result<Exit> {
    if dynamic {
        return dynamic_registration(shell);
    }
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(generator, &mut cmd, "supervisorctl", &mut out);
    super::stdout::write(&String::from_utf8_lossy(&out))?;
    Ok(Exit::Ok)
}

/// The registration of `clap_complete`'s dynamic engine for `shell`.
fn dynamic_registration(shell: Shell) -> Result<Exit> {
    use clap_complete::env::EnvCompleter;
    let mut out = Vec::new();
    let (var, name) = (COMPLETE_VAR, "supervisorctl");
    match shell {
        Shell::Bash => clap_complete::env::Bash.write_registration(var, name, name, name, &mut out),
        Shell::Zsh => clap_complete::env::Zsh.write_registration(var, name, name, name, &mut out),
        Shell::Fish => clap_complete::env::Fish.write_registration(var, name, name, name, &mut out),
    }
    .context("cannot write the completion script")?;
    super::stdout::write(&String::from_utf8_lossy(&out))?;
    Ok(Exit::Ok)
}

/// The variable that asks the binary for completions.
pub const COMPLETE_VAR: &str = "COMPLETE";

/// Prints the man page to stdout: the top-level page, then a section per
/// command with its own flags.
pub fn man() -> Result<Exit> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    let page = clap_mangen::Man::new(cmd.clone());
    page.render_title(&mut out)
        .and_then(|()| page.render_name_section(&mut out))
        .and_then(|()| page.render_synopsis_section(&mut out))
        .and_then(|()| page.render_description_section(&mut out))
        .and_then(|()| page.render_options_section(&mut out))
        .context("cannot render the man page")?;
    out.extend_from_slice(b".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        let about = sub
            .get_about()
            .map(std::string::ToString::to_string)
            .unwrap_or_default();
        out.extend_from_slice(
            format!(".SS \"supervisorctl {name}\"\n{}\n", roff_text(&about)).as_bytes(),
        );
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
        {
            let flag = match (arg.get_short(), arg.get_long()) {
                (Some(s), Some(l)) => format!("\\fB\\-{s}\\fR, \\fB\\-\\-{l}\\fR"),
                (None, Some(l)) => format!("\\fB\\-\\-{l}\\fR"),
                (Some(s), None) => format!("\\fB\\-{s}\\fR"),
                (None, None) => format!("\\fI{}\\fR", arg.get_id().as_str().to_uppercase()),
            };
            let takes_value = arg.get_action().takes_values() && arg.get_long().is_some();
            let value = if takes_value {
                let names = arg
                    .get_value_names()
                    .map(|n| n.join(" "))
                    .unwrap_or_default();
                let names = if names.is_empty() {
                    arg.get_id().as_str().to_uppercase()
                } else {
                    names.clone()
                };
                format!(" \\fI{}\\fR", roff_text(&names))
            } else {
                String::new()
            };
            let help = arg
                .get_help()
                .map(std::string::ToString::to_string)
                .unwrap_or_default();
            out.extend_from_slice(format!(".TP\n{flag}{value}\n{}\n", roff_text(&help)).as_bytes());
        }
    }
    out.extend_from_slice(concat!(
        ".SH \"EXIT STATUS\"\n",
        "\\fBcheck\\fR and \\fBreconcile\\fR: 0 nominal, 2 degraded or reconciling, 3 unstable, ",
        "1 an error (bad input, lock held, I/O failure, usage error). ",
        "\\fBdiff\\fR: 0 no difference, 2 a difference.\n",
        ".SH FILES\n",
        "The state directory (\\fB\\-\\-state\\-dir\\fR): checkpoint.json, events.jsonl, ",
        "intents.jsonl, overrides.json, fallbacks.json, webhooks.pending.json, lock, logs/, pids/.\n",
        ".PP\n",
        "\\fI/etc/supervisorctl/env\\fR (or the file \\fBSUPERVISORCTL_ENV_FILE\\fR names; empty: none), ",
        "read at start: its SUPERVISORCTL_* lines (e.g. SUPERVISORCTL_HOSTS) set the variables not already set. ",
        "A flag wins over the environment, the environment over this file. As root it must be root\\(aqs, ",
        "writable by root only, and not a symbolic link, or it is ignored with a warning.\n",
    ).as_bytes());
    page.render_version_section(&mut out)
        .context("cannot render the man page")?;
    super::stdout::write(&title_first(&String::from_utf8_lossy(&out)))?;
    Ok(Exit::Ok)
}

/// The page with `.TH` as its first line: `clap_mangen` starts every part
/// with the definition of the `Aq` string (an apostrophe); it is kept once,
/// right after the title.
fn title_first(page: &str) -> String {
    const AQ: [&str; 2] = [".ie \\n(.g .ds Aq \\(aq", ".el .ds Aq '"];
    let mut out = String::with_capacity(page.len());
    for line in page.lines().filter(|l| !AQ.contains(l)) {
        out.push_str(line);
        out.push('\n');
        if line.starts_with(".TH ") {
            for aq in AQ {
                out.push_str(aq);
                out.push('\n');
            }
        }
    }
    out
}

/// Text safe in a roff paragraph: backslashes escaped, and no line that
/// starts with `.` or `'` (a request).
fn roff_text(s: &str) -> String {
    s.replace('\\', "\\e")
        .replace('-', "\\-")
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Prints the JSON Schema of `services.yaml` to stdout.
pub fn schema() -> Result<Exit> {
    super::stdout::write(&crate::desired::services_schema_json())?;
    Ok(Exit::Ok)
}
