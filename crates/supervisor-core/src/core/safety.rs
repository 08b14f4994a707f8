//! Priority 0, safety: under memory or GPU pressure, evict running unpinned
//! models (lowest priority first, then least recently active, then name)
//! until the projected use is below the threshold; block when even evicting
//! every candidate would not be enough; defer any start that would cross it.
//! On a GPU, evictable orphans (`evict_orphans: true`, see `orphans`) go
//! first, largest first: they are waste no declaration asked for.
use super::types::Condition;
use std::collections::BTreeSet;

use super::availability::ts;
use super::gpu::GpuReading;
use super::orphans::Orphan;
use super::types::{Action, Drift, Policy, Proposal, Severity, Urgency};
use super::view::View;
use super::{Findings, NodeCtx};
use crate::num::as_f64;

/// Node resources as this run sees them (live probe, else world record).
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub memory: Option<(u64, u64)>,
    pub gpus: Vec<GpuReading>,
}

fn ratio(used: u64, total: u64) -> f64 {
    as_f64(used) / as_f64(total)
}

fn pct(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

/// The state safety leaves behind for `defer`: what is projected after evictions.
#[derive(Debug, Default)]
pub struct Projection {
    memory: Option<(u64, u64)>,
    gpus: Vec<GpuReading>,
    /// The orphans chosen for eviction, in the order chosen.
    pub orphans: Vec<Orphan>,
}

/// Evaluates memory and GPU pressure; `orphans` are those safety may
/// evict (empty unless `evict_orphans: true`).
pub fn pressure(ctx: &NodeCtx, orphans: &[&Orphan], out: &mut Findings) -> Projection {
    let res = &ctx.resources;
    let settings = &ctx.node.settings;
    let mut evicted: BTreeSet<&str> = BTreeSet::new();
    let mut proj = Projection {
        memory: res.memory,
        gpus: res.gpus.clone(),
        orphans: vec![],
    };

    if let Some((total, used)) = res.memory.filter(|(t, _)| *t > 0) {
        let r = ratio(used, total);
        if r >= settings.memory_pressure {
            let detail = format!(
                "memory {} used >= threshold {}",
                pct(r),
                pct(settings.memory_pressure)
            );
            out.drifts.push((
                None,
                Drift {
                    condition: Condition::MemoryPressure,
                    detail: detail.clone(),
                },
            ));
            let cands = candidates(ctx, |v| v.memory() > 0);
            let pressure = Pressure {
                condition: Condition::MemoryPressure,
                detail: &detail,
                total,
                used,
                threshold: settings.memory_pressure,
                orphans: 0,
            };
            let freed =
                relieve(out, &pressure, &cands, &mut evicted, |v: &View| v.memory()).unwrap_or(0);
            proj.memory = Some((total, used - freed.min(used)));
        }
    }
    let any_index = ctx.views.iter().any(|v| v.gpu_index().is_some());
    for (i, g) in res.gpus.iter().enumerate() {
        let (index, total, used) = (g.index, g.total_bytes, g.used_bytes);
        if total == 0 {
            continue;
        }
        let r = ratio(used, total);
        if r < settings.gpu_pressure {
            continue;
        }
        let detail = format!(
            "gpu {index}: memory {} used >= threshold {}",
            pct(r),
            pct(settings.gpu_pressure)
        );
        out.drifts.push((
            None,
            Drift {
                condition: Condition::GpuPressure,
                detail: detail.clone(),
            },
        ));
        let on_gpu = |v: &View| v.gpu_memory() > 0 && (!any_index || v.gpu_index() == Some(index));
        let cands = candidates(ctx, on_gpu);
        let on_this: Vec<&Orphan> = orphans
            .iter()
            .copied()
            .filter(|o| o.gpu_index == Some(index))
            .collect();
        let below = |freed: u64| ratio(used.saturating_sub(freed), total) < settings.gpu_pressure;
        let (by_orphans, chosen) = pick_orphans(&on_this, &proj.orphans, below);
        let pressure = Pressure {
            condition: Condition::GpuPressure,
            detail: &detail,
            total,
            used: used - by_orphans.min(used),
            threshold: settings.gpu_pressure,
            orphans: on_this.len(),
        };
        let freed = relieve(out, &pressure, &cands, &mut evicted, |v: &View| {
            v.gpu_memory()
        });
        let Some(freed) = freed else {
            continue; // blocked: nothing is evicted, orphans neither
        };
        for o in chosen {
            out.push(Proposal {
                service: None,
                policy: Policy::Safety,
                action: Action::Evict,
                urgency: Urgency::Required,
                condition: Condition::GpuPressure,
                reason: format!(
                    "{detail}; evict orphan pid {} (uid {}) to free {}",
                    o.identity.pid,
                    o.uid.unwrap_or_default(),
                    crate::fmt::size(o.gpu_memory_bytes)
                ),
                severity: Severity::Unstable,
            });
            proj.orphans.push(o.clone());
        }
        let freed = freed.saturating_add(by_orphans);
        proj.gpus[i].used_bytes = used - freed.min(used);
    }
    proj
}

/// Running unpinned models matching `filter`, in eviction order.
fn candidates<'v, 'a>(ctx: &'v NodeCtx<'a>, filter: impl Fn(&View) -> bool) -> Vec<&'v View<'a>> {
    let mut c: Vec<&View> = ctx
        .views
        .iter()
        .filter(|v| v.spec.is_model() && !v.pinned && v.health().is_running() && filter(v))
        .collect();
    c.sort_by(|a, b| {
        (a.spec.priority, a.activity(), a.name()).cmp(&(b.spec.priority, b.activity(), b.name()))
    });
    c
}

/// The orphans of one GPU to evict, largest first (then by pid), until
/// `below` holds; orphans already chosen for another GPU count as freed
/// first (a process's eviction frees its memory on every GPU). Returns the
/// bytes freed on this GPU and the orphans newly chosen.
fn pick_orphans<'o>(
    on_gpu: &[&'o Orphan],
    already: &[Orphan],
    below: impl Fn(u64) -> bool,
) -> (u64, Vec<&'o Orphan>) {
    let chosen_before = |o: &Orphan| already.iter().any(|a| a.identity == o.identity);
    let (mut freed, mut rest): (u64, Vec<&Orphan>) = (0, vec![]);
    for o in on_gpu {
        if chosen_before(o) {
            freed = freed.saturating_add(o.gpu_memory_bytes);
        } else {
            rest.push(o);
        }
    }
    rest.sort_by_key(|o| (std::cmp::Reverse(o.gpu_memory_bytes), o.identity.pid));
    let mut chosen = vec![];
    for o in rest {
        if below(freed) {
            break;
        }
        freed = freed.saturating_add(o.gpu_memory_bytes);
        chosen.push(o);
    }
    (freed, chosen)
}

/// One resource over its threshold: memory, or one GPU's memory.
struct Pressure<'d> {
    condition: Condition,
    detail: &'d str,
    total: u64,
    /// Used, less what orphans chosen for eviction free.
    used: u64,
    threshold: f64,
    /// Evictable orphans counted among the candidates.
    orphans: usize,
}

/// Chooses evictions until use is projected below the threshold; returns
/// the bytes freed, `None` when blocked. Models already chosen for another
/// resource count as freed first.
fn relieve<'a>(
    out: &mut Findings,
    p: &Pressure,
    cands: &[&View<'a>],
    evicted: &mut BTreeSet<&'a str>,
    footprint: impl Fn(&View) -> u64,
) -> Option<u64> {
    let Pressure {
        condition,
        detail,
        total,
        used,
        threshold,
        orphans,
    } = *p;
    let below = |freed: u64| ratio(used.saturating_sub(freed), total) < threshold;
    let mut freed: u64 = cands
        .iter()
        .filter(|v| evicted.contains(v.name()))
        .map(|v| footprint(v))
        .sum();
    let mut chosen = vec![];
    for v in cands {
        if below(freed) {
            break;
        }
        if evicted.contains(v.name()) {
            continue;
        }
        freed += footprint(v);
        chosen.push(*v);
    }
    if !below(freed) {
        out.push(Proposal {
            service: None,
            policy: Policy::Safety,
            action: Action::Diagnostics,
            urgency: Urgency::Blocked,
            condition,
            reason: format!(
                "{detail}; evicting every candidate ({}) would not bring it below the threshold",
                cands.len() + orphans
            ),
            severity: Severity::Unstable,
        });
        return None;
    }
    for v in chosen {
        evicted.insert(v.spec.name.as_str());
        let last = v.activity().map(ts).unwrap_or_else(|| "never".into());
        out.push(Proposal {
            service: Some(v.name().to_string()),
            policy: Policy::Safety,
            action: Action::Evict,
            urgency: Urgency::Required,
            condition,
            reason: format!(
                "{detail}; evict priority {} model (last active {last}) to free {}",
                v.spec.priority,
                crate::fmt::size(footprint(v))
            ),
            severity: Severity::Unstable,
        });
    }
    Some(freed)
}

/// Adds a `defer` for every start (restart or preload) whose footprint would
/// take projected use to or over the threshold; starts that fit are counted
/// against the room that is left, in service order.
pub fn defer(ctx: &NodeCtx, proj: &mut Projection, out: &mut Findings) {
    let settings = &ctx.node.settings;
    let starts: Vec<(String, Action)> = out
        .proposals
        .iter()
        .filter(|p| matches!(p.action, Action::Restart | Action::Preload))
        .filter_map(|p| Some((p.service.clone()?, p.action)))
        .collect();
    let mut seen = BTreeSet::new();
    for (service, action) in starts {
        if !seen.insert(service.clone()) {
            continue;
        }
        let Some(view) = ctx.view(&service) else {
            continue;
        };
        let mut why = None;
        if let Some((total, used)) = proj.memory.filter(|(t, _)| *t > 0) {
            // A restart stops what runs first: what it holds now is freed.
            let after = ratio(
                used.saturating_sub(view.held_memory()) + view.memory(),
                total,
            );
            if after >= settings.memory_pressure {
                why = Some((
                    Condition::MemoryPressure,
                    format!(
                        "starting it would take memory to {} (threshold {})",
                        pct(after),
                        pct(settings.memory_pressure)
                    ),
                ));
            }
        }
        let gpu = pick_gpu(view, &proj.gpus);
        if why.is_none() {
            if let Some(i) = gpu {
                let GpuReading {
                    index,
                    total_bytes: total,
                    used_bytes: used,
                    ..
                } = proj.gpus[i];
                let held = view.held_gpu_memory();
                let after = ratio(used.saturating_sub(held) + view.gpu_memory(), total);
                if after >= settings.gpu_pressure {
                    why = Some((
                        Condition::GpuPressure,
                        format!(
                            "starting it would take gpu {index} to {} (threshold {})",
                            pct(after),
                            pct(settings.gpu_pressure)
                        ),
                    ));
                }
            }
        }
        if let Some((condition, reason)) = why {
            out.push(Proposal {
                service: Some(service),
                policy: Policy::Safety,
                action: Action::Defer,
                urgency: Urgency::Recommended,
                condition,
                reason: format!("defer {}: {reason}", action.as_str()),
                severity: if action == Action::Preload {
                    Severity::Nominal
                } else {
                    Severity::Degraded
                },
            });
        } else {
            if let Some((_, used)) = proj.memory.as_mut() {
                *used = used.saturating_sub(view.held_memory()) + view.memory();
            }
            if let Some(i) = gpu {
                let g = &mut proj.gpus[i];
                g.used_bytes =
                    g.used_bytes.saturating_sub(view.held_gpu_memory()) + view.gpu_memory();
            }
        }
    }
}

/// The GPU a start lands on: the one its record names, the only one, or
/// the one with the most room.
fn pick_gpu(view: &View, gpus: &[GpuReading]) -> Option<usize> {
    if view.gpu_memory() == 0 {
        return None;
    }
    if let Some(idx) = view.gpu_index() {
        return gpus
            .iter()
            .position(|g| g.index == idx && g.total_bytes > 0);
    }
    gpus.iter()
        .enumerate()
        .filter(|(_, g)| g.total_bytes > 0)
        .max_by_key(|(_, g)| (g.free_bytes(), std::cmp::Reverse(g.index)))
        .map(|(i, _)| i)
}
