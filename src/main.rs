//! Entry point: parse the command line, run, and map the outcome to an exit code.
use clap::Parser;
use supervisorctl::cli::{Cli, EXIT_ERROR};

fn main() {
    // A spawned service's monitor: no flags, no environment file, nothing
    // of a command's machinery.
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
        Err(e) => std::process::exit(usage(&e)),
    };
    let code = match supervisorctl::commands::dispatch::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!(
                "error: {}",
                supervisorctl::text::escape_control_lines(&message)
            );
            EXIT_ERROR
        }
    };
    std::process::exit(code);
}

/// Prints what clap says: `--help`/`--version` on stdout, exit 0; a usage
/// error on stderr, exit 1 (2 means degraded, docs/reference/behaviour.md, "Mistakes are errors, not drift").
fn usage(e: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
        _ => EXIT_ERROR,
    }
}
