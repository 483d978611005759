//! Reading back what criterion measured, to print ratios after a run.

use std::path::PathBuf;

/// The estimate criterion printed for `group/name` in this run (its slope
/// when it has one, else its mean), in nanoseconds.
pub fn estimate(group: &str, name: &str) -> Option<f64> {
    let dir = std::env::var_os("CRITERION_HOME").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
            .join("criterion")
    });
    let text = std::fs::read_to_string(dir.join(group).join(name).join("new/estimates.json")).ok()?;
    let estimates = serde_json::from_str::<serde_json::Value>(&text).ok()?;
    estimates["slope"]["point_estimate"].as_f64().or_else(|| estimates["mean"]["point_estimate"].as_f64())
}
