//! A resource of a definition: its options, paging, custom fields and columns, checked as the REST table it
//! becomes.

use super::{
    check_name, describe, invalid, json_path, rest_kind, Object, OPERATORS, PAGING_FIELDS, TERM_OPERATORS, TYPES,
    WRITE_FIELDS,
};
use crate::connectors::rest::{self, PAGINATIONS};
use crate::connectors::ServerDef;
use crate::definitions::{ColumnSpec, CustomFieldsSpec, ResourceSpec};
use crate::error::Result;
use crate::jsonpath::JsonPath;
use crate::model::{ColumnDef, ColumnType, TableDef};
use crate::options::{Kind, OptionMap};
use serde_json::Value;

pub(super) fn resource(path: &str, value: &Value, connector: &str, base_url: Option<&str>) -> Result<ResourceSpec> {
    let object = Object::new(
        path.to_string(),
        value,
        &[
            "name",
            "description",
            "path",
            "rows",
            "query",
            "method",
            "body",
            "item_path",
            "filter_join",
            "sort",
            "pagination",
            "columns",
            "write",
            "item_lookup",
            "success_path",
            "error_path",
            "fields_param",
            "custom_fields",
            "expand",
            "search",
            "terms",
            "rate_limit",
            "partition_column",
            "partition_order",
            "detail",
        ],
    )?;
    let name = object.required_string("name")?;
    check_name(&object.at("name"), &name)?;
    let mut options = OptionMap::new();
    let resource_path = object.required_string("path")?;
    if resource_path.contains('?') {
        return Err(invalid(&object.at("path"), "must not contain a query string; put parameters in \"query\""));
    }
    options.insert("path".into(), resource_path);
    if let Some(rows) = json_path(&object, "rows")? {
        options.insert("rows".into(), rows);
    }
    if let Some(query) = query(&object)? {
        options.insert("query".into(), query);
    }
    let method = object.option("method", &rest_kind("method"))?;
    let post = method.as_deref() == Some("POST");
    if let Some(method) = method {
        options.insert("method".into(), method);
    }
    match object.get("body") {
        None => {}
        Some(_) if !post => return Err(invalid(&object.at("body"), "is sent only with \"method\": \"POST\"")),
        Some(body @ Value::Object(_)) => {
            options.insert("body".into(), body.to_string());
        }
        Some(other) => {
            return Err(invalid(&object.at("body"), format!("must be a JSON object, not {}", describe(other))))
        }
    }
    if let Some(item_path) = object.string("item_path")? {
        if !item_path.contains("{key}") {
            return Err(invalid(
                &object.at("item_path"),
                format!("\"{item_path}\" has no {{key}} for the record's key"),
            ));
        }
        options.insert("item_path".into(), item_path);
    }
    if let Some(join) = object.string("filter_join")? {
        options.insert("filter_join".into(), join);
    }
    for field in ["success_path", "error_path"] {
        if let Some(p) = json_path(&object, field)? {
            options.insert(field.into(), p);
        }
    }
    if let Some(lookup) = object.option("item_lookup", &Kind::Bool)? {
        options.insert("item_lookup".into(), lookup);
    }
    if let Some(fields) = object.string("fields_param")? {
        options.insert("fields_param".into(), fields);
    }
    if let Some(rate) = object.option("rate_limit", &crate::options::RATE_LIMIT)? {
        options.insert("rate_limit".into(), rate);
    }
    // Checked with the columns when the table opens: a range-filterable integer, date or timestamp.
    if let Some(column) = object.string("partition_column")? {
        options.insert("partition_column".into(), column);
    }
    let orders = Kind::OneOf(crate::connectors::rest::PARTITION_ORDERS.to_vec());
    if let Some(order) = object.option("partition_order", &orders)? {
        options.insert("partition_order".into(), order);
    }
    // Each record's own resource at item_path, for the columns marked "detail".
    if let Some(detail) = object.get("detail") {
        let detail = Object::new(object.at("detail"), detail, &["query", "decoder"])?;
        if let Some(query) = detail.string("query")? {
            options.insert("detail_query".into(), query);
        }
        let decoders = Kind::OneOf(crate::connectors::rest::DETAIL_DECODERS.to_vec());
        if let Some(decoder) = detail.option("decoder", &decoders)? {
            options.insert("detail_decoder".into(), decoder);
        }
    }
    if let Some(expand) = object.get("expand") {
        let expand = Object::new(object.at("expand"), expand, &["param", "prefix"])?;
        options.insert("expand_param".into(), expand.required_string("param")?);
        if let Some(prefix) = expand.string("prefix")? {
            options.insert("expand_prefix".into(), prefix);
        }
    }
    if let Some(search) = object.get("search") {
        let search =
            Object::new(object.at("search"), search, &["path", "query_param", "join", "cursor_param", "cursor_path"])?;
        let search_path = search.required_string("path")?;
        if search_path.contains('?') {
            return Err(invalid(&search.at("path"), "must not contain a query string"));
        }
        options.insert("search_path".into(), search_path);
        for (field, option) in
            [("query_param", "search_param"), ("join", "search_join"), ("cursor_param", "search_cursor_param")]
        {
            if let Some(text) = search.string(field)? {
                options.insert(option.into(), text);
            }
        }
        if let Some(p) = json_path(&search, "cursor_path")? {
            options.insert("search_cursor_path".into(), p);
        }
    }
    if let Some(terms) = object.get("terms") {
        let terms =
            Object::new(object.at("terms"), terms, &["param", "join", "quote", "escape", "time_precision", "sort"])?;
        options.insert("terms_param".into(), terms.required_string("param")?);
        for (field, option) in [("join", "terms_join"), ("quote", "terms_quote"), ("escape", "terms_escape")] {
            if let Some(text) = terms.string(field)? {
                options.insert(option.into(), text);
            }
        }
        if let Some(precision) = terms.option("time_precision", &rest_kind("terms_time_precision"))? {
            options.insert("terms_time_precision".into(), precision);
        }
        if let Some(sort) = terms.string("sort")? {
            if !sort.contains("{field}") {
                return Err(invalid(&terms.at("sort"), format!("\"{sort}\" has no {{field}} for the sorted field")));
            }
            options.insert("terms_sort".into(), sort);
        }
    }
    if let Some(sort) = object.get("sort") {
        let sort = Object::new(object.at("sort"), sort, &["param", "order_param", "max_keys"])?;
        options.insert("sort_param".into(), sort.required_string("param")?);
        if let Some(order) = sort.string("order_param")? {
            options.insert("order_param".into(), order);
        }
        if let Some(keys) = sort.option("max_keys", &rest_kind("sort_max_keys"))? {
            options.insert("sort_max_keys".into(), keys);
        }
    }
    let page_size = match object.get("pagination") {
        Some(value) => pagination(&object.at("pagination"), value, post, &mut options)?,
        None => None,
    };
    let writable = match object.get("write") {
        Some(value) => {
            let mut known = WRITE_FIELDS.map(|(f, _)| f).to_vec();
            known.extend(["operations", "returning_members"]);
            let write = Object::new(object.at("write"), value, &known)?;
            for (field, option) in WRITE_FIELDS {
                if let Some(text) = write.option(field, &rest_kind(option))? {
                    options.insert(option.into(), text);
                }
            }
            if let Some(operations) = write.get("operations") {
                let at = write.at("operations");
                let names = match operations {
                    Value::Array(items) if !items.is_empty() => items
                        .iter()
                        .map(|i| match i.as_str() {
                            Some(name @ ("insert" | "update" | "delete")) => Ok(name),
                            _ => Err(invalid(&at, format!("{i} is not one of: \"insert\", \"update\", \"delete\""))),
                        })
                        .collect::<Result<Vec<_>>>()?,
                    other => {
                        return Err(invalid(
                            &at,
                            format!("must be a non-empty array of operations, not {}", describe(other)),
                        ))
                    }
                };
                options.insert("write_operations".into(), names.join(","));
            }
            if let Some(members) = write.get("returning_members") {
                let at = write.at("returning_members");
                let Value::Object(map) = members else {
                    return Err(invalid(&at, format!("must be a JSON object, not {}", describe(members))));
                };
                for (member, path) in map {
                    let Value::String(path) = path else {
                        return Err(invalid(
                            &format!("{at}.{member}"),
                            format!("must be a JSONPath string, not {}", describe(path)),
                        ));
                    };
                    JsonPath::parse(path).map_err(|why| invalid(&format!("{at}.{member}"), why))?;
                }
                options.insert("returning_members".into(), members.to_string());
            }
            true
        }
        None => false,
    };
    let sortable = options.contains_key("sort_param") || options.contains_key("terms_sort");
    let searchable = options.contains_key("search_path");
    let termed = options.contains_key("terms_param");
    let mut columns: Vec<ColumnSpec> = Vec::new();
    for (i, value) in object.array("columns")?.iter().enumerate() {
        let column = column(&format!("{path}.columns[{i}]"), value, sortable)?;
        if column.options.contains_key("search") && !searchable {
            return Err(invalid(
                &format!("{path}.columns[{i}].search"),
                "needs \"search\": {\"path\": …} on the resource",
            ));
        }
        if TERM_OPERATORS.iter().any(|(_, option)| column.options.contains_key(*option)) && !termed {
            return Err(invalid(
                &format!("{path}.columns[{i}].terms"),
                "needs \"terms\": {\"param\": …} on the resource",
            ));
        }
        if columns.iter().any(|c| c.name == column.name) {
            return Err(invalid(
                &format!("{path}.columns[{i}].name"),
                format!("\"{}\" names an earlier column too", column.name),
            ));
        }
        columns.push(column);
    }
    if let Some(key) = options.get("key_column").filter(|_| writable) {
        if !columns.iter().any(|c| c.name == *key) {
            return Err(invalid(
                &format!("{path}.write.key_column"),
                format!("\"{key}\" is not a column of the resource"),
            ));
        }
    }
    let custom_fields = match object.get("custom_fields") {
        Some(value) => Some(custom_fields(&object.at("custom_fields"), value)?),
        None => None,
    };
    let spec = ResourceSpec {
        name,
        description: object.string("description")?.unwrap_or_default(),
        options,
        page_size,
        columns,
        writable,
        custom_fields,
    };
    check_as_rest_table(path, connector, base_url, &spec)?;
    Ok(spec)
}

/// A Postgres type name of a definition, in the spelling IMPORT FOREIGN SCHEMA uses.
fn sql_type(path: &str, given: &str) -> Result<String> {
    TYPES
        .iter()
        .find(|(spellings, _)| spellings.contains(&given.to_ascii_lowercase().as_str()))
        .map(|(_, name)| name.to_string())
        .ok_or_else(|| {
            let names: Vec<&str> = TYPES.iter().map(|(_, n)| *n).collect();
            invalid(path, format!("\"{given}\" is not one of: {}", names.join(", ")))
        })
}

/// `custom_fields`: where a resource's custom fields are listed and how each becomes a column.
fn custom_fields(path: &str, value: &Value) -> Result<CustomFieldsSpec> {
    let object = Object::new(
        path.to_string(),
        value,
        &[
            "path",
            "query",
            "rows",
            "has_more_path",
            "offset_param",
            "name",
            "key",
            "type",
            "multiple",
            "column_path",
            "types",
            "default_type",
        ],
    )?;
    let list_path = object.required_string("path")?;
    if list_path.contains('?') {
        return Err(invalid(&object.at("path"), "must not contain a query string; put parameters in \"query\""));
    }
    let parsed = |key: &str| -> Result<Option<JsonPath>> {
        Ok(json_path(&object, key)?.map(|text| JsonPath::parse(&text).expect("checked by json_path")))
    };
    let required = |key: &str| -> Result<JsonPath> {
        object.required(key)?;
        parsed(key)?.ok_or_else(|| invalid(&object.at(key), "missing"))
    };
    let column_path = object.required_string("column_path")?;
    if !column_path.contains("{key}") {
        return Err(invalid(
            &object.at("column_path"),
            format!("\"{column_path}\" has no {{key}} for the field's key"),
        ));
    }
    JsonPath::parse(&column_path.replace("{key}", "key")).map_err(|why| invalid(&object.at("column_path"), why))?;
    let mut types = Vec::new();
    if let Some(value) = object.get("types") {
        let Value::Object(map) = value else {
            return Err(invalid(&object.at("types"), format!("must be a JSON object, not {}", describe(value))));
        };
        for (provider_type, sql) in map {
            let at = format!("{}.{provider_type}", object.at("types"));
            let Value::String(sql) = sql else {
                return Err(invalid(&at, format!("must be a string, not {}", describe(sql))));
            };
            types.push((provider_type.clone(), sql_type(&at, sql)?));
        }
    }
    let default_type = match object.string("default_type")? {
        Some(given) => sql_type(&object.at("default_type"), &given)?,
        None => "text".to_string(),
    };
    let has_more_path = parsed("has_more_path")?;
    let offset_param = object.string("offset_param")?.filter(|p| !p.is_empty());
    if has_more_path.is_some() != offset_param.is_some() {
        let (present, absent) =
            if has_more_path.is_some() { ("has_more_path", "offset_param") } else { ("offset_param", "has_more_path") };
        return Err(invalid(&object.at(present), format!("pages only with \"{absent}\" too")));
    }
    Ok(CustomFieldsSpec {
        path: list_path,
        query: query(&object)?,
        rows: parsed("rows")?,
        has_more_path,
        offset_param,
        name: required("name")?,
        key: required("key")?,
        type_path: parsed("type")?,
        multiple: parsed("multiple")?,
        column_path,
        types,
        default_type,
    })
}

/// `query`: a query string, or an object of parameters.
fn query(object: &Object) -> Result<Option<String>> {
    match object.get("query") {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.trim_start_matches('?').to_string())),
        Some(Value::Object(params)) => {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in params {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(invalid(
                            &format!("{}.{name}", object.at("query")),
                            format!("must be a string, number or boolean, not {}", describe(other)),
                        ))
                    }
                };
                query.append_pair(name, &text);
            }
            Ok(Some(query.finish()))
        }
        Some(other) => {
            Err(invalid(&object.at("query"), format!("must be a string or an object, not {}", describe(other))))
        }
    }
}

/// Put a `pagination` object's settings into `options`; returns its page size.
fn pagination(path: &str, value: &Value, post: bool, options: &mut OptionMap) -> Result<Option<u64>> {
    let mut known = vec!["style"];
    known.extend(PAGING_FIELDS.iter().map(|(f, _, _)| *f));
    let object = Object::new(path.to_string(), value, &known)?;
    let style = object
        .option("style", &Kind::OneOf(PAGINATIONS.to_vec()))?
        .ok_or_else(|| invalid(&object.at("style"), "missing"))?;
    let mut page_size = None;
    for (field, option, styles) in PAGING_FIELDS {
        if !object.has(field) {
            continue;
        }
        if !styles.contains(&style.as_str()) {
            return Err(invalid(
                &object.at(field),
                format!("is not used with style \"{style}\" (only with {})", styles.join(", ")),
            ));
        }
        let text = match option {
            "page_size" => object.option(field, &Kind::Integer { min: 1, max: 100_000 })?,
            _ => object.option(field, &rest_kind(option))?,
        };
        match (option, text) {
            ("page_size", Some(size)) => page_size = size.parse().ok(),
            (option, Some(text)) => {
                options.insert(option.to_string(), text);
            }
            (_, None) => {}
        }
    }
    if style == "cursor" && !object.has("cursor_path") {
        return Err(invalid(
            &object.at("cursor_path"),
            "missing (cursor paging reads the next cursor there, e.g. \"$.next_cursor\")",
        ));
    }
    if options.get("cursor_in").map(String::as_str) == Some("body") && !post {
        return Err(invalid(&object.at("cursor_in"), "\"body\" needs \"method\": \"POST\""));
    }
    options.insert("pagination".into(), style);
    Ok(page_size)
}

fn column(path: &str, value: &Value, sortable_resource: bool) -> Result<ColumnSpec> {
    let object = Object::new(
        path.to_string(),
        value,
        &[
            "name",
            "type",
            "path",
            "description",
            "filters",
            "terms",
            "sortable",
            "echo",
            "required",
            "required_hint",
            "expand",
            "search",
            "detail",
        ],
    )?;
    let name = object.required_string("name")?;
    let given_type = object.required_string("type")?;
    let sql_type = TYPES
        .iter()
        .find(|(spellings, _)| spellings.contains(&given_type.to_ascii_lowercase().as_str()))
        .map(|(_, name)| name.to_string())
        .ok_or_else(|| {
            let names: Vec<&str> = TYPES.iter().map(|(_, n)| *n).collect();
            invalid(&object.at("type"), format!("\"{given_type}\" is not one of: {}", names.join(", ")))
        })?;
    let mut options = OptionMap::new();
    if let Some(p) = json_path(&object, "path")? {
        options.insert("path".into(), p);
    }
    if let Some(filters) = object.get("filters") {
        let filters = Object::new(object.at("filters"), filters, &OPERATORS.map(|(op, _)| op))?;
        for (op, option) in OPERATORS {
            let Some(param) = filters.string(op)? else { continue };
            let template_ok = match param.split_once('=') {
                Some((name, template)) => {
                    !name.is_empty() && (template.contains("{value}") || template.contains("{epoch}"))
                }
                None => !param.is_empty(),
            };
            if !template_ok {
                return Err(invalid(
                    &filters.at(op),
                    format!("\"{param}\" is neither a parameter name nor a template \"parameter=…{{value}}…\""),
                ));
            }
            options.insert(option.to_string(), param);
        }
    }
    if let Some(terms) = object.get("terms") {
        let terms = Object::new(object.at("terms"), terms, &TERM_OPERATORS.map(|(op, _)| op))?;
        for (op, option) in TERM_OPERATORS {
            let Some(template) = terms.string(op)? else { continue };
            if !template.contains("{value}") {
                return Err(invalid(
                    &terms.at(op),
                    format!("\"{template}\" has no {{value}} for the condition's value"),
                ));
            }
            options.insert(option.to_string(), template);
        }
    }
    match object.get("sortable") {
        None | Some(Value::Bool(false)) => {}
        Some(_) if !sortable_resource => {
            return Err(invalid(
                &object.at("sortable"),
                "needs \"sort\": {\"param\": …} or \"terms\": {\"sort\": …} on the resource",
            ))
        }
        Some(Value::Bool(true)) => {
            options.insert("sortable".into(), "true".into());
        }
        Some(Value::String(remote)) if !remote.is_empty() => {
            options.insert("sortable".into(), remote.clone());
        }
        Some(other) => {
            return Err(invalid(
                &object.at("sortable"),
                format!("must be true or the remote field name, not {}", describe(other)),
            ))
        }
    }
    if let Some(echo) = object.option("echo", &Kind::Bool)? {
        if !options.contains_key("filter_param") {
            return Err(invalid(
                &object.at("echo"),
                "needs an \"=\" filter: the column shows the value its = condition sends",
            ));
        }
        options.insert("echo".into(), echo);
    }
    if let Some(member) = object.string("expand")? {
        if member.is_empty() {
            return Err(invalid(&object.at("expand"), "must not be empty"));
        }
        if options.contains_key("path") {
            return Err(invalid(
                &object.at("expand"),
                "the column reads the expanded object at its own name: leave out \"path\"",
            ));
        }
        options.insert("expand".into(), member);
    }
    if let Some(required) = object.option("required", &Kind::Bool)? {
        if crate::options::parse_bool(&required) == Some(true)
            && !OPERATORS.iter().any(|(_, option)| options.contains_key(*option))
        {
            return Err(invalid(&object.at("required"), "needs \"filters\": the condition it requires must be pushed"));
        }
        options.insert("required".into(), required);
    }
    // true, or the detail query this column needs (more of the record than the resource's query gives).
    match object.get("detail") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            options.insert("detail".into(), "true".into());
        }
        Some(Value::String(query)) if !query.is_empty() => {
            options.insert("detail".into(), "true".into());
            options.insert("detail_query".into(), query.clone());
        }
        Some(other) => {
            return Err(invalid(
                &object.at("detail"),
                format!("must be true or the query the column's detail needs, not {}", describe(other)),
            ))
        }
    }
    if let Some(field) = object.string("search")? {
        if field.is_empty() {
            return Err(invalid(&object.at("search"), "must not be empty"));
        }
        options.insert("search".into(), field);
    }
    if let Some(hint) = object.string("required_hint")? {
        if options.get("required").and_then(|r| crate::options::parse_bool(r)) != Some(true) {
            return Err(invalid(&object.at("required_hint"), "is shown only with \"required\": true"));
        }
        options.insert("required_hint".into(), hint);
    }
    Ok(ColumnSpec { name, sql_type, description: object.string("description")?.unwrap_or_default(), options })
}

/// Open the resource as a REST table (no request is made), so whatever the REST connector would refuse is
/// refused now, naming the resource.
fn check_as_rest_table(path: &str, connector: &str, base_url: Option<&str>, resource: &ResourceSpec) -> Result<()> {
    let server = ServerDef {
        name: connector.to_string(),
        options: [("base_url".to_string(), base_url.unwrap_or("http://definition.invalid").to_string())].into(),
    };
    let columns = resource
        .columns
        .iter()
        .map(|c| ColumnDef { name: c.name.clone(), ty: ColumnType::from_name(&c.sql_type), options: c.options.clone() })
        .collect();
    let table = TableDef { name: resource.name.clone(), options: resource.options.clone(), columns };
    rest::open_table(connector, &server, &table).map(|_| ()).map_err(|e| invalid(path, e.message))
}
