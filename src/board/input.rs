//! The board's HTTP input read without any I/O: which page a request asks
//! for, and a posted record. Compiled into the fuzz targets too
//! (fuzz/fuzz_targets/board_api.rs), so it uses only the protocol core and
//! serde_json.

use crate::protocol::board::{BoardRecord, CheckedRecord};

/// What a request asks for, from its method and path alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    Page,
    List,
    /// One record; the order as written in the path, not yet checked.
    One(&'a str),
    Post,
    NotAllowed,
    NotFound,
}

/// Routes a request by its method and path.
pub fn route<'a>(method: &str, path: &'a str) -> Route<'a> {
    match (method, path) {
        ("GET", "/") => Route::Page,
        ("GET", "/records.json") => Route::List,
        ("GET", p) if p.starts_with("/records/") && p.ends_with(".json") => {
            Route::One(p.trim_start_matches("/records/").trim_end_matches(".json"))
        }
        ("POST", "/records") => Route::Post,
        (_, "/" | "/records.json" | "/records") => Route::NotAllowed,
        _ => Route::NotFound,
    }
}

/// Reads a posted body into a checked record, or says why it is refused.
pub fn read_record(body: &[u8]) -> Result<CheckedRecord, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Some(object) = value.as_object() else {
        return Err("the body must be a JSON object with order, initials and ordered_at".to_string());
    };
    let known = |k: &str| matches!(k, "order" | "initials" | "ordered_at" | "key" | "signature");
    if let Some(extra) = object.keys().find(|k| !known(k)) {
        return Err(format!(
            "unknown field {extra:?}: a record holds only order, initials, ordered_at, key and signature \
             (never password A or amounts)"
        ));
    }
    let record =
        serde_json::from_value::<BoardRecord>(value).map_err(|e| format!("the record is malformed: {e}"))?;
    record.check().map_err(|e| e.to_string())
}
