//! `policies`' view of the tunable settings of each service: the value in
//! force and where it came from — `preset` (the defaults), `services.yaml`
//! (the service's own line) or `tuned` (adaptive tuning, kept in the
//! checkpoint). There is no operator override of these values (`pin` and
//! `hold` are about actions), so no `override` origin.
use serde_json::{json, Value};

use crate::checkpoint::{key, Checkpoint};
use crate::core::tuning::{effective, tuned, Configured, Setting};
use crate::desired::{NodeSpec, Origin, ServiceSpec};

/// One value: what is in force, its origin, and the configured value.
pub struct Shown {
    pub setting: Setting,
    pub value: u64,
    pub origin: &'static str,
    pub configured: u64,
}

impl Shown {
    pub fn human(&self) -> String {
        let s = self.setting;
        match self.origin {
            "tuned" => format!(
                "{} {} (tuned from {})",
                s.as_str(),
                s.show(self.value),
                s.show(self.configured)
            ),
            o => format!("{} {} ({o})", s.as_str(), s.show(self.value)),
        }
    }

    fn json_value(&self, v: u64) -> Value {
        match self.setting {
            Setting::BackoffBase => json!(self.setting.show(v)),
            _ => json!(v),
        }
    }

    pub fn json(&self) -> Value {
        json!({"value": self.json_value(self.value), "origin": self.origin,
            "configured": self.json_value(self.configured)})
    }
}

/// The tunable values of `svc` on `node`, given the checkpoint's tuning.
pub fn of(node: &NodeSpec, svc: &ServiceSpec, cp: Option<&Checkpoint>) -> Vec<Shown> {
    let c = Configured::of(&svc.health, &node.settings);
    let default = crate::checkpoint::tuning::Tuning::default();
    let t = cp
        .and_then(|cp| cp.services.get(&key(&node.name, &svc.name)))
        .map_or(&default, |st| &st.tuning);
    let e = effective(&c, t, node.settings.adaptive);
    Setting::ALL
        .iter()
        .map(|&s| {
            let configured_origin = match s {
                Setting::DegradedAfter => svc.health.origins.0,
                Setting::DeadAfter => svc.health.origins.1,
                Setting::BackoffBase => Origin::Preset,
            };
            let is_tuned =
                node.settings.adaptive && tuned(&c, t, s).is_some() && e.get(s) != c.get(s);
            Shown {
                setting: s,
                value: e.get(s),
                origin: if is_tuned {
                    "tuned"
                } else {
                    configured_origin.as_str()
                },
                configured: c.get(s),
            }
        })
        .collect()
}

/// `policies --output json`: `{"service": …, "<setting>": {value, origin, configured}}`.
pub fn json(node: &NodeSpec, cp: Option<&Checkpoint>) -> Vec<Value> {
    node.services
        .values()
        .map(|svc| {
            let mut m = serde_json::Map::new();
            m.insert("service".into(), json!(svc.name));
            for s in of(node, svc, cp) {
                m.insert(s.setting.as_str().into(), s.json());
            }
            Value::Object(m)
        })
        .collect()
}

/// `policies`: one line per service.
pub fn human(node: &NodeSpec, cp: Option<&Checkpoint>) -> Vec<String> {
    node.services
        .values()
        .map(|svc| {
            let values: Vec<String> = of(node, svc, cp).iter().map(Shown::human).collect();
            format!("  service {:<11} {}", svc.name, values.join(", "))
        })
        .collect()
}
