//! The `nvidia-smi` fallback for when NVML cannot be loaded: two CSV
//! queries, each bounded by a timeout, and their parsers. Rows the tool
//! reports as `[N/A]` or `[Not Supported]`, and GPUs with no memory total of
//! their own (unified memory, e.g. Jetson), carry no data and are dropped.
//!
//! # Guarantees
//!
//! - **Like every child.** The tool runs through
//!   [`crate::exec::run_bounded`]: the clean environment (so `LANG=C.UTF-8`
//!   fixes its number format, and nothing of ours leaks into it), working
//!   directory `/`, only stdin, stdout and stderr, its own process group,
//!   killed after 5 s; at most 4 MiB of its output is read.
//! - A bare program name is looked up on *our* `PATH` before anything is
//!   started, so a machine without the tool spawns nothing, and the tool is
//!   then run by its absolute path (the clean `PATH` is not consulted).
//!   Whoever sets our `PATH` picks the tool: the shipped systemd units fix
//!   it (docs/reference/environment.md, docs/security.md).
//! - A missing, failing or hanging tool gives `None`, never an error.
//!
//! # Assumptions
//!
//! - The tool finds its driver library without `LD_LIBRARY_PATH` (the
//!   driver installs it on the loader's path). Where it needs one, NVML,
//!   loaded into our own process with our environment, is the working path.
//!
//! # Caveats
//!
//! - The two queries are separate snapshots: a process that starts or ends
//!   between them is missing from one of them.
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::exec::{run_bounded, Capture};
use crate::num::saturating_u64;
use crate::world::GpuUse;

use super::GpuData;

const TIMEOUT: Duration = Duration::from_secs(5);
/// Most stdout kept from one query: enough for any machine's answer.
const MAX_STDOUT: usize = 4 << 20;
const MIB: f64 = 1024.0 * 1024.0;
const GPU_QUERY: &str =
    "--query-gpu=index,uuid,name,memory.total,memory.used,temperature.gpu,utilization.gpu";
const APPS_QUERY: &str = "--query-compute-apps=pid,gpu_uuid,used_memory";

/// Runs the two queries; `None` when the binary is absent, fails, or hangs.
pub(super) fn query(nvidia_smi: &Path) -> Option<GpuData> {
    let program = locate(nvidia_smi)?;
    let gpus = run_query(&program, GPU_QUERY)?;
    let parsed = parse_nvidia_smi_gpus(&gpus);
    let index_of = |uuid: &str| parsed.iter().find(|(_, u)| u == uuid).map(|(g, _)| g.index);
    let mut data = GpuData::default();
    // Without a process list the GPUs' totals still stand.
    if let Some(apps) = run_query(&program, APPS_QUERY) {
        for (pid, uuid, bytes) in parse_nvidia_smi_apps(&apps) {
            *data.per_pid.entry(pid).or_default() += bytes;
            data.apps.push((pid, index_of(&uuid), bytes));
        }
    }
    data.gpus = parsed.into_iter().map(|(g, _)| g).collect();
    Some(data)
}

/// A bare name is looked up on `PATH` here, so that a machine without the
/// tool spawns nothing; anything with a `/` is taken as given.
fn locate(program: &Path) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    if program.as_os_str().as_bytes().contains(&b'/') {
        return Some(program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn run_query(program: &Path, query: &str) -> Option<String> {
    let argv = [
        program.as_os_str(),
        query.as_ref(),
        "--format=csv,noheader,nounits".as_ref(),
    ];
    let r = run_bounded(&argv, TIMEOUT, Capture::stdout(MAX_STDOUT));
    r.success().then(|| String::from_utf8(r.stdout).ok())?
}

/// A field's value, or `None` for the tool's placeholders (`[N/A]`,
/// `[Not Supported]`, `[Unknown Error]`, `N/A`) and empty fields.
fn value(field: &str) -> Option<&str> {
    let v = field.trim();
    (!v.is_empty() && !v.starts_with('[') && v != "N/A").then_some(v)
}

fn number(field: &str) -> Option<f64> {
    value(field)?
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
}

fn mib_to_bytes(field: &str) -> Option<u64> {
    number(field).map(|mib| saturating_u64((mib * MIB).round()))
}

/// Parses `--query-gpu=index,uuid,name,memory.total,memory.used,
/// temperature.gpu,utilization.gpu --format=csv,noheader,nounits` output:
/// memory in MiB becomes bytes, utilization in percent a ratio. A GPU
/// without index, uuid, memory figures, or with a zero total is left out.
pub fn parse_nvidia_smi_gpus(csv: &str) -> Vec<(GpuUse, String)> {
    let mut gpus: Vec<(GpuUse, String)> = csv.lines().filter_map(parse_gpu_row).collect();
    gpus.sort_by_key(|(g, _)| g.index);
    gpus
}

fn parse_gpu_row(line: &str) -> Option<(GpuUse, String)> {
    let fields: Vec<&str> = line.split(',').collect();
    if fields.len() < 7 {
        return None;
    }
    // A name with commas in it spans several fields: the numbers are the last four.
    let (head, tail) = fields.split_at(fields.len() - 4);
    let index: u32 = value(head[0])?.parse().ok()?;
    let uuid = value(head[1])?.to_string();
    let name = value(&head[2..].join(",")).map(str::to_string);
    let total = mib_to_bytes(tail[0]).filter(|&t| t > 0)?;
    let used = mib_to_bytes(tail[1])?;
    let gpu = GpuUse {
        index,
        name,
        memory_total_bytes: total,
        memory_used_bytes: used,
        temperature_c: number(tail[2]),
        utilization: number(tail[3]).map(|pct| (pct / 100.0).clamp(0.0, 1.0)),
    };
    Some((gpu, uuid))
}

/// Parses `--query-compute-apps=pid,gpu_uuid,used_memory
/// --format=csv,noheader,nounits` output into (pid, GPU uuid, bytes); rows
/// without a memory figure are left out.
pub fn parse_nvidia_smi_apps(csv: &str) -> Vec<(u32, String, u64)> {
    csv.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let [pid, uuid, used] = fields.as_slice() else {
                return None;
            };
            let pid: u32 = value(pid)?.parse().ok()?;
            Some((pid, value(uuid)?.to_string(), mib_to_bytes(used)?))
        })
        .collect()
}
