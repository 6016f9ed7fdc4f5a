//! The test kit of the provider test files: a connector's server on the mocks of crates/mockapi,
//! IMPORT FOREIGN SCHEMA's tables, scans with pushed conditions (checked as the planner would), writes, the
//! requests the mock recorded, and small builders of conditions and cells. A new connector's tests start here
//! (see docs/adding-a-connector.md).

#![allow(dead_code)]

use connector_core::connectors::Resource;
use connector_core::connectors::{self, http_client, validate_server, validate_table, Connector, ServerDef, Table};
use connector_core::convert::{convert, Cell};
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
    /// The client every request goes through, once [`Provider::keep_one_client`] made one; else each call of
    /// [`Provider::http`] makes a fresh one.
    pub kept: Option<Arc<Http>>,
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
        Provider::with(mock, server, map(user))
    }

    /// A server made by the test itself.
    pub fn with(mock: MockServer, server: ServerDef, user: OptionMap) -> Provider {
        validate_server(&server).unwrap();
        let connector = connectors::for_server(&server).unwrap();
        Provider { mock, server, user, connector, kept: None }
    }

    /// Send every request through one client, as the extension keeps one per server and role: its gate
    /// spaces requests (rate limits, waits after a 429) across scans.
    pub fn keep_one_client(mut self) -> Provider {
        self.kept = Some(Arc::new(http_client(&self.server, &self.user, None).unwrap()));
        self
    }

    /// The same mock with more server options (and, if one was kept, a client made for them).
    pub fn with_options(mut self, options: &[(&str, &str)]) -> Provider {
        self.server.options.extend(map(options));
        if self.kept.is_some() {
            self = self.keep_one_client();
        }
        self
    }

    pub fn http(&self) -> Arc<Http> {
        match &self.kept {
            Some(http) => http.clone(),
            None => Arc::new(http_client(&self.server, &self.user, None).unwrap()),
        }
    }

    /// What IMPORT FOREIGN SCHEMA discovers.
    pub fn resources(&self) -> Vec<Resource> {
        runtime().block_on(self.connector.resources(&self.server, &self.http())).unwrap()
    }

    /// The foreign table IMPORT FOREIGN SCHEMA creates for `resource`, plus table `options`.
    pub fn imported(&self, resource: &str, options: &[(&str, &str)]) -> TableDef {
        let found = self
            .resources()
            .into_iter()
            .find(|r| r.name == resource)
            .unwrap_or_else(|| panic!("no resource {resource}"));
        let mut table_options = found.table_options;
        table_options.extend(map(options));
        let columns = found
            .columns
            .into_iter()
            .map(|c| ColumnDef { name: c.name, ty: ColumnType::from_name(&c.sql_type), options: c.options })
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
        self.run(table, opened.as_ref(), &request, max_concurrency)
    }

    /// Scan every column as the planner would plan the query: each condition must be sent to the provider,
    /// `sorts` (the query's ORDER BY) must be pushed, and `limit` is sent only where the planner would send it.
    pub fn scan_planned(
        &self,
        table: &TableDef,
        quals: Vec<Qual>,
        sorts: Vec<Sort>,
        limit: Option<Limit>,
    ) -> Result<Vec<Vec<Cell>>> {
        let all: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        self.scan_planned_columns(table, &all, quals, sorts, limit)
    }

    /// [`Provider::scan_planned`] of the named columns only, as a query using just them.
    pub fn scan_planned_columns(
        &self,
        table: &TableDef,
        columns: &[&str],
        quals: Vec<Qual>,
        sorts: Vec<Sort>,
        limit: Option<Limit>,
    ) -> Result<Vec<Vec<Cell>>> {
        validate_table(&self.server, table)?;
        let opened = self.connector.open(&self.server, table)?;
        let candidates: Vec<Option<Candidate>> =
            quals.iter().map(|q| Some(Candidate { column: q.column.clone(), op: q.op })).collect();
        let decision = decide(&opened.capabilities(), &candidates, &sorts, !sorts.is_empty(), true);
        assert!(decision.placements.iter().all(|p| *p != Placement::Local), "not all pushable: {quals:?}");
        assert_eq!(decision.sort_pushed, !sorts.is_empty(), "sort not pushable: {sorts:?}");
        let limit = limit.filter(|_| decision.limit_pushable);
        let columns = columns.iter().map(|c| at(table, c)).collect();
        let request = ScanRequest { columns, quals, sorts, limit };
        self.run(table, opened.as_ref(), &request, 4)
    }

    /// Run `request` as the executor does, to the last row.
    fn run(
        &self,
        table: &TableDef,
        opened: &dyn Table,
        request: &ScanRequest,
        max_concurrency: usize,
    ) -> Result<Vec<Vec<Cell>>> {
        let runtime = runtime();
        let projector = Arc::new(Projector::new(table, &request.columns)?);
        let rows_needed = request.limit.and_then(|l| l.split(opened.capabilities().supports_offset()).source_rows);
        let settings = ScanSettings { max_concurrency, rows_needed, ..Default::default() };
        let mut scan = Scan::start(runtime.handle(), self.http(), opened.scan(request)?, projector, settings);
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

pub fn qual(column: &str, op: Op, value: V) -> Qual {
    Qual { column: column.into(), op, value }
}

pub fn eq(column: &str, value: &str) -> Qual {
    qual(column, Op::Eq, text(value))
}

pub fn text(s: &str) -> V {
    V::Text(s.into())
}

/// A text cell, as a scan returns it.
pub fn text_cell(s: &str) -> Cell {
    Cell::Text(s.into())
}

/// A `text[]` cell.
pub fn text_array(items: &[&str]) -> Cell {
    Cell::TextArray(items.iter().map(|s| Some(s.to_string())).collect())
}

pub fn timestamptz(time: &str) -> V {
    V::TimestampTz(time.into())
}

pub fn limit(n: u64) -> Option<Limit> {
    Some(Limit { count: Some(n), offset: 0 })
}

/// The position of column `name` in `table`.
pub fn at(table: &TableDef, name: &str) -> usize {
    table.columns.iter().position(|c| c.name == name).unwrap_or_else(|| panic!("no column {name}"))
}

/// The cells of one column.
pub fn column(table: &TableDef, rows: &[Vec<Cell>], name: &str) -> Vec<Cell> {
    let i = at(table, name);
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

/// Whether a cell satisfies a condition as Postgres would (NULL matches only IS NULL).
pub fn holds(cell: &Cell, op: Op, value: &V) -> bool {
    use std::cmp::Ordering;
    let order = |v: &V| -> Option<Ordering> {
        match (cell, v) {
            (Cell::Null, _) => None,
            (Cell::Text(a), V::Text(b)) => Some(a.as_str().cmp(b.as_str())),
            (Cell::Numeric(a), V::Numeric(b)) => a.parse::<f64>().unwrap().partial_cmp(&b.parse::<f64>().unwrap()),
            (Cell::Numeric(a), V::Int(b)) => a.parse::<f64>().unwrap().partial_cmp(&(*b as f64)),
            (Cell::Int(a), V::Int(b)) => Some(a.cmp(b)),
            (Cell::Bool(a), V::Bool(b)) => Some(a.cmp(b)),
            (Cell::Date(a), V::Date(b)) => {
                let Cell::Date(b) = convert(serde_json::json!(b), &ColumnType::Date).unwrap() else { unreachable!() };
                Some(a.cmp(&b))
            }
            other => panic!("cannot compare {other:?}"),
        }
    };
    match op {
        Op::IsNull => *cell == Cell::Null,
        Op::IsNotNull => *cell != Cell::Null,
        Op::Eq => order(value) == Some(Ordering::Equal),
        Op::Ne => order(value).is_some_and(|o| o != Ordering::Equal),
        Op::Lt => order(value) == Some(Ordering::Less),
        Op::Le => order(value).is_some_and(|o| o != Ordering::Greater),
        Op::Gt => order(value) == Some(Ordering::Greater),
        Op::Ge => order(value).is_some_and(|o| o != Ordering::Less),
        Op::In => match value {
            V::List(items) => items.iter().any(|v| order(v) == Some(Ordering::Equal)),
            _ => unreachable!(),
        },
        Op::Like | Op::ILike => unimplemented!("no provider test checks pattern matches against the mock"),
    }
}
