//! What each statement tells telemetry (see [`crate::telemetry`]): its span, its metrics, the
//! slow-statement warning, and its place in [`count_statements`](crate::telemetry::count_statements).
//! With no subscriber listening, no statement counting and no recorder installed, a
//! statement costs a look at its first word, two clock reads and a lookup of its metric
//! handles.

use std::time::{Duration, Instant};

use tracing::field::Empty;

use crate::error::{Error, Result};
use crate::telemetry::{Call, Summary, Telemetry, names};

/// What telemetry records of a failed statement.
pub(crate) struct Failure {
    kind: &'static str,
    status_code: Option<String>,
}

impl Failure {
    pub(crate) fn of(error: &Error) -> Self {
        Self {
            kind: error.kind(),
            status_code: error.status_code(),
        }
    }
}

/// One statement being observed, from just before it is sent until its outcome is known.
pub(crate) struct Observed<'a> {
    telemetry: &'a Telemetry,
    span: tracing::Span,
    sql: &'a str,
    call: Option<Call>,
    operation: &'static str,
    summary: Option<std::sync::Arc<Summary>>,
    started: Instant,
}

impl<'a> Observed<'a> {
    /// Start observing `sql`, about to be sent.
    pub(crate) fn start(telemetry: &'a Telemetry, sql: &'a str) -> Self {
        Self::start_in(telemetry, sql, crate::telemetry::current_call())
    }

    /// [`start`](Observed::start) for a statement of the repository call `call`.
    pub(crate) fn start_in(telemetry: &'a Telemetry, sql: &'a str, call: Option<Call>) -> Self {
        let traced = tracing::enabled!(target: "repo_core::statement", tracing::Level::INFO);
        let counting = crate::telemetry::counting();
        if !traced && !counting {
            return Self {
                telemetry,
                span: tracing::Span::none(),
                sql,
                call,
                operation: crate::telemetry::operation_of(sql),
                summary: None,
                started: Instant::now(),
            };
        }
        let summary = telemetry.summary_of(sql);
        if counting {
            crate::telemetry::count(&summary.text);
        }
        let span = if traced {
            // A catalog read inside the call (the first write to a table learns its indexes)
            // is not on the call's table.
            let collection = call
                .filter(|call| names_table(&summary.text, call.table))
                .map(|call| call.table);
            // Every attribute known now is given at once: a subscriber copies each field it
            // is told of, once per call.
            tracing::info_span!(
                target: "repo_core::statement",
                "statement",
                otel.name = &*summary.text,
                otel.kind = "client",
                db.system.name = telemetry.system,
                db.namespace = &*telemetry.namespace,
                db.collection.name = collection,
                db.operation.name = summary.operation,
                db.query.summary = &*summary.text,
                db.query.text = telemetry.query_text.then_some(sql),
                db.response.returned_rows = Empty,
                db.response.status_code = Empty,
                error.type = Empty,
                server.address = &*telemetry.address,
                server.port = telemetry.port,
                repo.replica = Empty,
                repo.pooler = telemetry.pooler.then_some(true),
            )
        } else {
            tracing::Span::none()
        };
        Self {
            telemetry,
            span,
            sql,
            call,
            operation: summary.operation,
            summary: Some(summary),
            started: Instant::now(),
        }
    }

    /// The statement's span, for the events of its retries.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Take note that the statement ran on a replica.
    pub(crate) fn on_replica(&self) {
        self.span.record(names::REPO_REPLICA, true);
    }

    /// The statement ended with `result`, which returned `returned` rows (a read) or affected
    /// `affected` rows (a write).
    pub(crate) fn finish<T>(
        self,
        result: &Result<T>,
        returned: Option<u64>,
        affected: Option<u64>,
    ) {
        let failure = result.as_ref().err().map(Failure::of);
        self.end(failure.as_ref(), returned, affected);
    }

    /// [`finish`](Observed::finish) with what is known of the failure, if any.
    pub(crate) fn end(
        self,
        failure: Option<&Failure>,
        returned: Option<u64>,
        affected: Option<u64>,
    ) {
        let elapsed = self.started.elapsed();
        if !self.span.is_disabled() {
            if let Some(rows) = returned {
                self.span.record("db.response.returned_rows", rows);
            }
            if let Some(failure) = failure {
                self.span.record("error.type", failure.kind);
                if let Some(code) = &failure.status_code {
                    self.span.record("db.response.status_code", code.as_str());
                }
            }
        }
        let kind = failure.map(|failure| failure.kind);
        if self.telemetry.metrics {
            self.record_metrics(elapsed, kind, returned, affected);
        }
        if let Some(slow) = self.telemetry.slow
            && elapsed >= slow
        {
            self.warn_slow(elapsed, slow, returned.or(affected), kind);
        }
    }

    fn record_metrics(
        &self,
        elapsed: Duration,
        error: Option<&'static str>,
        returned: Option<u64>,
        affected: Option<u64>,
    ) {
        let table = self.call.map(|call| call.table);
        self.telemetry
            .with_metrics(self.operation, table, error, |handles| {
                if let Some(rows) = returned {
                    handles.returned.record(rows as f64);
                }
                if let Some(rows) = affected {
                    handles.affected.record(rows as f64);
                }
                handles.duration.record(elapsed.as_secs_f64());
            });
    }

    #[cold]
    fn warn_slow(
        &self,
        elapsed: Duration,
        slow: Duration,
        rows: Option<u64>,
        error: Option<&'static str>,
    ) {
        let summary = self.summary.as_ref().map_or_else(
            || self.telemetry.summary_of(self.sql),
            std::sync::Arc::clone,
        );
        let summary = &*summary.text;
        let (entity, method) = self
            .call
            .map_or(("", ""), |call| (call.entity, call.method));
        tracing::warn!(
            target: "repo_core::slow_statement",
            entity,
            method,
            db.operation.name = self.operation,
            db.query.summary = summary,
            db.response.returned_rows = rows,
            error.type = error,
            duration_ms = elapsed.as_secs_f64() * 1e3,
            threshold_ms = slow.as_secs_f64() * 1e3,
            "slow statement: {summary} took {elapsed:.1?}"
        );
    }
}

/// Whether `summary` names `table` (bare or schema-qualified) as a command's target.
fn names_table(summary: &str, table: &str) -> bool {
    summary
        .split(' ')
        .any(|word| word == table || word.rsplit_once('.').is_some_and(|(_, name)| name == table))
}

/// Count a retry in the metrics (the retry's event is in the statement's span already).
pub(crate) fn count_retry(telemetry: &Telemetry) {
    if telemetry.metrics {
        metrics::counter!(
            names::REPO_RETRIES,
            names::DB_SYSTEM_NAME => telemetry.system
        )
        .increment(1);
    }
}
