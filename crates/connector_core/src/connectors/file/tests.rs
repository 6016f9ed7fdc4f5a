use super::*;
use crate::connectors::{http_client, validate_server, validate_table};
use crate::convert::Cell;
use crate::model::{ColumnDef, ColumnType, Limit};
use crate::options::OptionMap;
use crate::scan::{Next, Projector, Scan, ScanSettings};
use std::io::Write;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A file under the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, content: &[u8]) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let unique =
            format!("connector_fdw_file_{}_{}_{name}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(unique);
        std::fs::write(&path, content).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn server() -> ServerDef {
    ServerDef { name: "files".into(), options: [("connector".to_string(), "file".to_string())].into() }
}

fn table(options: &[(&str, &str)], columns: &[(&str, ColumnType)]) -> TableDef {
    TableDef {
        name: "t".into(),
        options: options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        columns: columns.iter().map(|(name, ty)| ColumnDef::new(*name, ty.clone())).collect(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

struct Run {
    rows: Vec<Vec<Cell>>,
    /// Rows of each block, one block per page.
    blocks: Vec<usize>,
    pages: u64,
    bytes: u64,
}

fn read_table(rt: &tokio::runtime::Runtime, table: &TableDef, limit: Option<Limit>) -> Result<Run> {
    read_table_of(rt, &server(), table, limit)
}

fn read_table_of(
    rt: &tokio::runtime::Runtime,
    server: &ServerDef,
    table: &TableDef,
    limit: Option<Limit>,
) -> Result<Run> {
    validate_server(server)?;
    validate_table(server, table)?;
    let t = File.open(server, table)?;
    let request = ScanRequest { columns: (0..table.columns.len()).collect(), quals: vec![], sorts: vec![], limit };
    let http = Arc::new(http_client(server, &OptionMap::new(), None)?);
    let projector = Arc::new(Projector::new(table, &request.columns)?);
    let settings =
        ScanSettings { max_concurrency: 4, rows_needed: limit.and_then(|l| l.rows_needed()), ..Default::default() };
    let mut scan = Scan::start(rt.handle(), http, t.scan(&request)?, projector, settings);
    let mut run = Run { rows: Vec::new(), blocks: Vec::new(), pages: 0, bytes: 0 };
    loop {
        match scan.next_block(Duration::from_millis(100))? {
            Next::Block(b) => {
                run.blocks.push(b.rows());
                run.rows.extend((0..b.rows()).map(|i| b.row(i).to_vec()));
            }
            Next::Waiting => {}
            Next::Done => break,
        }
    }
    run.pages = scan.counters.pages.load(Ordering::Relaxed);
    run.bytes = scan.counters.bytes.load(Ordering::Relaxed);
    Ok(run)
}

fn text(s: &str) -> Cell {
    Cell::Text(s.into())
}

const PEOPLE_CSV: &str = "id,name,note,active,amount\n\
    1,Ada,\"said \"\"hi\"\"\",t,10.5\n\
    2,\"Bob, Jr.\",\"line one\nline two\",false,\n\
    \n\
    3,,\"\",true,0\n";

fn people_columns() -> Vec<(&'static str, ColumnType)> {
    vec![
        ("id", ColumnType::Int4),
        ("name", ColumnType::Text),
        ("note", ColumnType::Text),
        ("active", ColumnType::Bool),
        ("amount", ColumnType::Numeric),
    ]
}

fn people_rows() -> Vec<Vec<Cell>> {
    vec![
        vec![Cell::Int(1), text("Ada"), text("said \"hi\""), Cell::Bool(true), Cell::Numeric("10.5".into())],
        vec![Cell::Int(2), text("Bob, Jr."), text("line one\nline two"), Cell::Bool(false), Cell::Null],
        vec![Cell::Int(3), Cell::Null, text(""), Cell::Bool(true), Cell::Numeric("0".into())],
    ]
}

#[test]
fn csv_with_header_reads_quotes_newlines_and_nulls() {
    let rt = runtime();
    let file = TempFile::new("people.csv", PEOPLE_CSV.as_bytes());
    let run = read_table(&rt, &table(&[("path", file.path())], &people_columns()), None).unwrap();
    assert_eq!(run.rows, people_rows());
    assert_eq!(run.bytes, 0, "local files make no requests");
}

#[test]
fn csv_takes_a_delimiter_quote_and_null_marker() {
    let rt = runtime();
    let file = TempFile::new("semi.txt", b"id;name\r\n1;NA\r\n2;\r\n3;'a;b'\r\n4;'NA'\r\n");
    let options = [("path", file.path()), ("format", "csv"), ("delimiter", ";"), ("quote", "'"), ("null", "NA")];
    let run = read_table(&rt, &table(&options, &[("id", ColumnType::Int8), ("name", ColumnType::Text)]), None).unwrap();
    assert_eq!(
        run.rows,
        vec![
            vec![Cell::Int(1), Cell::Null],
            vec![Cell::Int(2), text("")],
            vec![Cell::Int(3), text("a;b")],
            vec![Cell::Int(4), text("NA")],
        ]
    );
}

#[test]
fn csv_without_header_maps_fields_by_column_order() {
    let rt = runtime();
    let file = TempFile::new("plain.csv", b"1,Ada,x\n2,Bob,y\n");
    let options = [("path", file.path()), ("header", "false")];
    let run = read_table(&rt, &table(&options, &[("id", ColumnType::Int4), ("name", ColumnType::Text)]), None).unwrap();
    assert_eq!(run.rows, vec![vec![Cell::Int(1), text("Ada")], vec![Cell::Int(2), text("Bob")]]);
}

#[test]
fn json_arrays_are_read_element_by_element() {
    let rt = runtime();
    let json = r#" [
            {"id": 1, "name": "a, b]", "address": {"city": "Oslo"}, "tags": ["x", "]"]},
            {"id": 2, "name": "quote \" and \\", "address": {"city": "Rome"}},
            {"id": "3", "name": null}
        ]
        "#;
    let file = TempFile::new("people.json", json.as_bytes());
    let mut t =
        table(&[("path", file.path()), ("page_size", "2")], &[("id", ColumnType::Int8), ("name", ColumnType::Text)]);
    t.columns.push(ColumnDef::new("city", ColumnType::Text).with_option("path", "$.address.city"));
    let run = read_table(&rt, &t, None).unwrap();
    assert_eq!(
        run.rows,
        vec![
            vec![Cell::Int(1), text("a, b]"), text("Oslo")],
            vec![Cell::Int(2), text("quote \" and \\"), text("Rome")],
            vec![Cell::Int(3), Cell::Null, Cell::Null],
        ]
    );
    assert_eq!(run.blocks, vec![2, 1]);
    let empty = TempFile::new("empty.json", b" [ ] \n");
    assert!(read_table(&rt, &table(&[("path", empty.path())], &[("id", ColumnType::Int8)]), None)
        .unwrap()
        .rows
        .is_empty());
}

#[test]
fn a_large_json_file_streams_in_bounded_pages() {
    const RECORDS: u64 = 200_000;
    let file = TempFile::new("large.json", b"");
    {
        let mut out = io::BufWriter::new(std::fs::File::create(&file.0).unwrap());
        out.write_all(b"[\n").unwrap();
        for i in 0..RECORDS {
            let sep = if i + 1 < RECORDS { "," } else { "" };
            writeln!(out, r#"{{"id": {i}, "name": "name {i}", "tags": ["a", "b"], "extra": {{"n": {i}}}}}{sep}"#)
                .unwrap();
        }
        out.write_all(b"]\n").unwrap();
    }
    let rt = runtime();
    let t = table(&[("path", file.path())], &[("id", ColumnType::Int8)]);
    let run = read_table(&rt, &t, None).unwrap();
    assert_eq!(run.rows.len() as u64, RECORDS);
    assert!(run.rows.iter().enumerate().all(|(i, r)| r[0] == Cell::Int(i as i64)));
    assert!(run.blocks.iter().all(|&rows| rows <= 1000), "no page exceeds page_size");
    // 200 full pages, then one that finds the end.
    assert_eq!(run.pages, 201);
    assert_eq!(run.blocks.len(), 201);
}

#[test]
fn a_limit_reads_only_the_rows_it_needs() {
    let rt = runtime();
    let lines: String = (0..5000).map(|i| format!("{{\"id\": {i}}}\n")).collect();
    let file = TempFile::new("ids.ndjson", lines.as_bytes());
    let t = table(&[("path", file.path())], &[("id", ColumnType::Int8)]);
    let run = read_table(&rt, &t, Some(Limit { count: Some(5), offset: 2 })).unwrap();
    assert_eq!(run.rows.len(), 7);
    assert_eq!(run.pages, 1);
}

#[test]
fn ndjson_skips_blank_lines() {
    let rt = runtime();
    let file = TempFile::new(
        "events.jsonl",
        b"{\"id\": 1, \"kind\": \"a\"}\n\n   \r\n{\"id\": 2, \"kind\": \"b\"}\r\n{\"id\": 3}",
    );
    let run = read_table(
        &rt,
        &table(&[("path", file.path())], &[("id", ColumnType::Int4), ("kind", ColumnType::Text)]),
        None,
    )
    .unwrap();
    assert_eq!(
        run.rows,
        vec![vec![Cell::Int(1), text("a")], vec![Cell::Int(2), text("b")], vec![Cell::Int(3), Cell::Null]]
    );
}

/// The error of scanning `content` as a file named `name`, and the file's path.
fn scan_error(name: &str, content: &[u8]) -> (Error, String) {
    let file = TempFile::new(name, content);
    let e = read_table(&runtime(), &table(&[("path", file.path())], &[("id", ColumnType::Text)]), None)
        .err()
        .expect("an error");
    (e, file.path().to_string())
}

#[test]
fn malformed_files_are_bad_file_format_errors() {
    let cases: [(&str, &[u8], &str); 9] = [
        ("a.csv", b"id,b\n1,\"x\n2,3\n", "CSV in file \"{}\" of foreign table \"t\", line 2: a quoted field is not closed before the end of the file"),
        ("b.csv", b"id,b\n1,2\n3\n", "CSV in file \"{}\" of foreign table \"t\", line 3: expected 2 fields, found 1"),
        ("c.csv", b"id,b\n1,\xff\n", "CSV in file \"{}\" of foreign table \"t\", line 2: invalid UTF-8 (invalid utf-8 sequence of 1 bytes from index 0)"),
        ("d.csv", b"id,b,id\n", "CSV in file \"{}\" of foreign table \"t\", line 1: the header names \"id\" twice"),
        ("e.csv", b"id,,b\n", "CSV in file \"{}\" of foreign table \"t\", line 1: the header has an empty name (field 2)"),
        ("f.json", b"[{\"id\": 1},\n {\"id\": 2,}]", "JSON in file \"{}\" of foreign table \"t\", record 2 (line 2): trailing comma"),
        ("g.json", b"\n{\"id\": 1}", "JSON in file \"{}\" of foreign table \"t\", line 2: expected an array of records, found '{' (format ndjson reads one value per line)"),
        ("h.json", b"[1, 2", "JSON in file \"{}\" of foreign table \"t\", line 1: the file ends inside the array (no closing ']')"),
        ("i.ndjson", b"{\"id\": 1}\n{id: 2}\n", "NDJSON in file \"{}\" of foreign table \"t\", line 2: key must be a string"),
    ];
    for (name, content, expected) in cases {
        let (e, path) = scan_error(name, content);
        assert_eq!(e.kind, ErrorKind::BadFileFormat, "{name}: {}", e.message);
        assert_eq!(e.kind.sqlstate(), "22P04");
        assert_eq!(e.message, format!("invalid {}", expected.replace("{}", &path)), "{name}");
    }
    let (e, _) = scan_error("j.json", b"[1,]");
    assert!(e.message.ends_with("record 2 (line 1): expected a value"), "{}", e.message);
    let (e, _) = scan_error("k.json", b"[1] [2]");
    assert!(e.message.ends_with("line 1: unexpected data after the array"), "{}", e.message);
}

#[test]
fn missing_and_unreadable_files_have_their_own_kinds() {
    let missing = std::env::temp_dir().join(format!("connector_fdw_file_{}_missing.csv", std::process::id()));
    let t = table(&[("path", missing.to_str().unwrap())], &[("id", ColumnType::Text)]);
    let e = read_table(&runtime(), &t, None).err().unwrap();
    assert_eq!(e.kind, ErrorKind::FileNotFound);
    assert_eq!(
        e.message,
        format!(
            "cannot open file \"{}\" of foreign table \"t\": No such file or directory (os error 2)",
            missing.display()
        )
    );

    let file = TempFile::new("secret.csv", b"id\n1\n");
    let t = table(&[("path", file.path())], &[("id", ColumnType::Text)]);
    std::fs::set_permissions(&file.0, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    // A superuser reads the file anyway; the mapping of the OS error is what matters.
    let e = match std::fs::File::open(&file.0) {
        Err(_) => read_table(&runtime(), &t, None).err().unwrap(),
        Ok(_) => FileTable::new(&server(), &t).unwrap().io_error("open", io::Error::from_raw_os_error(13)),
    };
    assert_eq!(e.kind, ErrorKind::InsufficientPrivilege);
    assert_eq!(
        e.message,
        format!("cannot open file \"{}\" of foreign table \"t\": Permission denied (os error 13)", file.path())
    );
}

#[test]
fn options_are_checked_as_a_whole() {
    let check = |options: &[(&str, &str)]| validate_table(&server(), &table(options, &[("id", ColumnType::Text)]));
    let e = check(&[("path", "/x.csv"), ("url", "http://h/x.csv")]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionName);
    assert_eq!(e.message, "foreign table \"t\" has both options \"path\" and \"url\"");
    let e = check(&[("format", "csv")]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::MissingOption);
    assert_eq!(e.message, "option \"path\" or \"url\" is required for a foreign table of connector \"file\"");
    let e = check(&[("path", "/x.json"), ("delimiter", ";")]).unwrap_err();
    assert_eq!(e.message, "option \"delimiter\" applies to format csv only, but foreign table \"t\" reads json");
    let e = check(&[("url", "https://h/x.csv"), ("format", "ndjson"), ("header", "false")]).unwrap_err();
    assert_eq!(e.message, "option \"header\" applies to format csv only, but foreign table \"t\" reads ndjson");
    let e = check(&[("path", "/x.csv"), ("delimiter", "||")]).unwrap_err();
    assert_eq!(e.message, "invalid value for option \"delimiter\": \"||\" is not a single one-byte character");
    let e = check(&[("path", "/x.csv"), ("quote", ",")]).unwrap_err();
    assert_eq!(e.message, "invalid value for option \"quote\": it must differ from the delimiter");
    assert_eq!(check(&[("url", "ftp://h/x.csv")]).unwrap_err().kind, ErrorKind::InvalidOptionValue);
    assert_eq!(check(&[("path", "/x.csv"), ("format", "xml")]).unwrap_err().kind, ErrorKind::InvalidOptionValue);
    assert!(check(&[("path", "/x.tsv"), ("delimiter", "\t"), ("null", "\\N"), ("header", "off")]).is_ok());
}

#[test]
fn explain_shows_the_source_and_format() {
    let describe = |options: &[(&str, &str)]| {
        let request = ScanRequest { columns: vec![0], quals: vec![], sorts: vec![], limit: None };
        File.open(&server(), &table(options, &[("id", ColumnType::Text)])).unwrap().describe(&request)
    };
    assert_eq!(describe(&[("path", "/data/x.csv")]), vec!["read file /data/x.csv (csv, header)"]);
    assert_eq!(describe(&[("path", "/data/x.CSV"), ("header", "false")]), vec!["read file /data/x.CSV (csv)"]);
    assert_eq!(describe(&[("path", "/data/x.jsonl")]), vec!["read file /data/x.jsonl (ndjson)"]);
    assert_eq!(
        describe(&[("url", "https://u:p@h/export.json?token=abc&day=1")]),
        vec!["GET https://REDACTED@h/export.json?token=REDACTED&day=1 (json)"]
    );
    let caps = File.open(&server(), &table(&[("path", "/x.csv")], &[("id", ColumnType::Text)])).unwrap().capabilities();
    assert!(caps.supports_limit() && !caps.supports_offset());
    assert_eq!(caps.declared_filters().count(), 0);
}

/// Serve `body` at /people.csv, and in pieces 50 ms apart at /slow.csv; /short.csv announces more than it
/// sends, /stall.csv stops sending; anything else is 404.
async fn serve(listener: tokio::net::TcpListener, body: &'static str) {
    while let Ok((mut socket, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&request).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or_default();
            let ok = |length: usize| {
                format!("HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {length}\r\n\r\n")
            };
            let pieces = match path {
                "/people.csv" => vec![ok(body.len()), body.to_string()],
                "/slow.csv" => std::iter::once(ok(body.len()))
                    .chain(body.as_bytes().chunks(8).map(|c| String::from_utf8_lossy(c).into_owned()))
                    .collect(),
                "/short.csv" => vec![ok(body.len() + 100), body.to_string()],
                // The empty piece stands for a stall.
                "/stall.csv" => vec![ok(body.len()), body[..10].to_string(), String::new()],
                _ => vec!["HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()],
            };
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 {
                    let pause = if piece.is_empty() { 10_000 } else { 50 };
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                let _ = socket.write_all(piece.as_bytes()).await;
            }
            let _ = socket.shutdown().await;
        });
    }
}

#[test]
fn urls_stream_the_same_rows_as_files() {
    let rt = runtime();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(serve(listener, PEOPLE_CSV));

    let url = format!("{base}/people.csv");
    let run = read_table(&rt, &table(&[("url", &url), ("page_size", "1")], &people_columns()), None).unwrap();
    assert_eq!(run.rows, people_rows());
    assert_eq!(run.blocks, vec![1, 1, 1, 0], "one stream read across pages");
    assert_eq!(run.bytes, PEOPLE_CSV.len() as u64);

    // The timeout bounds each wait for data, not the whole download.
    let quick = ServerDef {
        name: "quick".into(),
        options: server().options.into_iter().chain([("timeout_ms".to_string(), "300".to_string())]).collect(),
    };
    let slow = format!("{base}/slow.csv");
    let started = std::time::Instant::now();
    let run = read_table_of(&rt, &quick, &table(&[("url", &slow)], &people_columns()), None).unwrap();
    assert_eq!(run.rows, people_rows());
    assert!(started.elapsed() > Duration::from_millis(300), "{:?}", started.elapsed());
    let stall = format!("{base}/stall.csv");
    let e = read_table_of(&rt, &quick, &table(&[("url", &stall)], &people_columns()), None).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Connection);
    assert_eq!(
        e.message,
        format!("cannot read URL {stall} of foreign table \"t\": GET {stall} failed: no data within 300 ms")
    );

    let short = format!("{base}/short.csv");
    let e = read_table(&rt, &table(&[("url", &short)], &people_columns()), None).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Connection);
    assert_eq!(
        e.message,
        format!("cannot read URL {short} of foreign table \"t\": GET {short} failed: the connection broke off")
    );

    let missing = format!("{base}/missing.csv");
    let e = read_table(&rt, &table(&[("url", &missing)], &people_columns()), None).err().unwrap();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(
        e.message,
        format!("cannot read URL {missing} of foreign table \"t\": GET {missing} failed: HTTP 404 Not Found")
    );
}
