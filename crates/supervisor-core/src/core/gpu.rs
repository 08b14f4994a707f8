//! One GPU as this run sees it: the single shape the live probe, the world
//! record and the policies share for a GPU's memory (and, where the driver
//! says, its temperature and utilization). Pure.
use crate::num::as_f64;
use crate::world::GpuUse;

/// One GPU's reading: the live probe's (NVML or `nvidia-smi`), else the
/// world's resources record.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GpuReading {
    pub index: u32,
    pub used_bytes: u64,
    /// 0: the GPU reported no usable total; it is never judged.
    pub total_bytes: u64,
    /// Degrees Celsius, when the driver reports it.
    pub temperature_c: Option<f64>,
    /// 0.0–1.0, when the driver reports it.
    pub utilization: Option<f64>,
}

impl GpuReading {
    /// used / total; `None` without a total.
    pub fn used_ratio(&self) -> Option<f64> {
        (self.total_bytes > 0).then(|| as_f64(self.used_bytes) / as_f64(self.total_bytes))
    }

    /// Bytes not in use.
    pub fn free_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.used_bytes)
    }
}

impl From<&GpuUse> for GpuReading {
    fn from(g: &GpuUse) -> Self {
        GpuReading {
            index: g.index,
            used_bytes: g.memory_used_bytes,
            total_bytes: g.memory_total_bytes,
            temperature_c: g.temperature_c,
            utilization: g.utilization,
        }
    }
}
