//! SIGTERM and SIGINT during a run: the action in progress finishes, no
//! further action starts, and the run records what happened before it exits
//! 1 (docs/reference/behaviour.md, "Record before act"). A second signal ends the process at
//! once, as by default: an operator can always get out, and the intents
//! already written make the next run count whatever ran.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

use signal_hook::consts::{SIGINT, SIGTERM};

static RECEIVED: AtomicUsize = AtomicUsize::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Installs the handlers (once per process; later calls do nothing).
pub fn install() {
    INSTALL.call_once(|| {
        for sig in [SIGTERM, SIGINT] {
            // Order matters: the default action is checked before the flag
            // that arms it is set, so only a second signal takes it.
            let _ = signal_hook::flag::register_conditional_default(sig, &ARMED);
            let _ = signal_hook::flag::register_usize(
                sig,
                &RECEIVED,
                usize::try_from(sig).expect("signal numbers are positive"),
            );
            let _ = signal_hook::flag::register(sig, &ARMED);
        }
    });
}

/// The signal received since [`install`], if any.
pub fn received() -> Option<&'static str> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s if s == SIGINT as usize => Some("SIGINT"),
        _ => Some("SIGTERM"),
    }
}
