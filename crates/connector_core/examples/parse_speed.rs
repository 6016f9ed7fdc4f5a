//! Parse-and-project speed of one page shape, full parse vs pruned parse (no network, no Postgres).
//! `cargo run --release -p connector_core --example parse_speed -- <file with one JSON page>`
use connector_core::jsonpath::JsonPath;
use connector_core::model::{ColumnDef, ColumnType, TableDef};
use connector_core::prune::Shape;
use connector_core::scan::Projector;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("a JSON page file");
    let body = std::fs::read(path).expect("readable");
    let columns = vec![
        ColumnDef::new("id", ColumnType::Int4),
        ColumnDef::new("name", ColumnType::Text),
        ColumnDef::new("email", ColumnType::Text),
        ColumnDef::new("country", ColumnType::Text),
        ColumnDef::new("amount", ColumnType::Numeric),
    ];
    let table = TableDef { name: "t".into(), options: Default::default(), columns };
    let projector = Projector::new(&table, &[0, 1, 2, 3, 4]).unwrap();
    let rows = JsonPath::parse("$.data[*]").unwrap();
    let keys: Vec<JsonPath> = ["id", "name", "email", "country", "amount"].iter().map(|k| JsonPath::key(k)).collect();
    let shape = Shape::new(Some(&rows), [], keys.iter());
    let pages = 1000;
    for (label, pruned) in [("full", false), ("pruned", true), ("full", false), ("pruned", true)] {
        let start = Instant::now();
        let mut n = 0;
        for _ in 0..pages {
            let value = if pruned { shape.parse(&body).unwrap() } else { serde_json::from_slice(&body).unwrap() };
            let records = rows.select_rows(value).unwrap();
            n += projector.project(records).unwrap().rows();
        }
        let secs = start.elapsed().as_secs_f64();
        println!("{label:7} {n} rows in {secs:.3} s = {:.0} rows/s", n as f64 / secs);
    }
}
