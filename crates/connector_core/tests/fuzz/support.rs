//! What every fuzz test file shares besides the generators: its proptest configuration, a runtime for
//! scans, option maps, and reading a scan to its end.

use connector_core::convert::Cell;
use connector_core::options::OptionMap;
use connector_core::scan::{Next, Scan};
use connector_core::Result;
use proptest::prelude::ProptestConfig;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
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

/// Read a scan to its end. A scan that neither ends nor fails within the deadline is a hang.
pub fn drain(mut scan: Scan) -> Result<Vec<Vec<Cell>>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut rows = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "the scan neither ended nor failed within 30 s");
        match scan.next_block(Duration::from_millis(50))? {
            Next::Block(b) => rows.extend((0..b.rows()).map(|i| b.row(i).to_vec())),
            Next::Waiting => {}
            Next::Done => return Ok(rows),
        }
    }
}
