//! A defined connector's server on the provider mocks of crates/mockapi, for the provider test files
//! (stripe.rs, slack.rs, close.rs): IMPORT FOREIGN SCHEMA's tables, scans with pushed conditions, writes,
//! and the requests the mock recorded.

#![allow(dead_code)]

use connector_core::connectors::{self, http_client, validate_server, validate_table, Connector, ServerDef, Table};
use connector_core::convert::Cell;
use connector_core::http::{Counters, Http};
use connector_core::model::{ColumnDef, ColumnType, Limit, Op, Qual, ScanRequest, Sort, TableDef, Value as V};
use connector_core::options::OptionMap;
use connector_core::pushdown::{decide, Candidate, Placement};
use connector_core::scan::{Next, Projector, Scan, ScanSettings};
use connector_core::write::Writer;
use connector_core::Result;
use mockapi::{MockServer, RecordedRequest};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub fn map(pairs: &[(&str, &str)]) -> OptionMap {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

pub struct Provider {
    pub mock: MockServer,
    pub server: ServerDef,
    pub user: OptionMap,
    pub connector: Arc<dyn Connector>,
}

impl Provider {
    /// A server of `connector` on the mock's `prefix`, with extra server options and the mapping `user`.
    pub fn start(connector: &str, prefix: &str, options: &[(&str, &str)], user: &[(&str, &str)]) -> Provider {
        let mock = MockServer::start_blocking();
        Provider::on(mock, connector, prefix, options, user)
    }

    pub fn on(
        mock: MockServer,
        connector: &str,
        prefix: &str,
        options: &[(&str, &str)],
        user: &[(&str, &str)],
    ) -> Provider {
        let base_url = format!("{}{prefix}", mock.url());
        let mut server_options = map(&[("connector", connector), ("base_url", &base_url)]);
        server_options.extend(map(options));
        let server = ServerDef { name: connector.into(), options: server_options };
        validate_server(&server).unwrap();
        let connector = connectors::for_server(&server).unwrap();
        Provider { mock, server, user: map(user), connector }
    }

    pub fn http(&self) -> Http {
        http_client(&self.server, &self.user, None).unwrap()
    }

    /// The foreign table IMPORT FOREIGN SCHEMA creates for `resource`, plus table `options`.
    pub fn imported(&self, resource: &str, options: &[(&str, &str)]) -> TableDef {
        let resources = runtime().block_on(self.connector.resources(&self.server, &self.http())).unwrap();
        let found =
            resources.into_iter().find(|r| r.name == resource).unwrap_or_else(|| panic!("no resource {resource}"));
        let mut table_options = found.table_options;
        table_options.extend(map(options));
        let columns = found
            .columns
            .into_iter()
            .map(|c| ColumnDef { name: c.name, ty: column_type(&c.sql_type), options: c.options })
            .collect();
        TableDef { name: found.name, options: table_options, columns }
    }

    pub fn open(&self, table: &TableDef) -> Arc<dyn Table> {
        validate_table(&self.server, table).unwrap();
        self.connector.open(&self.server, table).unwrap()
    }

    /// Where the planner puts each condition.
    pub fn placements(&self, table: &TableDef, quals: &[Qual]) -> Vec<Placement> {
        let candidates: Vec<Option<Candidate>> =
            quals.iter().map(|q| Some(Candidate { column: q.column.clone(), op: q.op })).collect();
        decide(&self.open(table).capabilities(), &candidates, &[], false, true).placements
    }

    /// Scan every column with `quals` pushed (each must be pushable) and `limit`.
    pub fn scan(&self, table: &TableDef, quals: Vec<Qual>, limit: Option<Limit>) -> Result<Vec<Vec<Cell>>> {
        self.scan_sorted(table, quals, vec![], limit)
    }

    /// `scan` with an ORDER BY pushed too (it must be pushable).
    pub fn scan_sorted(
        &self,
        table: &TableDef,
        quals: Vec<Qual>,
        sorts: Vec<Sort>,
        limit: Option<Limit>,
    ) -> Result<Vec<Vec<Cell>>> {
        self.scan_with(table, quals, sorts, limit, 4)
    }

    /// [`Provider::scan_sorted`] with at most `max_concurrency` pages of a numbered source in flight.
    pub fn scan_with(
        &self,
        table: &TableDef,
        quals: Vec<Qual>,
        sorts: Vec<Sort>,
        limit: Option<Limit>,
        max_concurrency: usize,
    ) -> Result<Vec<Vec<Cell>>> {
        validate_table(&self.server, table)?;
        let opened = self.connector.open(&self.server, table)?;
        let placements = self.placements(table, &quals);
        assert!(placements.iter().all(|p| *p != Placement::Local), "not all pushable: {quals:?} {placements:?}");
        assert!(sorts.is_empty() || opened.capabilities().can_sort(&sorts), "sort not pushable: {sorts:?}");
        let request = ScanRequest { columns: (0..table.columns.len()).collect(), quals, sorts, limit };
        let runtime = runtime();
        let projector = Arc::new(Projector::new(table, &request.columns)?);
        let rows_needed = limit.and_then(|l| l.split(opened.capabilities().supports_offset()).source_rows);
        let settings = ScanSettings { max_concurrency, rows_needed, ..Default::default() };
        let mut scan =
            Scan::start(runtime.handle(), Arc::new(self.http()), opened.scan(&request)?, projector, settings);
        let mut rows = Vec::new();
        loop {
            match scan.next_block(Duration::from_millis(100))? {
                Next::Block(b) => rows.extend((0..b.rows()).map(|i| b.row(i).to_vec())),
                Next::Waiting => {}
                Next::Done => return Ok(rows),
            }
        }
    }

    /// What EXPLAIN shows for a scan with `quals`.
    pub fn describe(&self, table: &TableDef, quals: Vec<Qual>) -> Vec<String> {
        let request = ScanRequest { columns: (0..table.columns.len()).collect(), quals, sorts: vec![], limit: None };
        self.open(table).describe(&request)
    }

    pub fn writer(&self, table: &TableDef) -> Arc<dyn Writer> {
        self.open(table).writer().expect("the resource declares writes")
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.mock.requests()
    }

    /// The requests as `METHOD path?query`.
    pub fn sent(&self) -> Vec<String> {
        self.requests().iter().map(|r| format!("{} {}?{}", r.method, r.path, r.query)).collect()
    }
}

/// Run a write future.
pub fn block<T>(future: impl std::future::Future<Output = T>) -> T {
    runtime().block_on(future)
}

pub fn counters() -> Counters {
    Counters::default()
}

/// A record of `table` with the given column values, as the FDW layer builds it.
pub fn record(table: &TableDef, values: &[(&str, Value)]) -> Value {
    let at =
        |name: &str| table.columns.iter().position(|c| c.name == name).unwrap_or_else(|| panic!("no column {name}"));
    let values: Vec<(usize, Value)> = values.iter().map(|(n, v)| (at(n), v.clone())).collect();
    connector_core::write::record(table, &values).unwrap()
}

pub fn column_type(sql: &str) -> ColumnType {
    ColumnType::from_name(sql)
}

pub fn qual(column: &str, op: Op, value: V) -> Qual {
    Qual { column: column.into(), op, value }
}

pub fn eq(column: &str, value: &str) -> Qual {
    qual(column, Op::Eq, V::Text(value.into()))
}

pub fn at(time: &str) -> V {
    V::TimestampTz(time.into())
}

pub fn limit(n: u64) -> Option<Limit> {
    Some(Limit { count: Some(n), offset: 0 })
}

/// The cells of one column.
pub fn column(table: &TableDef, rows: &[Vec<Cell>], name: &str) -> Vec<Cell> {
    let i = table.columns.iter().position(|c| c.name == name).unwrap();
    rows.iter().map(|r| r[i].clone()).collect()
}

pub fn texts(cells: Vec<Cell>) -> Vec<String> {
    cells
        .into_iter()
        .map(|c| match c {
            Cell::Text(s) => s,
            other => panic!("not text: {other:?}"),
        })
        .collect()
}
