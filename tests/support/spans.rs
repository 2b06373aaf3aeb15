//! A tracing layer that keeps what the framework reports: every span (its name, parent and
//! fields, as created and recorded, not at close: a driver may hold a span a little longer
//! than the call that opened it) and every event, of the subscriber it is installed in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// Field values by name, as `Debug` prints them (strings as they are).
pub type Fields = HashMap<String, String>;

/// A span as it was created and recorded.
#[derive(Debug, Clone, Default)]
pub struct SpanRecord {
    /// The span's name (`repository`, `statement`).
    pub name: String,
    /// The id of its parent, explicit or the current span when it was created.
    pub parent: Option<u64>,
    /// Its fields.
    pub fields: Fields,
}

/// The spans, by id, and events (their fields, with `target` and `level`) a subscriber saw.
#[derive(Clone, Default)]
pub struct SpanCapture {
    spans: Arc<Mutex<HashMap<u64, SpanRecord>>>,
    events: Arc<Mutex<Vec<Fields>>>,
}

impl SpanCapture {
    /// A capture installed as the default subscriber of this thread while the guard lives.
    #[must_use]
    pub fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
        (capture, guard)
    }

    /// Every span seen so far, by id.
    #[must_use]
    pub fn spans(&self) -> HashMap<u64, SpanRecord> {
        self.spans.lock().unwrap().clone()
    }

    /// Every event seen so far, in order.
    #[must_use]
    pub fn events(&self) -> Vec<Fields> {
        self.events.lock().unwrap().clone()
    }
}

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> tracing_subscriber::Layer<S> for SpanCapture
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut record = SpanRecord {
            name: attrs.metadata().name().to_owned(),
            parent: attrs
                .parent()
                .cloned()
                .or_else(|| ctx.current_span().id().cloned())
                .map(|id| id.into_u64()),
            fields: Fields::new(),
        };
        attrs.record(&mut Visitor(&mut record.fields));
        self.spans.lock().unwrap().insert(id.into_u64(), record);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(record) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Visitor(&mut record.fields));
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::new();
        fields.insert("target".into(), event.metadata().target().into());
        fields.insert("level".into(), event.metadata().level().to_string());
        event.record(&mut Visitor(&mut fields));
        self.events.lock().unwrap().push(fields);
    }
}
