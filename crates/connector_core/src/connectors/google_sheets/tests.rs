use super::*;

#[test]
fn text_is_kept_as_text_and_other_values_keep_their_types() {
    for (given, expected) in [("007", "'007"), ("=1+1", "'=1+1"), ("+1", "'+1"), ("@x", "'@x"), ("'q", "''q")] {
        assert_eq!(SheetWriter::cell_value(json!(given), true), json!(expected));
    }
    assert_eq!(SheetWriter::cell_value(json!(""), true), json!(""));
    assert_eq!(SheetWriter::cell_value(Value::Null, true), json!(""));
    assert_eq!(SheetWriter::cell_value(json!({"a": 1}), true), json!("'{\"a\":1}"));
    assert_eq!(SheetWriter::cell_value(json!("2024-03-05"), false), json!("2024-03-05"));
    assert_eq!(SheetWriter::cell_value(json!(12.5), false), json!(12.5));
    assert_eq!(SheetWriter::cell_value(json!(true), false), json!(true));
    assert!(written_as_text(&ColumnType::Text) && written_as_text(&ColumnType::Other("varchar".into())));
    assert!(!written_as_text(&ColumnType::Date) && !written_as_text(&ColumnType::Numeric));
}

#[test]
fn a1_notation() {
    assert_eq!(
        (letters(0), letters(25), letters(26), letters(27), letters(701), letters(702)),
        ("A".into(), "Z".into(), "AA".into(), "AB".into(), "ZZ".into(), "AAA".into())
    );
    for i in [0, 25, 26, 700, 701, 702, 5000] {
        assert_eq!(column_index(&letters(i)), Some(i));
    }
    assert_eq!(quote_sheet("Bob's data"), "'Bob''s data'");
    assert_eq!(
        Area::parse(Some("B3:F")).unwrap(),
        Area { first_col: 1, last_col: Some(5), header_row: 3, last_row: None }
    );
    assert_eq!(Area::parse(Some("A1:D200")).unwrap().last_row, Some(200));
    for bad in ["B3", "F3:B", "A5:C5", "1:2", "A1:ZZZZ"] {
        assert!(Area::parse(Some(bad)).is_err(), "{bad}");
    }
}
