//! What every fuzz test file shares besides the generators: its proptest configuration, a runtime for
//! scans, and option maps.

use connector_core::options::OptionMap;
use proptest::prelude::ProptestConfig;
use std::sync::OnceLock;
use tokio::runtime::Runtime;

/// `cases` cases unless PROPTEST_CASES says otherwise. Failures are not persisted to files: a panic found
/// here gets a plain unit test next to its fix instead.
pub fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap())
}

pub fn map(pairs: &[(&str, &str)]) -> OptionMap {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
