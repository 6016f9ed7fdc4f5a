//! Partitioned cursor scans: windows, their splitting, and the partition options.

use super::*;

/// The mock's cursor listing, with `id` and `created_at` range-filterable.
fn partitioned_customers(path: &str, partition: &[(&'static str, &'static str)]) -> TableDef {
    let mut options = vec![
        ("path", path),
        ("rows", "$.data"),
        ("pagination", "cursor"),
        ("page_size_param", "limit"),
        ("page_size", "10"),
        ("cursor_path", "$.next_cursor"),
    ];
    options.extend_from_slice(partition);
    TableDef {
        name: "customers".into(),
        options: map(&options),
        columns: vec![
            ColumnDef::new("id", ColumnType::Int4)
                .with_option("filter_param_gte", "id_gte")
                .with_option("filter_param_lt", "id_lt"),
            ColumnDef::new("name", ColumnType::Text),
            ColumnDef::new("created_at", ColumnType::TimestampTz)
                .with_option("filter_param_gte", "created_at_gte")
                .with_option("filter_param_lte", "created_at_lte"),
        ],
    }
}

/// Ids in delivery order, the scan's warnings and the windows it walked.
fn run_windows(
    base: &str,
    table: &TableDef,
    req: &ScanRequest,
    max_concurrency: usize,
) -> (Vec<i64>, Vec<String>, u64) {
    let t = Rest.open(&server(base), table).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let http = Arc::new(http_client(&server(base), &OptionMap::new(), None).unwrap());
    let projector = Arc::new(Projector::new(table, &req.columns).unwrap());
    let rows_needed = req.limit.and_then(|l| l.rows_needed());
    let settings = ScanSettings { max_concurrency, rows_needed, ..Default::default() };
    let mut scan = Scan::start(runtime.handle(), http, t.scan(req).unwrap(), projector, settings);
    let mut ids = Vec::new();
    loop {
        match scan.next_block(Duration::from_millis(100)).unwrap() {
            Next::Block(b) => ids.extend((0..b.rows()).map(|i| match b.row(i)[0] {
                crate::convert::Cell::Int(id) => id,
                ref other => panic!("{other:?}"),
            })),
            Next::Waiting => {}
            Next::Done => return (ids, scan.take_warnings(), scan.counters.snapshot().windows),
        }
    }
}

fn qual(column: &str, op: Op, value: V) -> Qual {
    Qual { column: column.into(), op, value }
}

/// Every record in the first of 8 windows: with the list's order declared, the idle windows' slots take
/// over the part of it not yet read.
#[test]
fn a_dense_window_is_split_when_the_order_is_declared() {
    let mock = mockapi::MockServer::start_blocking();
    let quals = vec![qual("id", Op::Ge, V::Int(1)), qual("id", Op::Lt, V::Int(100_000))];
    let req = ScanRequest { columns: vec![0, 1, 2], quals, sorts: vec![], limit: None };
    for (order, split) in [(None, false), (Some("asc"), true)] {
        let mut options = vec![("partition_column", "id")];
        options.extend(order.map(|o| ("partition_order", o)));
        let table = partitioned_customers("/n/1000/cursor/customers", &options);
        let (mut ids, warnings, windows) = run_windows(&mock.url(), &table, &req, 8);
        ids.sort();
        assert_eq!(ids, (1..=1000).collect::<Vec<_>>(), "{order:?}");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(windows > 8, split, "{order:?}: {windows} windows");
    }
}

#[test]
fn partitioned_cursor_scans_read_every_record_once() {
    let mock = mockapi::MockServer::start_blocking();
    let columns = vec![0, 1, 2];
    // On `id` with `<`; on `created_at` (a record every minute) with `<=` only, split on whole minutes so
    // that records lie exactly on every boundary.
    let cases: Vec<(TableDef, Vec<Qual>, Vec<i64>)> = vec![
        (
            partitioned_customers("/n/1000/cursor/customers", &[("partition_column", "id")]),
            vec![qual("id", Op::Ge, V::Int(1)), qual("id", Op::Lt, V::Int(1001))],
            (1..=1000).collect(),
        ),
        (
            partitioned_customers("/n/1000/cursor/customers", &[("partition_column", "id"), ("partition_start", "0")]),
            vec![qual("id", Op::Lt, V::Int(801))],
            (1..=800).collect(),
        ),
        (
            partitioned_customers(
                "/n/1000/cursor/customers",
                &[("partition_column", "created_at"), ("partition_start", "2024-01-01 00:00:00+00")],
            ),
            vec![qual("created_at", Op::Le, V::TimestampTz("2024-01-01T16:00:00Z".into()))],
            (1..=960).collect(),
        ),
    ];
    for (table, quals, expected) in cases {
        let req = ScanRequest { columns: columns.clone(), quals, sorts: vec![], limit: None };
        mock.reset();
        let (sequential, warnings, windows) = run_windows(&mock.url(), &table, &req, 1);
        assert_eq!((sequential.clone(), warnings.len(), windows), (expected.clone(), 0, 0), "{:?}", table.options);
        assert_eq!(mock.request_count(), expected.len() as u64 / 10, "one walk");
        mock.reset();
        let (mut partitioned, warnings, windows) = run_windows(&mock.url(), &table, &req, 8);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(windows, 8, "{:?}", table.options);
        partitioned.sort();
        assert_eq!(partitioned, expected, "{:?}", table.options);
        let asked = queries(&mock);
        assert!(asked.iter().all(|q| q.contains("_gte=") || q.contains("_lt")), "{asked:?}");
    }
    // A query that does not read the column: windows still read it to check their records.
    mock.reset();
    let table = partitioned_customers(
        "/n/1000/cursor/customers",
        &[("partition_column", "created_at"), ("partition_start", "2024-01-01")],
    );
    let req = ScanRequest { columns: vec![0], quals: vec![], sorts: vec![], limit: None };
    let (mut ids, warnings, windows) = run_windows(&mock.url(), &table, &req, 8);
    ids.sort();
    assert_eq!((ids, warnings, windows > 0), ((1..=1000).collect::<Vec<_>>(), vec![], true));
    // The window requests.
    mock.reset();
    let table = partitioned_customers("/n/1000/cursor/customers", &[("partition_column", "id")]);
    let req = ScanRequest {
        columns: columns.clone(),
        quals: vec![qual("id", Op::Ge, V::Int(1)), qual("id", Op::Lt, V::Int(1001))],
        sorts: vec![],
        limit: None,
    };
    let (mut ids, _, _) = run_windows(&mock.url(), &table, &req, 4);
    ids.sort();
    assert_eq!(ids, (1..=1000).collect::<Vec<_>>());
    let mut firsts: Vec<String> = queries(&mock).into_iter().filter(|q| !q.contains("cursor=")).collect();
    firsts.sort();
    assert_eq!(
        firsts,
        vec![
            "/n/1000/cursor/customers?id_gte=1&id_lt=251&limit=10",
            "/n/1000/cursor/customers?id_gte=251&id_lt=501&limit=10",
            "/n/1000/cursor/customers?id_gte=501&id_lt=751&limit=10",
            "/n/1000/cursor/customers?id_gte=751&id_lt=1001&limit=10",
        ]
    );
}

#[test]
fn a_provider_ignoring_range_parameters_is_read_in_one_walk() {
    let mock = mockapi::MockServer::start_blocking();
    let table = partitioned_customers("/norange/n/300/cursor/customers", &[("partition_column", "id")]);
    let req = ScanRequest {
        columns: vec![0],
        quals: vec![qual("id", Op::Ge, V::Int(1)), qual("id", Op::Lt, V::Int(301))],
        sorts: vec![],
        limit: None,
    };
    let (ids, warnings, windows) = run_windows(&mock.url(), &table, &req, 8);
    assert_eq!(ids, (1..=300).collect::<Vec<_>>(), "no row lost or duplicated");
    assert_eq!(windows, 0);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("the provider ignored the range of partition column \"id\""), "{}", warnings[0]);
}

#[test]
fn scans_without_a_lower_bound_or_with_single_values_walk_once() {
    let server = server("http://127.0.0.1:1");
    let table = partitioned_customers("/cursor/customers", &[("partition_column", "id")]);
    let t = Rest.open(&server, &table).unwrap();
    let req = |quals: Vec<Qual>, sorts: Vec<Sort>, limit: Option<Limit>| ScanRequest {
        columns: vec![0],
        quals,
        sorts,
        limit,
    };
    let lower = || qual("id", Op::Ge, V::Int(1));
    assert!(t.partitioner(&req(vec![], vec![], None)).is_none(), "no lower bound");
    assert!(t.partitioner(&req(vec![lower()], vec![], None)).is_some());
    let by_name = Sort { column: "name".into(), desc: false, nulls_first: false };
    assert!(t.partitioner(&req(vec![lower()], vec![by_name], None)).is_none(), "another order");
    let by_id = Sort { column: "id".into(), desc: true, nulls_first: true };
    assert!(t.partitioner(&req(vec![lower()], vec![by_id], None)).is_some_and(|p| p.descending()));
    let one_page = Some(Limit { count: Some(10), offset: 0 });
    assert!(t.partitioner(&req(vec![lower()], vec![], one_page)).is_none(), "a LIMIT of one page");
    let started = partitioned_customers("/cursor/customers", &[("partition_column", "id"), ("partition_start", "1")]);
    let t = Rest.open(&server, &started).unwrap();
    let p = t.partitioner(&req(vec![], vec![], None)).unwrap();
    assert_eq!(p.range().0, 1);
    assert!(p.range().1 > 1_700_000_000, "integers are bounded by the start time in Unix seconds");
}

#[test]
fn partition_options_are_checked() {
    let s = server("http://127.0.0.1:1");
    let check = |path: &str, options: &[(&'static str, &'static str)]| {
        let mut table = partitioned_customers(path, options);
        table.columns.push(
            ColumnDef::new("note", ColumnType::Text)
                .with_option("filter_param_gte", "note_gte")
                .with_option("filter_param_lt", "note_lt"),
        );
        table.columns.push(ColumnDef::new("amount", ColumnType::Int4).with_option("filter_param_gte", "amount_gte"));
        validate_table(&s, &table).map_err(|e| (e.message, e.hint.unwrap_or_default()))
    };
    assert!(check("/c", &[("partition_column", "created_at"), ("partition_start", "2024-01-01")]).is_ok());
    assert_eq!(
        check("/c", &[("partition_column", "nope")]).unwrap_err().0,
        "invalid value for option \"partition_column\": foreign table \"customers\" has no column \"nope\""
    );
    let (message, hint) = check("/c", &[("partition_column", "note")]).unwrap_err();
    assert_eq!(message, "invalid value for option \"partition_column\": column \"note\" is of type text, which cannot be split into ranges");
    assert_eq!(hint, "Name a column of an integer, date or timestamp type, such as a creation time.");
    let (message, hint) = check("/c", &[("partition_column", "amount")]).unwrap_err();
    assert_eq!(
        message,
        "invalid value for option \"partition_column\": column \"amount\" is not declared range-filterable"
    );
    assert!(hint.ends_with("OPTIONS (ADD filter_param_lt 'amount_lt')."), "{hint}");
    assert_eq!(
        check("/c", &[("partition_column", "id"), ("partition_start", "soon")]).unwrap_err().0,
        "invalid value for option \"partition_start\": \"soon\" is not a value of column \"id\" (integer)"
    );
    assert_eq!(
        check("/c", &[("partition_start", "1")]).unwrap_err().0,
        "option \"partition_start\" needs partition_column"
    );
    assert_eq!(
        check("/c", &[("partition_order", "desc")]).unwrap_err().0,
        "option \"partition_order\" needs partition_column"
    );
    assert!(check("/c", &[("partition_column", "id"), ("partition_order", "desc")]).is_ok());
    let mut paged = partitioned_customers("/c", &[("partition_column", "id")]);
    paged.options.insert("pagination".into(), "page".into());
    paged.options.remove("cursor_path");
    assert_eq!(
        validate_table(&s, &paged).unwrap_err().message,
        "option \"partition_column\" applies to pagination 'cursor' or 'link' (numbered pages are fetched concurrently already)"
    );
}
