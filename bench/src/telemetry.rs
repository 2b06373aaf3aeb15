//! `--telemetry recorded`: what an application exporting the framework's telemetry runs — a
//! tracing layer that copies every field of every `repo_core` span and event (as an
//! OpenTelemetry layer turns them into attributes), and the Prometheus exporter's metrics
//! recorder. Installed before any `Db` connects; sqlx's own events stay disabled, so the
//! hand-written contender pays nothing for it.

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// Every field of a span, as text.
struct Attributes(Vec<(&'static str, String)>);

impl Visit for Attributes {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_owned()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push((field.name(), value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push((field.name(), value.to_string()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push((field.name(), value.to_string()));
    }
}

/// Keeps each span's attributes until it closes; counts events.
struct Exporting;

impl<S> tracing_subscriber::Layer<S> for Exporting
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut attributes = Attributes(Vec::with_capacity(16));
        attrs.record(&mut attributes);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(attributes);
        }
    }
    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id)
            && let Some(attributes) = span.extensions_mut().get_mut::<Attributes>()
        {
            values.record(attributes);
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut attributes = Attributes(Vec::new());
        event.record(&mut attributes);
        std::hint::black_box(attributes);
    }
}

/// A layer that keeps nothing: what the framework's spans cost a subscriber that stores them
/// (tracing-subscriber's registry) before any exporter's own work.
struct Keeping;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Keeping {}

/// Install a layer for the whole process (`Some(true)`: the copying one; `Some(false)`: one
/// that keeps nothing; `None`: no subscriber) and, if `metrics`, the Prometheus recorder.
pub fn record(copy: Option<bool>, metrics: bool) -> Result<(), Box<dyn std::error::Error>> {
    let only_ours = || {
        tracing_subscriber::filter::Targets::new().with_target("repo_core", tracing::Level::INFO)
    };
    match copy {
        Some(true) => {
            let subscriber =
                tracing_subscriber::registry().with(Exporting.with_filter(only_ours()));
            tracing::subscriber::set_global_default(subscriber)?;
        }
        Some(false) => {
            let subscriber = tracing_subscriber::registry().with(Keeping.with_filter(only_ours()));
            tracing::subscriber::set_global_default(subscriber)?;
        }
        None => {}
    }
    if !metrics {
        return Ok(());
    }
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&repo_core::telemetry::DURATION_BUCKETS)?
        .build_recorder();
    metrics::set_global_recorder(recorder)?;
    Ok(())
}
