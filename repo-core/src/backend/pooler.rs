//! Running behind a transaction-mode pooler (`PgBouncer`'s `pool_mode = transaction`, the poolers
//! hosted PostgreSQL offerings put in front of the server): the pooler hands a server
//! connection to a client for one transaction only, so nothing may outlive a transaction on
//! it. Every statement runs inside one (an autocommit call gets its own `BEGIN … COMMIT`),
//! which keeps sqlx's prepare and execute on one server connection; the transaction starts by
//! dropping whatever prepared statements the server connection holds (`DEALLOCATE ALL`, so a
//! name sqlx picks never meets one another client left) and its end drops its own; the
//! statement cache is off; and the per-connection settings (`statement_timeout`, `on_connect`,
//! the URL's `options`) are set with `SET LOCAL` in every transaction instead of once per
//! connection, so they never leak to the pooler's other clients.

use std::fmt::Write as _;

use crate::error::{Error, Result};

/// The URL parameter that asks for the mode: `postgres://…:6432/db?pooler=transaction`.
pub(crate) const URL_PARAMETER: &str = "pooler";

/// What every transaction through the pooler runs around its statements.
#[derive(Debug)]
pub(crate) struct Pooler {
    /// Sent with `BEGIN`, in the same round trip: `; DEALLOCATE ALL; SET LOCAL …`.
    pub(crate) after_begin: String,
}

/// Sent after `COMMIT` or `ROLLBACK`, in the same round trip (after: in an aborted transaction
/// it would fail and keep the end from running).
pub(crate) const AFTER_END: &str = "; DEALLOCATE ALL";

impl Pooler {
    /// What runs after `BEGIN`, as SQL of its own.
    pub(crate) fn preamble(&self) -> &str {
        self.after_begin.trim_start_matches("; ")
    }

    /// The mode for a connection with `statement_timeout`, the `on_connect` statements (each
    /// must be a `SET`, made `SET LOCAL`) and the settings of the URL's `options`.
    pub(crate) fn new(
        statement_timeout: Option<std::time::Duration>,
        on_connect: &[String],
        url_settings: &[(String, String)],
    ) -> Result<Self> {
        let mut after_begin = String::from("; DEALLOCATE ALL");
        if let Some(timeout) = statement_timeout {
            let _ = write!(
                after_begin,
                "; SET LOCAL statement_timeout = {}",
                timeout.as_millis().max(1)
            );
        }
        for sql in on_connect {
            after_begin.push_str("; ");
            after_begin.push_str(&set_local(sql)?);
        }
        for (name, value) in url_settings {
            let _ = write!(
                after_begin,
                "; SELECT set_config({}, {}, true)",
                literal(name),
                literal(value)
            );
        }
        Ok(Self { after_begin })
    }
}

/// `sql`, a `SET` statement, as `SET LOCAL`: it lasts for the transaction only.
fn set_local(sql: &str) -> Result<String> {
    let trimmed = sql.trim().trim_end_matches(';').trim();
    let words: Vec<&str> = trimmed.splitn(3, char::is_whitespace).collect();
    let is = |i: usize, word: &str| words.get(i).is_some_and(|w| w.eq_ignore_ascii_case(word));
    let refused = || {
        Error::validation(
            "on_connect",
            format!(
                "`{trimmed}` cannot run through a transaction pooler: the pooler hands the \
                 server connection to other clients after each transaction, so only `SET` \
                 statements are kept (as `SET LOCAL`, in every transaction); session state \
                 (advisory locks, LISTEN, temporary tables, prepared statements) cannot be"
            ),
        )
    };
    if !is(0, "SET") || trimmed.contains(';') {
        return Err(refused());
    }
    let rest = if is(1, "LOCAL") || is(1, "SESSION") {
        words.get(2).copied().unwrap_or_default()
    } else {
        trimmed[3..].trim_start()
    };
    if rest.is_empty() {
        return Err(refused());
    }
    Ok(format!("SET LOCAL {rest}"))
}

/// `text` as a SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A PostgreSQL URL read for the mode: whether `pooler=transaction` asks for it, the URL
/// without that parameter, and, when the mode is on, without `options` too (a startup
/// parameter `PgBouncer` refuses), whose `-c name=value` settings are returned to be set per
/// transaction.
pub(crate) fn read_url(url: &str, wanted: bool) -> Result<PoolerUrl> {
    if !wanted && !url.contains(URL_PARAMETER) {
        return Ok(PoolerUrl {
            url: url.to_owned(),
            on: false,
            settings: Vec::new(),
        });
    }
    let bad = |e: String| Error::validation("url", e);
    let mut parsed = url::Url::parse(url).map_err(|e| bad(format!("not a URL: {e}")))?;
    let mut on = wanted;
    let mut kept = Vec::new();
    let mut options = None;
    for (name, value) in parsed.query_pairs() {
        if name == URL_PARAMETER {
            match &*value {
                "transaction" => on = true,
                "none" => {}
                other => {
                    return Err(bad(format!(
                        "`{URL_PARAMETER}={other}`: the pooler mode is `transaction` (or `none`)"
                    )));
                }
            }
        } else if name == "options" {
            options = Some(value.into_owned());
        } else {
            kept.push((name.into_owned(), value.into_owned()));
        }
    }
    let mut settings = Vec::new();
    match options {
        Some(options) if on => settings = option_settings(&options).map_err(bad)?,
        Some(options) => kept.push(("options".to_owned(), options)),
        None => {}
    }
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok(PoolerUrl {
        url: parsed.into(),
        on,
        settings,
    })
}

/// A URL as [`read_url`] reads it.
#[derive(Debug)]
pub(crate) struct PoolerUrl {
    /// The URL to connect with.
    pub(crate) url: String,
    /// Whether the mode is on.
    pub(crate) on: bool,
    /// The settings of the URL's `options`, to set in every transaction.
    pub(crate) settings: Vec<(String, String)>,
}

/// The settings of a libpq `options` value: `-c name=value` (or `-cname=value`,
/// `--name=value`), separated by spaces.
fn option_settings(options: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut settings = Vec::new();
    let mut words = options.split_whitespace();
    while let Some(word) = words.next() {
        let setting = if word == "-c" {
            words.next().unwrap_or_default()
        } else if let Some(rest) = word.strip_prefix("-c").or_else(|| word.strip_prefix("--")) {
            rest
        } else {
            return Err(format!(
                "the URL's `options` holds `{word}`: only `-c name=value` settings can be \
                 applied through a transaction pooler"
            ));
        };
        let Some((name, value)) = setting.split_once('=') else {
            return Err(format!(
                "the URL's `options` holds `{setting}`, not `name=value`"
            ));
        };
        settings.push((name.replace('-', "_"), value.to_owned()));
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_statements_become_local_and_others_are_refused() {
        assert_eq!(
            set_local("SET search_path TO app").unwrap(),
            "SET LOCAL search_path TO app"
        );
        assert_eq!(
            set_local("set session timezone = 'UTC';").unwrap(),
            "SET LOCAL timezone = 'UTC'"
        );
        assert_eq!(
            set_local("SET LOCAL work_mem = '64MB'").unwrap(),
            "SET LOCAL work_mem = '64MB'"
        );
        for refused in [
            "SELECT pg_advisory_lock(1)",
            "LISTEN jobs",
            "SET a = 1; DROP TABLE t",
            "SETTINGS",
        ] {
            assert!(set_local(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn urls_name_the_mode_and_lose_what_the_pooler_refuses() {
        let PoolerUrl { url, on, settings } = read_url(
            "postgres://u@h:6432/db?pooler=transaction&options=-c%20search_path%3Dt_x&sslmode=disable",
            false,
        )
        .unwrap();
        assert!(on);
        assert_eq!(url, "postgres://u@h:6432/db?sslmode=disable");
        assert_eq!(settings, vec![("search_path".to_owned(), "t_x".to_owned())]);
        let PoolerUrl { url, on, .. } =
            read_url("postgres://u@h/db?options=-c%20a%3Db", false).unwrap();
        assert!(!on);
        assert_eq!(url, "postgres://u@h/db?options=-c%20a%3Db");
        assert!(read_url("postgres://u@h/db?pooler=session", false).is_err());
        let PoolerUrl { on, settings, .. } =
            read_url("postgres://u@h/db?options=--statement-timeout%3D5s", true).unwrap();
        assert!(on);
        assert_eq!(
            settings,
            vec![("statement_timeout".to_owned(), "5s".to_owned())]
        );
    }

    #[test]
    fn values_are_quoted_as_literals() {
        let pooler = Pooler::new(None, &[], &[("search_path".into(), "a'b".into())]).unwrap();
        assert!(
            pooler
                .after_begin
                .ends_with("set_config('search_path', 'a''b', true)")
        );
    }
}
