//! Text for people. The pure part (escaping, case) lives in the decision
//! core (`supervisor_core::text`); this adds what needs the system's words.
pub use supervisor_core::text::*;

/// An I/O error as the project words it: the system's text for its errno
/// (without std's "(os error N)" suffix), first letter lowercased unless it
/// is an acronym (`permission denied`, `I/O error`).
pub fn io_error_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => lowercase_first(nix::errno::Errno::from_raw(code).desc()),
        None => lowercase_first(&e.to_string()),
    }
}
