//! The identity of a run: `run_id` is a digest of the inputs and the clock,
//! never a random draw, so `--now` makes a run reproducible byte for byte.
use sha2::{Digest, Sha256};

pub struct RunIdentity<'a> {
    pub command: &'a str,
    pub dry_run: bool,
    pub hosts: &'a [u8; 32],
    pub world: &'a [u8; 32],
    pub checkpoint: &'a [u8],
    pub overrides: &'a [u8],
    pub live: &'a [u8],
    pub now: &'a str,
}

impl RunIdentity<'_> {
    /// 128 bits of SHA-256, hex.
    pub fn run_id(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            b"supervisorctl-run-v1".as_slice(),
            self.command.as_bytes(),
            &[u8::from(self.dry_run)],
            self.hosts,
            self.world,
            self.checkpoint,
            self.overrides,
            self.live,
            self.now.as_bytes(),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        crate::text::hex(&h.finalize()[..16])
    }
}
