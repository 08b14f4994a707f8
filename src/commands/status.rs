//! `status`: each service's health, failures, restart attempts, backoff and
//! last action, as the last run left them in the checkpoint.
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use serde_json::json;

use crate::checkpoint::key;
use crate::core::guardrails::backoff_until;
use crate::desired::Fleet;
use crate::run::format_ts;
use crate::text::escape_control;

pub fn run(fleet: &Fleet, dir: &Path, json_out: bool) -> Result<i32> {
    let cp = crate::checkpoint::read_for_command(dir)?.unwrap_or_default();
    let mut out = String::new();
    for node in fleet.nodes.values() {
        if !json_out {
            let _ = writeln!(out, "{}", node.name);
        }
        for svc in node.services.values() {
            let k = key(&node.name, &svc.name);
            let st = cp.services.get(&k).cloned().unwrap_or_default();
            let backoff = backoff_until(&node.settings, &svc.name, &st).map(format_ts);
            let open = st.restart_attempts >= node.settings.max_restart_attempts;
            let last = st
                .last_action
                .as_ref()
                .map(|a| format!("{} {} at {}", a.action, a.outcome, format_ts(a.at)));
            if json_out {
                let line = json!({"node": node.name, "service": svc.name, "health": st.health.as_str(), "failures": st.failures,
                    "restart_attempts": st.restart_attempts, "cpu_cores": st.cpu_use, "circuit": if open {"open"} else {"closed"}, "backoff_until": backoff,
                    "last_action": st.last_action, "last_error": st.last_error, "fallback": cp.fallbacks.get(&k).map(|f| f.to.clone())});
                let _ = writeln!(out, "{line}");
            } else {
                let _ = writeln!(
                    out,
                    "  {:<24} {:<9} failures {:<2} attempts {:<2}{}{}{}{}",
                    svc.name,
                    st.health.as_str(),
                    st.failures,
                    st.restart_attempts,
                    st.cpu_use
                        .map(|c| format!(" cpu {:.0}%", c * 100.0))
                        .unwrap_or_default(),
                    if open { " circuit open" } else { "" },
                    backoff
                        .map(|b| format!(" backoff until {b}"))
                        .unwrap_or_default(),
                    last.map(|l| format!(" last: {}", escape_control(&l)))
                        .unwrap_or_default(),
                );
                if let Some(e) = &st.last_error {
                    let _ = writeln!(out, "  {:<24} why: {}", "", escape_control(e));
                }
            }
        }
    }
    super::stdout::write(&out)?;
    Ok(0)
}
