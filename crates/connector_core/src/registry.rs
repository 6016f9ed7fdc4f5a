//! Which connectors exist: the built-in ones (a Rust module each under [`crate::connectors`]), the
//! definitions shipped with the extension (`definitions/*.json`, run by [`crate::definitions`]) and those
//! registered at run time (the Postgres layer registers users' definitions from its catalog). This is the
//! only module that knows both kinds: `connectors` and `definitions` do not import each other's lists.
//!
//! Adding a connector means one entry here: in [`builtin`] for a Rust module, in [`SHIPPED_SOURCES`] for a
//! definition (see docs/adding-a-connector.md).

use crate::connectors::{airtable, file, google_docs, google_sheets, graphql, notion, rest, salesforce, Connector};
use crate::definitions::{DefinedConnector, Definition};
use crate::error::{Error, ErrorKind, Result};
use once_cell::sync::Lazy;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

static BUILTIN: Lazy<Vec<Arc<dyn Connector>>> = Lazy::new(|| {
    vec![
        Arc::new(rest::Rest),
        Arc::new(file::File),
        Arc::new(airtable::Airtable),
        Arc::new(notion::Notion),
        Arc::new(google_sheets::GoogleSheets),
        Arc::new(google_docs::GoogleDocs),
        Arc::new(graphql::GraphQl),
        Arc::new(salesforce::Salesforce),
    ]
});

/// The connectors built into the extension.
pub fn builtin() -> &'static [Arc<dyn Connector>] {
    &BUILTIN
}

/// Whether `name` is a built-in connector's.
pub fn is_builtin(name: &str) -> bool {
    builtin().iter().any(|c| c.name() == name)
}

/// The definitions shipped with the extension: file name and text.
pub const SHIPPED_SOURCES: &[(&str, &str)] = &[
    ("benchling.json", include_str!("../definitions/benchling.json")),
    ("close.json", include_str!("../definitions/close.json")),
    ("dropbox.json", include_str!("../definitions/dropbox.json")),
    ("gmail.json", include_str!("../definitions/gmail.json")),
    ("hubspot.json", include_str!("../definitions/hubspot.json")),
    ("microsoft_graph.json", include_str!("../definitions/microsoft_graph.json")),
    ("slack.json", include_str!("../definitions/slack.json")),
    ("stripe.json", include_str!("../definitions/stripe.json")),
];

static SHIPPED: Lazy<Vec<Arc<DefinedConnector>>> = Lazy::new(|| {
    SHIPPED_SOURCES
        .iter()
        .map(|(file, text)| {
            // The test suite parses every shipped file; a failure here is a build of broken files.
            let json: Value =
                serde_json::from_str(text).unwrap_or_else(|e| panic!("shipped definition {file} is not JSON: {e}"));
            let definition =
                Definition::parse(&json).unwrap_or_else(|e| panic!("shipped definition {file} is invalid: {e}"));
            Arc::new(DefinedConnector::new(definition))
        })
        .collect()
});

/// Definitions registered at run time, by name; they take precedence over shipped ones of the same name.
static REGISTERED: Lazy<RwLock<BTreeMap<String, Arc<DefinedConnector>>>> = Lazy::new(Default::default);

fn registered() -> std::sync::RwLockReadGuard<'static, BTreeMap<String, Arc<DefinedConnector>>> {
    REGISTERED.read().unwrap_or_else(|e| e.into_inner())
}

/// The names of the definitions registered at run time.
pub fn registered_names() -> Vec<String> {
    registered().keys().cloned().collect()
}

/// The shipped definitions, in name order.
pub fn shipped() -> Vec<Arc<Definition>> {
    SHIPPED.iter().map(|c| c.shared_definition().clone()).collect()
}

fn not_builtin(definition: &Definition) -> Result<()> {
    if is_builtin(&definition.name) {
        return Err(Error::new(
            ErrorKind::InvalidOptionValue,
            format!("connector \"{}\" is built in; a definition needs another name", definition.name),
        ));
    }
    Ok(())
}

/// Register a definition for this process, replacing one registered under its name. A definition may
/// replace a shipped one (until unregistered) but not take a built-in connector's name.
pub fn register(definition: Definition) -> Result<()> {
    not_builtin(&definition)?;
    let connector = Arc::new(DefinedConnector::new(definition));
    let mut map = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
    map.insert(connector.name().to_string(), connector);
    Ok(())
}

/// Make `definitions` the registered set, replacing all registered before (the Postgres layer loads its
/// catalog this way, so a definition dropped in another session disappears here too).
pub fn replace_registered(definitions: Vec<Definition>) -> Result<()> {
    let mut fresh = BTreeMap::new();
    for definition in definitions {
        not_builtin(&definition)?;
        let connector = Arc::new(DefinedConnector::new(definition));
        fresh.insert(connector.name().to_string(), connector);
    }
    *REGISTERED.write().unwrap_or_else(|e| e.into_inner()) = fresh;
    Ok(())
}

/// Remove a registered definition; returns whether there was one. A shipped definition it replaced is
/// visible again.
pub fn unregister(name: &str) -> bool {
    REGISTERED.write().unwrap_or_else(|e| e.into_inner()).remove(name).is_some()
}

/// Every definition in effect (registered ones over shipped ones of the same name), in name order.
pub fn definitions() -> Vec<Arc<Definition>> {
    let mut by_name: BTreeMap<String, Arc<Definition>> =
        SHIPPED.iter().map(|c| (c.name().to_string(), c.shared_definition().clone())).collect();
    by_name.extend(registered().iter().map(|(name, c)| (name.clone(), c.shared_definition().clone())));
    by_name.into_values().collect()
}

/// The connector of the definition in effect under `name`.
pub fn defined(name: &str) -> Option<Arc<DefinedConnector>> {
    registered().get(name).cloned().or_else(|| SHIPPED.iter().find(|c| c.name() == name).cloned())
}

/// A built-in connector or a definition (shipped or registered) by name.
pub fn find(name: &str) -> Option<Arc<dyn Connector>> {
    builtin().iter().find(|c| c.name() == name).cloned().or_else(|| defined(name).map(|c| c as Arc<dyn Connector>))
}

/// The built-in connectors' names, then the definitions' in name order.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = builtin().iter().map(|c| c.name().to_string()).collect();
    names.extend(definitions().iter().map(|d| d.name.clone()));
    names
}
