//! What the framework tells tracing and metrics about each statement, in the names of
//! OpenTelemetry's database client conventions (semantic conventions 1.x, stable): a span per
//! statement, `db.client.operation.duration` and the pool's `db.client.connection.*` metrics,
//! a slow-statement warning, and [`count_statements`] for tests that guard against N+1 reads.
//!
//! No value bound to a statement ever reaches a span, an event or a metric label: the text,
//! when [`DbOptions::record_query_text`](crate::DbOptions::record_query_text) asks for it, has
//! placeholders where the values go.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Attribute and metric names, as the conventions spell them.
pub mod names {
    /// The database system: `postgresql`, `sqlite` or `mariadb`.
    pub const DB_SYSTEM_NAME: &str = "db.system.name";
    /// The database (PostgreSQL, MariaDB) or file (SQLite) statements run in.
    pub const DB_NAMESPACE: &str = "db.namespace";
    /// The table of a repository's statement.
    pub const DB_COLLECTION_NAME: &str = "db.collection.name";
    /// The SQL command: `SELECT`, `INSERT`, `UPDATE`, `DELETE`, …
    pub const DB_OPERATION_NAME: &str = "db.operation.name";
    /// Each command of the statement and its table, in order: `SELECT datasets`.
    pub const DB_QUERY_SUMMARY: &str = "db.query.summary";
    /// The statement's text with its placeholders (only when asked for).
    pub const DB_QUERY_TEXT: &str = "db.query.text";
    /// Rows the statement returned.
    pub const DB_RESPONSE_RETURNED_ROWS: &str = "db.response.returned_rows";
    /// The database's own code for a failure (an SQLSTATE, a MariaDB error number).
    pub const DB_RESPONSE_STATUS_CODE: &str = "db.response.status_code";
    /// The kind of [`Error`](crate::Error) the statement failed with.
    pub const ERROR_TYPE: &str = "error.type";
    /// The server's host name or address.
    pub const SERVER_ADDRESS: &str = "server.address";
    /// The server's port.
    pub const SERVER_PORT: &str = "server.port";
    /// Histogram of each statement's duration, in seconds.
    pub const DB_CLIENT_OPERATION_DURATION: &str = "db.client.operation.duration";
    /// Histogram of the rows each statement returned.
    pub const DB_CLIENT_RESPONSE_RETURNED_ROWS: &str = "db.client.response.returned_rows";
    /// Gauge of the pool's connections, by `db.client.connection.state` (`idle`, `used`).
    pub const DB_CLIENT_CONNECTION_COUNT: &str = "db.client.connection.count";
    /// The state label of [`DB_CLIENT_CONNECTION_COUNT`].
    pub const DB_CLIENT_CONNECTION_STATE: &str = "db.client.connection.state";
    /// Gauge of the most connections the pool opens.
    pub const DB_CLIENT_CONNECTION_MAX: &str = "db.client.connection.max";
    /// Gauge of the calls waiting for a connection.
    pub const DB_CLIENT_CONNECTION_PENDING_REQUESTS: &str = "db.client.connection.pending_requests";
    /// Histogram of the time a call waited for a connection, in seconds.
    pub const DB_CLIENT_CONNECTION_WAIT_TIME: &str = "db.client.connection.wait_time";
    /// Counter of the calls that found no connection in time.
    pub const DB_CLIENT_CONNECTION_TIMEOUTS: &str = "db.client.connection.timeouts";
    /// The pool label of the connection metrics: `host:port/namespace`, and `replica` or
    /// `primary`.
    pub const DB_CLIENT_CONNECTION_POOL_NAME: &str = "db.client.connection.pool.name";
    /// Counter of the statements and units of work run again after a retryable failure (not
    /// in the conventions).
    pub const REPO_RETRIES: &str = "repo.retries";
    /// Histogram of the rows each write affected (not in the conventions, which count
    /// returned rows only).
    pub const REPO_AFFECTED_ROWS: &str = "repo.affected_rows";
    /// Whether a read ran on a replica (a span attribute).
    pub const REPO_REPLICA: &str = "repo.replica";
    /// Whether the statement went through a transaction pooler (a span attribute, present
    /// only then).
    pub const REPO_POOLER: &str = "repo.pooler";
    /// How the read cache answered a repository call: `hit`, `miss` or `bypass` (an attribute
    /// of the call's span).
    pub const REPO_CACHE: &str = "repo.cache";
    /// Counter of read-cache lookups, by `db.collection.name` and `repo.cache.result`.
    pub const REPO_CACHE_LOOKUPS: &str = "repo.cache.lookups";
    /// The result label of [`REPO_CACHE_LOOKUPS`]: `hit`, `miss` or `bypass`.
    pub const REPO_CACHE_RESULT: &str = "repo.cache.result";
    /// The entity and method of the repository call a statement belongs to (span
    /// attributes of the call's own span, which is the statement span's parent).
    pub const REPO_ENTITY: &str = "entity";
    /// See [`REPO_ENTITY`].
    pub const REPO_METHOD: &str = "method";
}

/// The bucket boundaries, in seconds, the conventions advise for
/// `db.client.operation.duration` (and the connection wait time): give them to the metrics
/// exporter, which chooses buckets (the `metrics` facade carries none).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
];

/// What a `Db` tells telemetry about its server and how much it tells.
#[derive(Clone)]
pub(crate) struct Telemetry {
    pub(crate) system: &'static str,
    pub(crate) namespace: Arc<str>,
    pub(crate) address: Arc<str>,
    pub(crate) port: Option<u16>,
    /// Whether spans carry the statement's text (placeholders only).
    pub(crate) query_text: bool,
    /// Statements slower than this are logged as a warning.
    pub(crate) slow: Option<Duration>,
    /// Whether statements and the pool record metrics through the `metrics` facade.
    pub(crate) metrics: bool,
    /// Whether statements go through a transaction pooler.
    pub(crate) pooler: bool,
    /// The metric handles of each kind of statement, registered on first use: the labels are
    /// built once, not per statement.
    handles: Arc<std::sync::RwLock<HashMap<HandleKey, StatementMetrics>>>,
    /// The summaries of statement texts seen, so that a text repeated (most are) is read once.
    summaries: Arc<std::sync::RwLock<Summaries>>,
}

/// Summaries by statement text, at most [`SUMMARIES_KEPT`].
type Summaries = HashMap<Box<str>, Arc<Summary>, foldhash::fast::RandomState>;

/// How many statement texts' summaries a `Db` keeps (texts past that are read each time).
const SUMMARIES_KEPT: usize = 4096;

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("system", &self.system)
            .field("namespace", &self.namespace)
            .field("address", &self.address)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// A kind of statement, as its metrics are labelled: operation, table, error kind.
type HandleKey = (&'static str, Option<&'static str>, Option<&'static str>);

/// The metric handles of one kind of statement.
#[derive(Clone)]
pub(crate) struct StatementMetrics {
    pub(crate) duration: metrics::Histogram,
    pub(crate) returned: metrics::Histogram,
    pub(crate) affected: metrics::Histogram,
}

/// How much a `Db` tells telemetry: see [`DbOptions`](crate::DbOptions).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TelemetryOptions {
    pub(crate) query_text: bool,
    pub(crate) slow: Option<Duration>,
    pub(crate) metrics: bool,
}

/// Statements slower than this are logged by default, as sqlx does.
pub(crate) const SLOW_STATEMENT: Duration = Duration::from_secs(1);

impl Default for TelemetryOptions {
    fn default() -> Self {
        Self {
            query_text: false,
            slow: Some(SLOW_STATEMENT),
            metrics: true,
        }
    }
}

impl Telemetry {
    /// The telemetry of a database reached through `url` on `backend`.
    pub(crate) fn new(
        backend: crate::dialect::Backend,
        url: &str,
        options: TelemetryOptions,
    ) -> Self {
        use crate::dialect::Backend;
        let system = match backend {
            Backend::Postgres => "postgresql",
            Backend::Sqlite => "sqlite",
            Backend::MySql => "mariadb",
        };
        let (namespace, address, port) = match backend {
            Backend::Sqlite => (sqlite_namespace(url), "localhost".to_owned(), None),
            Backend::Postgres | Backend::MySql => server_of(url, backend == Backend::Postgres),
        };
        Self {
            system,
            namespace: namespace.into(),
            address: address.into(),
            port,
            query_text: options.query_text,
            slow: options.slow,
            metrics: options.metrics,
            pooler: false,
            handles: Arc::default(),
            summaries: Arc::default(),
        }
    }

    /// The summary of `sql`, read once per text.
    pub(crate) fn summary_of(&self, sql: &str) -> Arc<Summary> {
        if let Some(summary) = self
            .summaries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(sql)
        {
            return Arc::clone(summary);
        }
        let summary = Arc::new(summarize(sql));
        let mut summaries = self
            .summaries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if summaries.len() < SUMMARIES_KEPT {
            summaries.insert(sql.into(), Arc::clone(&summary));
        }
        summary
    }

    /// Run `record` with the metric handles of statements of `operation` on `table` that
    /// failed as `error` (registered with their labels the first time).
    pub(crate) fn with_metrics(
        &self,
        operation: &'static str,
        table: Option<&'static str>,
        error: Option<&'static str>,
        record: impl FnOnce(&StatementMetrics),
    ) {
        let key = (operation, table, error);
        if let Some(handles) = self
            .handles
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            record(handles);
            return;
        }
        let mut labels = vec![
            metrics::Label::from_static_parts(names::DB_SYSTEM_NAME, self.system),
            metrics::Label::new(
                names::DB_NAMESPACE,
                metrics::SharedString::from_shared(Arc::clone(&self.namespace)),
            ),
            metrics::Label::from_static_parts(names::DB_OPERATION_NAME, operation),
            metrics::Label::new(
                names::SERVER_ADDRESS,
                metrics::SharedString::from_shared(Arc::clone(&self.address)),
            ),
        ];
        if let Some(table) = table {
            labels.push(metrics::Label::from_static_parts(
                names::DB_COLLECTION_NAME,
                table,
            ));
        }
        if let Some(kind) = error {
            labels.push(metrics::Label::from_static_parts(names::ERROR_TYPE, kind));
        }
        let handles = StatementMetrics {
            duration: metrics::histogram!(names::DB_CLIENT_OPERATION_DURATION, labels.clone()),
            returned: metrics::histogram!(names::DB_CLIENT_RESPONSE_RETURNED_ROWS, labels.clone()),
            affected: metrics::histogram!(names::REPO_AFFECTED_ROWS, labels),
        };
        record(&handles);
        self.handles
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, handles);
    }

    /// The pool label of the connection metrics.
    pub(crate) fn pool_name(&self, role: &str) -> String {
        match self.port {
            Some(port) => format!("{}:{port}/{} {role}", self.address, self.namespace),
            None => format!("{}/{} {role}", self.address, self.namespace),
        }
    }
}

/// The file of a SQLite URL (`sqlite://data.db?mode=rwc` is `data.db`), or `:memory:`.
fn sqlite_namespace(url: &str) -> String {
    let rest = url.strip_prefix("sqlite:").unwrap_or(url);
    let rest = rest.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        ":memory:".to_owned()
    } else {
        path.to_owned()
    }
}

/// The database, first host and port of a server URL (a multi-host URL names its first host).
fn server_of(url: &str, postgres: bool) -> (String, String, Option<u16>) {
    let default_port = if postgres { 5432 } else { 3306 };
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    let first = hosts.split(',').next().unwrap_or_default();
    let (host, port) = match first.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || first.starts_with('[') => {
            (host, port.parse().ok())
        }
        _ => (first, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.is_empty() { "localhost" } else { host };
    let database = path.split('?').next().unwrap_or_default();
    let database = if database.is_empty() && postgres {
        "postgres"
    } else {
        database
    };
    (
        percent_decoded(database),
        host.to_owned(),
        Some(port.unwrap_or(default_port)),
    )
}

fn percent_decoded(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map_or_else(|| text.to_owned(), |(_, value)| value.into_owned())
}

/// The repository call a statement runs for: set around each repository method, so the
/// statements it sends know their entity, method and table without reading their text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call {
    pub(crate) entity: &'static str,
    pub(crate) method: &'static str,
    pub(crate) table: &'static str,
}

tokio::task_local! {
    static CALL: Call;
    static COUNTED: Arc<Mutex<Vec<String>>>;
}

/// Run `future` as the repository call `call`.
pub(crate) fn in_call<F: Future>(call: Call, future: F) -> impl Future<Output = F::Output> {
    CALL.scope(call, future)
}

/// Run `make` as the repository call `call` (for a stream, made in the call and run after
/// it).
pub(crate) fn in_call_sync<R>(call: Call, make: impl FnOnce() -> R) -> R {
    CALL.sync_scope(call, make)
}

/// The repository call under way, if any.
pub(crate) fn current_call() -> Option<Call> {
    CALL.try_with(|call| *call).ok()
}

/// Whether statements are being counted (see [`count_statements`]).
pub(crate) fn counting() -> bool {
    COUNTED.try_with(|_| ()).is_ok()
}

/// Count a statement whose summary is `summary`, when counting.
pub(crate) fn count(summary: &str) {
    let _ = COUNTED.try_with(|counted| {
        counted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(summary.to_owned());
    });
}

/// The statements a future sent, as [`count_statements`] returns them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statements {
    summaries: Vec<String>,
}

impl Statements {
    /// How many statements were sent (each retry, savepoint and `BEGIN`/`COMMIT` of a unit of
    /// work the framework opens counts as the statement it rides with, not on its own).
    #[must_use]
    pub fn len(&self) -> usize {
        self.summaries.len()
    }

    /// Whether none was sent.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.summaries.is_empty()
    }

    /// Each statement's `db.query.summary` (`SELECT datasets`), in the order they were sent.
    #[must_use]
    pub fn summaries(&self) -> &[String] {
        &self.summaries
    }
}

/// Run `future` and count the statements it sends to the database, on any `Db` or session:
/// the guard a test puts around a handler to catch an N+1 pattern (a read per item of a list)
/// before it reaches production.
///
/// Statements sent by tasks the future spawns are not counted (the count follows the task);
/// reads the read cache answers send none.
///
/// ```
/// use repo_core::prelude::*;
/// use repo_core::telemetry::count_statements;
///
/// #[derive(Debug, Clone, Repository)]
/// #[repo(table = "authors")]
/// pub struct Author {
///     #[repo(primary_key)]
///     pub id: i64,
///     pub name: String,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> repo_core::Result<()> {
/// let db = Db::connect("sqlite::memory:").await?;
/// db.create_schema::<Author>().await?;
/// let authors = AuthorRepository::new(&db);
/// let list: Vec<Author> = (1..=3).map(|id| Author { id, name: format!("a{id}") }).collect();
/// authors.bulk_insert(&list).await?;
///
/// // One read per author: three statements where one would do.
/// let (_, sent) = count_statements(async {
///     for id in 1..=3 {
///         authors.get(id).await?;
///     }
///     Ok::<_, repo_core::Error>(())
/// })
/// .await;
/// assert_eq!(sent.len(), 3);
/// assert_eq!(sent.summaries()[0], "SELECT authors");
///
/// // A page of them: its count and its rows, whatever its length.
/// let (found, sent) = count_statements(authors.find(Filter::all(), PageRequest::new(10))).await;
/// assert_eq!(found?.items.len(), 3);
/// assert_eq!(sent.summaries(), ["SELECT authors", "SELECT authors"]);
/// # Ok(()) }
/// ```
pub async fn count_statements<F: Future>(future: F) -> (F::Output, Statements) {
    let counted = Arc::new(Mutex::new(Vec::new()));
    let output = COUNTED.scope(Arc::clone(&counted), future).await;
    let summaries = std::mem::take(
        &mut *counted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    (output, Statements { summaries })
}

/// The SQL command a statement's text starts with (after a `WITH` clause, the command it
/// qualifies), upper case: `SELECT`, `INSERT`, …; `""` for an empty text.
pub(crate) fn operation_of(sql: &str) -> &'static str {
    let first = Tokens::new(sql).find_map(|token| match token {
        Token::Word(word) => Some(word),
        _ => None,
    });
    match first.map(keyword) {
        Some(Some("WITH")) => summarize(sql).operation,
        Some(Some(operation)) => operation,
        Some(None) => "OTHER",
        None => "",
    }
}

/// A statement's `db.query.summary` and its main command.
#[derive(Debug)]
pub(crate) struct Summary {
    /// Each command and its table, in order (`SELECT datasets`, `INSERT a SELECT b`), at most
    /// 255 characters.
    pub(crate) text: Box<str>,
    /// The command at the outermost level (after a `WITH` clause's own statements).
    pub(crate) operation: &'static str,
}

/// The longest summary kept, as the conventions advise.
const SUMMARY_LIMIT: usize = 255;

/// Summarize `sql` as the conventions' `db.query.summary` does: each command (`SELECT`,
/// `INSERT`, `UPDATE`, `DELETE`, and the first word of any other) followed by the table it
/// reads or writes, in order. Literals and comments are skipped, never copied.
pub(crate) fn summarize(sql: &str) -> Summary {
    let mut parts: Vec<(&'static str, Option<String>)> = Vec::new();
    // A command waiting for its table: its part's index, its depth, the word that names it
    // next (FROM for SELECT and DELETE, INTO for INSERT, none for UPDATE).
    let mut waiting: Vec<(usize, usize, Option<&'static str>)> = Vec::new();
    let mut operation: Option<&'static str> = None;
    let mut depth = 0usize;
    let mut previous: Option<&'static str> = None;
    let mut statement_start = true;
    let mut tokens = Tokens::new(sql).peekable();
    while let Some(token) = tokens.next() {
        match token {
            Token::Open => depth += 1,
            Token::Dot => {}
            Token::Close => {
                waiting.retain(|(_, at, _)| *at < depth);
                depth = depth.saturating_sub(1);
            }
            Token::End => {
                waiting.clear();
                statement_start = true;
                previous = None;
            }
            Token::Name(name) => {
                if let Some(part) = target_of(&mut waiting, depth, previous) {
                    parts[part].1 = Some(qualified(name, &mut tokens));
                }
                previous = None;
                statement_start = false;
            }
            Token::Word(word) => {
                let Some(word) = keyword(word) else {
                    if let Some(part) = target_of(&mut waiting, depth, previous) {
                        parts[part].1 = Some(qualified(word, &mut tokens));
                    }
                    previous = None;
                    statement_start = false;
                    continue;
                };
                let command = match word {
                    "SELECT" => Some(Some("FROM")),
                    "DELETE" if previous != Some("ON") => Some(Some("FROM")),
                    "INSERT" | "REPLACE" if previous != Some("ON") => Some(Some("INTO")),
                    "UPDATE"
                        if !matches!(previous, Some("DO" | "KEY" | "FOR" | "ON" | "SHARE")) =>
                    {
                        Some(None)
                    }
                    "WITH" | "RECURSIVE" => None,
                    _ if statement_start => {
                        // Another command (CREATE, BEGIN, SAVEPOINT, …): its first word, and
                        // the table a DDL statement names.
                        parts.push((word, None));
                        if operation.is_none() {
                            operation = Some(word);
                        }
                        if matches!(word, "CREATE" | "ALTER" | "DROP" | "TRUNCATE") {
                            waiting.push((parts.len() - 1, depth, Some("TABLE")));
                        }
                        None
                    }
                    _ => None,
                };
                if let Some(after) = command {
                    parts.push((word, None));
                    waiting.push((parts.len() - 1, depth, after));
                    if depth == 0 && operation.is_none() {
                        operation = Some(word);
                    }
                }
                // Words between a command and its table (`INSERT IGNORE INTO`, `UPDATE
                // ONLY`, `DROP TABLE IF EXISTS`) keep it waiting.
                if !matches!(
                    word,
                    "IF" | "NOT" | "EXISTS" | "ONLY" | "IGNORE" | "LOW_PRIORITY"
                ) || previous.is_none()
                {
                    previous = Some(word);
                }
                statement_start = false;
            }
        }
    }
    let mut text = String::new();
    for (command, table) in &parts {
        let part = match table {
            Some(table) => format!("{command} {table}"),
            None => (*command).to_owned(),
        };
        if text.len() + part.len() + 1 > SUMMARY_LIMIT {
            break;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&part);
    }
    Summary {
        text: text.into_boxed_str(),
        operation: operation.unwrap_or(if parts.is_empty() { "" } else { "OTHER" }),
    }
}

/// The part of the command waiting, at `depth`, for the name that comes now (after the word
/// `previous`): its index, no longer waiting.
fn target_of(
    waiting: &mut Vec<(usize, usize, Option<&'static str>)>,
    depth: usize,
    previous: Option<&'static str>,
) -> Option<usize> {
    let position = waiting.iter().rposition(|(_, at, after)| {
        *at == depth && after.is_none_or(|after| previous == Some(after))
    })?;
    Some(waiting.remove(position).0)
}

/// `name`, and the names after it joined by `.` (`schema.table`).
fn qualified(name: &str, tokens: &mut std::iter::Peekable<Tokens<'_>>) -> String {
    let mut qualified = name.to_owned();
    while matches!(tokens.peek(), Some(Token::Dot)) {
        tokens.next();
        match tokens.peek() {
            Some(Token::Name(part) | Token::Word(part)) => {
                qualified.push('.');
                qualified.push_str(part);
                tokens.next();
            }
            _ => break,
        }
    }
    qualified
}

/// The keywords the summary knows, upper case; `None` for any other word (a name).
fn keyword(word: &str) -> Option<&'static str> {
    // Upper-cased into a buffer as long as the longest keyword: a longer word is a name.
    let mut upper = [0u8; 12];
    let bytes = word.as_bytes();
    if bytes.len() > upper.len() {
        return None;
    }
    for (to, from) in upper.iter_mut().zip(bytes) {
        *to = from.to_ascii_uppercase();
    }
    KEYWORDS
        .iter()
        .find(|keyword| keyword.as_bytes() == &upper[..bytes.len()])
        .copied()
}

/// See [`keyword`].
const KEYWORDS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "REPLACE",
    "WITH",
    "RECURSIVE",
    "FROM",
    "INTO",
    "TABLE",
    "ON",
    "DO",
    "KEY",
    "FOR",
    "SHARE",
    "IF",
    "NOT",
    "EXISTS",
    "ONLY",
    "IGNORE",
    "LOW_PRIORITY",
    "CREATE",
    "ALTER",
    "DROP",
    "TRUNCATE",
    "BEGIN",
    "START",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "SET",
    "SHOW",
    "COPY",
    "MERGE",
    "CALL",
    "LOCK",
    "EXPLAIN",
    "ANALYZE",
    "PRAGMA",
    "VACUUM",
    "GRANT",
    "REVOKE",
    "VALUES",
    "WHERE",
    "AS",
    "JOIN",
    "UNION",
    "ORDER",
    "GROUP",
    "LIMIT",
    "RETURNING",
    "INDEX",
    "UNIQUE",
    "VIEW",
    "TEMPORARY",
    "TEMP",
    "TYPE",
    "SCHEMA",
    "SEQUENCE",
    "DISTINCT",
    "ALL",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "AND",
    "OR",
    "IN",
    "IS",
    "NULL",
    "BY",
    "LATERAL",
    "USING",
    "CONFLICT",
    "DUPLICATE",
    "OFFSET",
    "FETCH",
    "SKIP",
    "LOCKED",
    "NOWAIT",
    "DEFAULT",
    "COUNT",
    "MAX",
    "MIN",
    "SUM",
    "AVG",
    "LIKE",
    "BETWEEN",
    "DESC",
    "ASC",
    "HAVING",
    "CAST",
    "COALESCE",
    "TRUE",
    "FALSE",
    "DATABASE",
];

/// A piece of SQL text the summary looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// An unquoted word: a keyword or a name.
    Word(&'a str),
    /// A quoted name (`"datasets"`, `` `datasets` ``), without its quotes.
    Name(&'a str),
    Open,
    Close,
    Dot,
    /// `;`: the next word starts a statement.
    End,
}

/// The tokens of SQL text; literals, placeholders, numbers, operators and comments are
/// skipped (a literal's content never leaves this iterator).
struct Tokens<'a> {
    sql: &'a str,
    at: usize,
}

impl<'a> Tokens<'a> {
    fn new(sql: &'a str) -> Self {
        Self { sql, at: 0 }
    }

    /// Skip past the first `end` at or after `from`; the text's end when there is none.
    fn skip_past(&mut self, from: usize, end: &str) {
        self.at = self.sql[from..]
            .find(end)
            .map_or(self.sql.len(), |found| from + found + end.len());
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let bytes = self.sql.as_bytes();
        while self.at < bytes.len() {
            let start = self.at;
            let byte = bytes[start];
            match byte {
                b'(' => {
                    self.at += 1;
                    return Some(Token::Open);
                }
                b')' => {
                    self.at += 1;
                    return Some(Token::Close);
                }
                b'.' => {
                    self.at += 1;
                    return Some(Token::Dot);
                }
                b';' => {
                    self.at += 1;
                    return Some(Token::End);
                }
                b'\'' => {
                    // A string literal; '' inside it is a quote, which skipping twice handles.
                    self.skip_past(start + 1, "'");
                }
                b'"' | b'`' => {
                    let quote = if byte == b'"' { "\"" } else { "`" };
                    let from = start + 1;
                    self.skip_past(from, quote);
                    let end = self.at.saturating_sub(1).max(from);
                    return Some(Token::Name(&self.sql[from..end]));
                }
                b'-' if bytes.get(start + 1) == Some(&b'-') => self.skip_past(start, "\n"),
                b'/' if bytes.get(start + 1) == Some(&b'*') => self.skip_past(start + 2, "*/"),
                b'$' => {
                    // `$1` is a placeholder; `$$ … $$` and `$tag$ … $tag$` are literals.
                    let tag_end = self.sql[start + 1..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .map_or(self.sql.len(), |end| start + 1 + end);
                    let is_tag = bytes.get(tag_end) == Some(&b'$')
                        && !bytes.get(start + 1).is_some_and(u8::is_ascii_digit);
                    if is_tag {
                        let tag = &self.sql[start..=tag_end];
                        self.skip_past(tag_end + 1, tag);
                    } else {
                        self.at = tag_end.max(start + 1);
                    }
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                    let end = self.sql[start..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                        .map_or(self.sql.len(), |end| start + end);
                    self.at = end;
                    return Some(Token::Word(&self.sql[start..end]));
                }
                b'0'..=b'9' => {
                    let end = self.sql[start..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                        .map_or(self.sql.len(), |end| start + end);
                    self.at = end;
                }
                _ => {
                    // Anything else: an operator, a placeholder `?`, white space, or a byte
                    // of a non-ASCII character.
                    self.at += self.sql[start..].chars().next().map_or(1, char::len_utf8);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(sql: &str) -> (String, &'static str) {
        let summary = summarize(sql);
        (summary.text.into_string(), summary.operation)
    }

    #[test]
    fn summaries_name_each_command_and_its_table() {
        let cases = [
            (
                r#"SELECT "id", "name" FROM "datasets" WHERE "id" = $1"#,
                "SELECT datasets",
                "SELECT",
            ),
            (
                "INSERT INTO `datasets` (`id`) VALUES (?) ON DUPLICATE KEY UPDATE `id` = VALUES(`id`)",
                "INSERT datasets",
                "INSERT",
            ),
            (
                r#"INSERT INTO "datasets" ("id") VALUES ($1) ON CONFLICT ("id") DO UPDATE SET "id" = EXCLUDED."id" RETURNING "id""#,
                "INSERT datasets",
                "INSERT",
            ),
            (
                r#"UPDATE "datasets" SET "owner" = $1 WHERE "id" IN (SELECT "id" FROM "datasets" WHERE "owner" IS NULL LIMIT 5 FOR UPDATE SKIP LOCKED) RETURNING "id""#,
                "UPDATE datasets SELECT datasets",
                "UPDATE",
            ),
            (
                r#"DELETE FROM "public"."datasets" WHERE "id" = $1"#,
                "DELETE public.datasets",
                "DELETE",
            ),
            (
                r#"WITH "old" AS (SELECT * FROM "accounts" WHERE "id" = $1) INSERT INTO "audit_log" SELECT * FROM "old""#,
                "SELECT accounts INSERT audit_log SELECT old",
                "INSERT",
            ),
            (
                "SELECT COUNT(*) FROM (SELECT 1 FROM orders) AS t",
                "SELECT SELECT orders",
                "SELECT",
            ),
            (
                "RELEASE SAVEPOINT repo_statement; SAVEPOINT repo_group",
                "RELEASE SAVEPOINT",
                "RELEASE",
            ),
            (
                "CREATE TABLE IF NOT EXISTS \"widgets\" (\"id\" BIGINT)",
                "CREATE widgets",
                "CREATE",
            ),
            ("SELECT 1", "SELECT", "SELECT"),
            ("", "", ""),
        ];
        for (sql, text, operation) in cases {
            assert_eq!(summary(sql), (text.to_owned(), operation), "{sql}");
        }
    }

    #[test]
    fn literals_and_comments_never_reach_the_summary() {
        let sql = "SELECT 'FROM secret' FROM t /* FROM hidden */ -- FROM other\n WHERE a = $$ FROM x $$ AND b = $tag$ INSERT INTO y $tag$ AND c = $1";
        assert_eq!(summary(sql), ("SELECT t".to_owned(), "SELECT"));
        let quoted = "SELECT \"a\"\"b\" FROM \"it's\" WHERE x = 'it''s FROM s'";
        assert!(!summarize(quoted).text.contains("FROM s"));
    }

    #[test]
    fn hostile_text_ends_the_summary_without_a_panic() {
        for sql in [
            "SELECT '",
            "SELECT \"",
            "SELECT /*",
            "$",
            "$a",
            "$$",
            "))))SELECT((",
            "INSERT INTO",
            "é FROM ü",
            "SELECT x FROM \u{1F600}",
        ] {
            let _ = summarize(sql);
            let _ = operation_of(sql);
        }
        let long = "SELECT a FROM b; ".repeat(100);
        assert!(summarize(&long).text.len() <= SUMMARY_LIMIT);
    }

    #[test]
    fn the_operation_is_read_from_the_first_word() {
        assert_eq!(operation_of("  select 1"), "SELECT");
        assert_eq!(operation_of("WITH x AS (SELECT 1) DELETE FROM t"), "DELETE");
        assert_eq!(operation_of("frobnicate"), "OTHER");
    }

    #[test]
    fn server_urls_give_namespace_address_and_port() {
        assert_eq!(
            server_of("postgres://u:p@db.example:6432/app?sslmode=require", true),
            ("app".into(), "db.example".into(), Some(6432))
        );
        assert_eq!(
            server_of("postgres://u@h1:5441,h2:5442/app", true),
            ("app".into(), "h1".into(), Some(5441))
        );
        assert_eq!(
            server_of("mysql://root@127.0.0.1/test", false),
            ("test".into(), "127.0.0.1".into(), Some(3306))
        );
        assert_eq!(
            server_of("postgres://[::1]:5433/x%20y", true),
            ("x y".into(), "::1".into(), Some(5433))
        );
        assert_eq!(
            sqlite_namespace("sqlite://data/app.db?mode=rwc"),
            "data/app.db"
        );
        assert_eq!(sqlite_namespace("sqlite::memory:"), ":memory:");
        assert_eq!(
            sqlite_namespace("sqlite:file:shared?mode=memory&cache=shared"),
            ":memory:"
        );
    }
}
