use super::*;
use crate::model::{ColumnType, Op};

fn column(kind: &str, ty: ColumnType) -> Column {
    Column {
        name: "c".into(),
        source: Source::Property { name: "C".into(), kind: Some(kind.into()) },
        ty,
        sortable: false,
    }
}

#[test]
fn edge_values_become_filters_postgres_agrees_with() {
    let number = column("number", ColumnType::Numeric);
    let present = json!({"property": "C", "number": {"is_not_empty": true}});
    let never = json!({"and": [{"property": "C", "number": {"is_empty": true}}, present.clone()]});
    let nan = SqlValue::Numeric("NaN".into());
    assert_eq!(number.filter(Op::Eq, &nan), Some(never.clone()));
    assert_eq!(number.filter(Op::Lt, &nan), Some(present.clone()));
    assert_eq!(number.filter(Op::Ge, &SqlValue::Float(f64::NEG_INFINITY)), Some(present.clone()));
    assert_eq!(number.filter(Op::Lt, &SqlValue::Float(f64::NEG_INFINITY)), Some(never.clone()));
    assert_eq!(number.filter(Op::In, &SqlValue::List(vec![nan, SqlValue::Null])), Some(never));
    assert_eq!(number.filter(Op::Eq, &SqlValue::Text("1".into())), None, "a number is not compared with text");
    let title = column("title", ColumnType::Text);
    assert_eq!(
        title.filter(Op::Eq, &SqlValue::Text(String::new())),
        Some(json!({"property": "C", "title": {"is_empty": true}}))
    );
    // Members of the page are not filtered by Notion's query.
    let id = Column { name: "id".into(), source: Source::Member("id"), ty: ColumnType::Text, sortable: false };
    assert!(id.operators().is_empty() && id.filter(Op::Eq, &SqlValue::Text("x".into())).is_none());
}

#[test]
fn long_text_is_split_into_runs_notion_accepts() {
    assert_eq!(text_runs(""), vec![String::new()]);
    assert_eq!(text_runs(&"a".repeat(2000)).len(), 1);
    let runs = text_runs(&"a".repeat(4001));
    assert_eq!(runs.iter().map(String::len).collect::<Vec<_>>(), vec![2000, 2000, 1]);
    // An emoji is two UTF-16 units and is never cut in half.
    let runs = text_runs(&format!("{}😀", "a".repeat(1999)));
    assert_eq!((runs[0].len(), runs[1].as_str()), (1999, "😀"));
    let text = column("rich_text", ColumnType::Text);
    let body = text.write(json!("x".repeat(200_000)), "t").unwrap();
    assert_eq!(body["rich_text"].as_array().unwrap().len(), 100);
    let e = text.write(json!("x".repeat(200_001)), "t").unwrap_err();
    assert_eq!(e.message, "column \"c\" of foreign table \"t\" holds more than Notion accepts in a rich_text property: at most 100 text runs of 2000 characters (200000 characters)");
    let tags = column("multi_select", ColumnType::TextArray);
    assert!(tags.write(json!((0..100).map(|i| i.to_string()).collect::<Vec<_>>()), "t").is_ok());
    let e = tags.write(json!((0..101).map(|i| i.to_string()).collect::<Vec<_>>()), "t").unwrap_err();
    assert!(e.message.ends_with("in a multi_select property: at most 100 items"), "{}", e.message);
    let e = column("email", ColumnType::Text).write(json!("e".repeat(201)), "t").unwrap_err();
    assert!(e.message.ends_with("at most 200 characters"), "{}", e.message);
}

#[test]
fn a_date_column_cuts_the_start_on_a_char_boundary() {
    // Found by tests/fuzz_providers.rs: byte 10 inside a multi-byte character panicked.
    let due = column("date", ColumnType::Date);
    let page = json!({"properties": {"C": {"type": "date", "date": {"start": "---8-200😀😀TT476"}}}});
    assert_eq!(due.read(&page), json!("---8-200😀😀"));
}
