//! Entry point: parse the command line, resolve it, run, and turn the
//! command's [`Exit`] into the process's exit status.
use std::process::ExitCode;

use clap::Parser;
use supervisorctl::cli::Cli;
use supervisorctl::exit::Exit;

fn main() -> ExitCode {
    // A spawned service's monitor: no flags, no environment file, nothing
    // of a command's machinery; it exits with its own status.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == supervisorctl::monitor::MODE)
    {
        std::process::exit(supervisorctl::monitor::main());
    }
    // Before the flags: the file's SUPERVISORCTL_* variables are defaults
    // of flags (`env = ...`) like those of the environment.
    supervisorctl::envfile::apply();
    // `COMPLETE=bash supervisorctl -- <words>`: the shell asks what fits.
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command)
        .var(supervisorctl::commands::completions::COMPLETE_VAR)
        .complete();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(&e).into(),
    };
    // A closed stdout is no error: the one writer (`commands::stdout`)
    // drops what the reader no longer takes, and the command ends with
    // the exit it would have had (docs/reference/exit-codes.md).
    match supervisorctl::commands::dispatch::dispatch(cli) {
        Ok(exit) => exit.into(),
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!(
                "error: {}",
                supervisorctl::text::escape_control_lines(&message)
            );
            Exit::Error.into()
        }
    }
}

/// Prints what clap says: `--help`/`--version` on stdout, exit 0; a usage
/// error on stderr, exit 1 (2 means degraded, docs/reference/behaviour.md, "Mistakes are errors, not drift").
fn usage(e: &clap::Error) -> Exit {
    use clap::error::ErrorKind;
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit::Ok,
        _ => Exit::Error,
    }
}
