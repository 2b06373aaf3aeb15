//! SQLite's SQL: long lists bound as one JSON parameter.

use sea_query::Value;

use crate::storage::sqlite::{time_text, timestamp_text};

/// `column IN (SELECT value FROM json_each(?))`: a long list as one JSON parameter holding the
/// values as SQLite stores them (blobs as hex, read back with `unhex`).
pub(crate) fn in_list(
    column: &'static str,
    typed_null: &Value,
    values: &[Value],
) -> sea_query::Expr {
    use serde_json::Value as Json;
    let json = Json::Array(
        values
            .iter()
            .map(|v| crate::storage::list_json(v, timestamp_text, time_text))
            .collect(),
    )
    .to_string();
    let template = if matches!(typed_null, Value::Bytes(_) | Value::Uuid(_)) {
        "$1 IN (SELECT unhex(value) FROM json_each($2))"
    } else {
        "$1 IN (SELECT value FROM json_each($2))"
    };
    super::custom(
        super::Backend::Sqlite,
        template,
        [sea_query::Expr::col(column), sea_query::Expr::val(json)],
    )
}
