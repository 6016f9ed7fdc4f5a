//! The provider mocks over real sockets: documented list shapes, paging tokens, errors and writes.

// Shared with tests/api.rs, which uses all of it.
#[allow(dead_code)]
mod client;

use client::Client;
use mockapi::MockServer;
use serde_json::{json, Value};

const AUTH: (&str, &str) = ("Authorization", "Bearer test-token");

fn setup() -> (MockServer, Client) {
    let m = MockServer::start_blocking();
    let c = Client::connect(&m.url());
    (m, c)
}

fn get(c: &mut Client, target: &str) -> (u16, Value) {
    let r = c.request("GET", target, &[AUTH], None);
    (r.status, r.json())
}

fn send(c: &mut Client, method: &str, target: &str, body: &Value) -> (u16, Value) {
    let r = c.request(method, target, &[AUTH], Some(&body.to_string()));
    let json = if r.body.is_empty() { Value::Null } else { r.json() };
    (r.status, json)
}

/// The path and query of an absolute URL the mock wrote.
fn target(url: &str) -> &str {
    url[url.find("://").unwrap() + 3..].split_once('/').map(|(_, rest)| rest).unwrap()
}

#[test]
fn gmail_lists_page_with_tokens_and_leave_out_empty_lists() {
    let (_m, mut c) = setup();
    let mut ids = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let query = page_token.as_ref().map_or(String::new(), |t| format!("&pageToken={t}"));
        let (status, body) = get(&mut c, &format!("/gmail/v1/users/me/messages?maxResults=10{query}"));
        assert_eq!(status, 200);
        assert_eq!(body["resultSizeEstimate"], 23);
        ids.extend(body["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()));
        match body["nextPageToken"].as_str() {
            Some(t) => page_token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(ids.len(), 23);
    let (_, filtered) = get(&mut c, "/gmail/v1/users/me/messages?q=from:alice%20is:unread&labelIds=INBOX");
    assert_eq!(filtered["messages"].as_array().unwrap().len(), 1);
    let (status, empty) = get(&mut c, "/gmail/v1/users/me/messages?q=from:nobody");
    assert_eq!((status, empty), (200, json!({"resultSizeEstimate": 0})));
    let (_, threads) = get(&mut c, "/gmail/v1/users/me/threads?maxResults=100");
    assert_eq!(threads["threads"].as_array().unwrap().len(), 8);
    assert!(threads["threads"][0]["historyId"].is_string());
    let id = ids[0].clone();
    let (status, message) = get(&mut c, &format!("/gmail/v1/users/me/messages/{id}"));
    assert_eq!((status, message["id"].as_str()), (200, Some(id.as_str())));
}

#[test]
fn gmail_errors_are_googles() {
    let (_m, mut c) = setup();
    let r = c.get("/gmail/v1/users/me/messages");
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"https://accounts.google.com/\""));
    assert_eq!(r.json()["error"]["status"], "UNAUTHENTICATED");
    let (status, body) = get(&mut c, "/gmail/v1/users/me/messages?pageToken=bogus");
    assert_eq!((status, body["error"]["message"].as_str()), (400, Some("Invalid pageToken")));
    let (status, body) = get(&mut c, "/gmail/v1/users/me/messages?limit=5");
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("Unknown name \"limit\""));
    let (status, body) = get(&mut c, "/gmail/v1/users/me/messages/nope");
    assert_eq!((status, body["error"]["code"].as_u64()), (404, Some(404)));
}

#[test]
fn gmail_labels_are_created_changed_and_deleted() {
    let (m, mut c) = setup();
    let (status, label) = send(&mut c, "POST", "/gmail/v1/users/me/labels", &json!({"name": "Travel"}));
    assert_eq!((status, label["id"].as_str(), label["type"].as_str()), (200, Some("Label_3"), Some("user")));
    let (status, _) = send(&mut c, "POST", "/gmail/v1/users/me/labels", &json!({"name": "travel"}));
    assert_eq!(status, 409);
    let (status, _) = send(&mut c, "POST", "/gmail/v1/users/me/labels", &json!({"name": "X", "colour": "red"}));
    assert_eq!(status, 400);
    let (status, label) = send(&mut c, "PATCH", "/gmail/v1/users/me/labels/Label%5F3", &json!({"name": "Trips"}));
    assert_eq!((status, label["name"].as_str()), (200, Some("Trips")));
    assert_eq!(c.request("DELETE", "/gmail/v1/users/me/labels/INBOX", &[AUTH], None).status, 400);
    assert_eq!(c.request("DELETE", "/gmail/v1/users/me/labels/Label_3", &[AUTH], None).status, 204);
    assert_eq!(get(&mut c, "/gmail/v1/users/me/labels").1["labels"].as_array().unwrap().len(), 10);
    send(&mut c, "POST", "/gmail/v1/users/me/labels", &json!({"name": "Kept until reset"}));
    m.reset();
    assert_eq!(get(&mut c, "/gmail/v1/users/me/labels").1["labels"].as_array().unwrap().len(), 10);
}

#[test]
fn graph_pages_through_next_links_with_filters_and_select() {
    let (_m, mut c) = setup();
    let (status, first) = get(&mut c, "/graph/v1.0/users?$top=3&$select=id,displayName");
    assert_eq!(status, 200);
    assert_eq!(first["value"].as_array().unwrap().len(), 3);
    assert_eq!(first["value"][0], json!({"id": first["value"][0]["id"], "displayName": "Adele Vance"}));
    let next = first["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.contains("$select=id,displayName") && next.contains("$top=3") && next.contains("$skiptoken="),
        "{next}"
    );
    let (_, second) = get(&mut c, &format!("/{}", target(next)));
    let (_, third) = get(&mut c, &format!("/{}", target(second["@odata.nextLink"].as_str().unwrap())));
    assert_eq!(third["value"].as_array().unwrap().len(), 1);
    assert!(third.get("@odata.nextLink").is_none());
    let (_, disabled) = get(&mut c, "/graph/v1.0/users?$filter=accountEnabled%20eq%20false");
    assert_eq!(disabled["value"].as_array().unwrap().len(), 2);
    let (_, mail) = get(&mut c, "/graph/v1.0/users?$filter=mail%20eq%20%27ADELE@contoso.example%27");
    assert_eq!(mail["value"].as_array().unwrap().len(), 1, "Graph compares text case-insensitively");
    let filter = "isRead eq false and receivedDateTime ge 2024-03-05T00:00:00Z".replace(' ', "%20");
    let (_, unread) = get(&mut c, &format!("/graph/v1.0/me/messages?$filter={filter}&$select=subject"));
    let subjects: Vec<&str> =
        unread["value"].as_array().unwrap().iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, vec!["Weekly update 12", "Weekly update 9", "Weekly update 6"]);
    let (_, drive) = get(&mut c, "/graph/v1.0/me/drive/root/children");
    assert_eq!(drive["value"][0]["folder"]["childCount"], 3);
}

#[test]
fn graph_errors_are_graphs() {
    let (_m, mut c) = setup();
    let r = c.get("/graph/v1.0/users");
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (401, Some("InvalidAuthenticationToken")));
    let (status, body) = get(&mut c, "/graph/v1.0/users?$top=1000");
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.");
    let (status, body) = get(&mut c, "/graph/v1.0/users?$filter=jobTitle%20eq%20%27x%27");
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("Request_UnsupportedQuery")));
    let (status, _) = get(&mut c, "/graph/v1.0/users?$filter=accountEnabled%20eq");
    assert_eq!(status, 400);
    let (status, _) = get(&mut c, "/graph/v1.0/users?$skiptoken=bogus");
    assert_eq!(status, 400);
    let (status, body) = get(&mut c, "/graph/v1.0/users?$select=nope");
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "Could not find a property named 'nope' on type 'microsoft.graph.user'.");
}

#[test]
fn dropbox_lists_with_cursors_and_route_errors() {
    let (_m, mut c) = setup();
    let (status, first) = send(&mut c, "POST", "/dropbox/2/files/list_folder", &json!({"path": "", "limit": 3}));
    assert_eq!(status, 200);
    assert_eq!((first["entries"].as_array().unwrap().len(), &first["has_more"]), (3, &json!(true)));
    assert_eq!(first["entries"][0][".tag"], "folder");
    let (_, rest) = send(&mut c, "POST", "/dropbox/2/files/list_folder/continue", &json!({"cursor": first["cursor"]}));
    assert_eq!((rest["entries"].as_array().unwrap().len(), &rest["has_more"]), (2, &json!(false)));
    assert!(rest["cursor"].is_string(), "the last page still has a cursor");
    let (_, all) = send(&mut c, "POST", "/dropbox/2/files/list_folder", &json!({"path": "", "recursive": true}));
    assert_eq!(all["entries"].as_array().unwrap().len(), 11);
    let (status, meta) = send(&mut c, "POST", "/dropbox/2/files/get_metadata", &json!({"path": "/Photos/beach.jpg"}));
    assert_eq!((status, meta["size"].as_u64()), (200, Some(2_310_000)));
    let (status, body) = send(&mut c, "POST", "/dropbox/2/files/list_folder", &json!({"path": "/nope"}));
    assert_eq!((status, body["error_summary"].as_str()), (409, Some("path/not_found/..")));
    let (status, body) = send(&mut c, "POST", "/dropbox/2/files/list_folder", &json!({"path": "/todo.txt"}));
    assert_eq!((status, body["error"]["path"][".tag"].as_str()), (409, Some("not_folder")));
    let r = c.request("POST", "/dropbox/2/files/list_folder", &[AUTH], Some(r#"{"path": "", "limit": 0}"#));
    assert_eq!(r.status, 400);
    assert!(r.text().starts_with("Error in call to API function \"files/list_folder\": request body: limit"));
    let r = c.request("POST", "/dropbox/2/files/list_folder/continue", &[AUTH], Some(r#"{"cursor": "x", "limit": 5}"#));
    assert_eq!((r.status, r.text().contains("unknown field 'limit'")), (400, true));
    let r = c.request("POST", "/dropbox/2/files/list_folder", &[], Some("{}"));
    assert_eq!(r.status, 400);
    let r = c.request("POST", "/dropbox/2/files/list_folder", &[("Authorization", "Bearer wrong")], Some("{}"));
    assert_eq!((r.status, r.json()["error"][".tag"].as_str()), (401, Some("invalid_access_token")));
}

#[test]
fn hubspot_pages_with_after_and_selects_properties() {
    let (_m, mut c) = setup();
    let (status, first) = get(&mut c, "/hubspot/crm/v3/objects/contacts?limit=10&properties=email,phone");
    assert_eq!(status, 200);
    let results = first["results"].as_array().unwrap();
    assert_eq!(results.len(), 10);
    let props: Vec<&String> = results[0]["properties"].as_object().unwrap().keys().collect();
    assert_eq!(props, vec!["createdate", "email", "hs_object_id", "lastmodifieddate", "phone"]);
    assert_eq!(first["paging"]["next"]["after"], "1011");
    let link = first["paging"]["next"]["link"].as_str().unwrap();
    let (_, second) = get(&mut c, &format!("/{}", target(link)));
    assert_eq!(second["results"][0]["id"], "1011");
    let (_, last) = get(&mut c, "/hubspot/crm/v3/objects/contacts?limit=10&after=1021");
    assert_eq!(last["results"].as_array().unwrap().len(), 5);
    assert!(last.get("paging").is_none());
    let (_, both) = get(&mut c, "/hubspot/crm/v3/objects/contacts?limit=1&properties=email&properties=phone,city");
    assert_eq!(both["results"][0]["properties"].as_object().unwrap().len(), 6);
    let (_, default) = get(&mut c, "/hubspot/crm/v3/objects/deals?limit=1");
    assert_eq!(default["results"][0]["properties"]["amount"], "1250.50");
    let (status, body) = get(&mut c, "/hubspot/crm/v3/objects/contacts?limit=101");
    assert_eq!((status, body["category"].as_str()), (400, Some("VALIDATION_ERROR")));
    let r = c.get("/hubspot/crm/v3/objects/contacts");
    assert_eq!((r.status, r.json()["category"].as_str()), (401, Some("INVALID_AUTHENTICATION")));
}

#[test]
fn hubspot_objects_are_created_updated_and_archived() {
    let (m, mut c) = setup();
    let (status, created) = send(
        &mut c,
        "POST",
        "/hubspot/crm/v3/objects/companies",
        &json!({"properties": {"name": "New Co", "numberofemployees": 7}}),
    );
    assert_eq!((status, created["id"].as_str()), (201, Some("2007")));
    assert_eq!(created["properties"]["numberofemployees"], "7");
    let (status, updated) =
        send(&mut c, "PATCH", "/hubspot/crm/v3/objects/companies/2007", &json!({"properties": {"city": "Oslo"}}));
    assert_eq!((status, updated["properties"]["city"].as_str()), (200, Some("Oslo")));
    assert_ne!(updated["updatedAt"], created["updatedAt"]);
    assert_eq!(c.request("DELETE", "/hubspot/crm/v3/objects/companies/2007", &[AUTH], None).status, 204);
    assert_eq!(get(&mut c, "/hubspot/crm/v3/objects/companies/2007").0, 404);
    let (_, archived) = get(&mut c, "/hubspot/crm/v3/objects/companies?archived=true");
    assert_eq!(archived["results"].as_array().unwrap().len(), 1);
    let (status, body) = send(&mut c, "POST", "/hubspot/crm/v3/objects/contacts", &json!({"email": "x@example.com"}));
    assert_eq!((status, body["status"].as_str()), (400, Some("error")));
    m.reset();
    assert_eq!(get(&mut c, "/hubspot/crm/v3/objects/companies").1["results"].as_array().unwrap().len(), 6);
}

#[test]
fn airtable_notion_and_sheets_refuse_with_their_own_429() {
    let (_m, mut c) = setup();
    let notion = [AUTH, ("Notion-Version", "2022-06-28")];
    // `/429/1/` refuses the first request of each URL, then serves it.
    let r = c.request("GET", "/airtable/429/1/v0/appMockBase000001/Projects?pageSize=1", &[AUTH], None);
    assert_eq!((r.status, r.header("retry-after")), (429, None), "Airtable sends no Retry-After");
    assert_eq!(
        r.json(),
        json!({"errors": [{"error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}]})
    );
    let r = c.request("GET", "/airtable/429/1/v0/appMockBase000001/Projects?pageSize=1", &[AUTH], None);
    assert_eq!((r.status, r.json()["records"].as_array().map(Vec::len)), (200, Some(1)));
    let r = c.request("POST", "/notion/429/1/v1/search", &notion, Some("{}"));
    assert_eq!((r.status, r.header("retry-after")), (429, Some("1")));
    assert_eq!(
        r.json(),
        json!({"object": "error", "status": 429, "code": "rate_limited", "message": "You have been rate limited. Please try again in a few minutes."})
    );
    assert_eq!(c.request("POST", "/notion/429/1/v1/search", &notion, Some("{}")).status, 200);
    let r = c.request("GET", "/sheets/429/always/v4/spreadsheets/sheetMock1", &[AUTH], None);
    assert_eq!((r.status, r.header("retry-after")), (429, Some("1")));
    assert_eq!(
        r.json(),
        json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:1234567890'."}})
    );
    assert_eq!(c.request("GET", "/sheets/429/always/v4/spreadsheets/sheetMock1", &[AUTH], None).status, 429);
    // Notion retrieves a database; the odd spreadsheet holds badly laid out sheets.
    let r = c.request("GET", "/notion/v1/databases/5a1ad3b1-0000-4000-8000-0000000000a1", &notion, None);
    assert_eq!((r.status, r.json()["properties"]["Priority"]["type"].clone()), (200, json!("select")));
    let (status, body) = get(&mut c, "/sheets/v4/spreadsheets/sheetMockOdd/values/Twins!A1:E1");
    assert_eq!((status, body["values"].clone()), (200, json!([["Name", "Region", "Amount", "Note", "Amount"]])));
    // By columns: an array per column without its trailing empty cells, trailing empty columns left out.
    let (status, body) = get(
        &mut c,
        "/sheets/v4/spreadsheets/sheetMockOdd/values:batchGet?ranges=Contacts!A2:A10&ranges=Contacts!C5:E10&majorDimension=COLUMNS",
    );
    assert_eq!(status, 200);
    assert_eq!(
        body["valueRanges"],
        json!([
            {"range": "'Contacts'!A2:A10", "majorDimension": "COLUMNS", "values": [["Ada", "Grace", "Prices as of March", "", "Linus", "", "Margaret"]]},
            {"range": "'Contacts'!C5:E10", "majorDimension": "COLUMNS", "values": [["", "", "ken@example.com", "margaret@example.com"], ["", "Helsinki", "", "Boston"]]},
        ])
    );
    let (status, body) =
        get(&mut c, "/sheets/v4/spreadsheets/sheetMockOdd/values/Contacts!A1:B2?majorDimension=DIAGONAL");
    assert_eq!((status, body["error"]["status"].as_str()), (400, Some("INVALID_ARGUMENT")));
}
