//! Entities declared the way a user declares them, covering every supported column type.

use repo_core::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A stored enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum)]
pub enum Status {
    Draft,
    Active,
    Retired,
}

/// A serde type stored as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Dimensions {
    pub width: f64,
    pub height: f64,
}

/// Every column type, a generated key, a unique key, an index and timestamps.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "widgets", unique(sku), index(status))]
pub struct Widget {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub status: Status,
    pub previous_status: Option<Status>,
    pub qty: i32,
    pub rank: i16,
    pub weight: Option<f64>,
    pub ratio: f32,
    pub active: bool,
    pub external: Uuid,
    pub url: Option<String>,
    pub attributes: serde_json::Value,
    #[repo(json)]
    pub dimensions: Dimensions,
    #[repo(json)]
    pub tags: Option<Vec<String>>,
    pub embedding: Option<Vec<f32>>,
    pub checked_at: Option<DateTime<Utc>>,
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

impl NewWidget {
    /// A widget with defaults and the given key.
    #[must_use]
    pub fn new(sku: &str) -> Self {
        Self {
            sku: sku.to_owned(),
            name: format!("widget {sku}"),
            status: Status::Draft,
            previous_status: None,
            qty: 0,
            rank: 0,
            weight: None,
            ratio: 0.5,
            active: true,
            external: Uuid::new_v4(),
            url: None,
            attributes: serde_json::json!({}),
            dimensions: Dimensions::default(),
            tags: None,
            embedding: None,
            checked_at: None,
        }
    }
}

impl Widget {
    /// [`NewWidget::new`] as an entity, for the operations that take one (`upsert`, `update`).
    #[must_use]
    pub fn new(sku: &str) -> Self {
        Self::from_new(NewWidget::new(sku))
    }
}

/// A custom query: statistics rows decoded with `#[derive(FromRow)]`; the enum is cast to
/// text and read as a `String`.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

impl WidgetRepository<'_> {
    /// How many widgets per status, by status label.
    pub async fn count_by_status(&self) -> repo_core::Result<Vec<StatusCount>> {
        let select = Query::select()
            .expr_as(Expr::col("status").cast_as("text"), "status")
            .expr_as(Expr::cust("COUNT(*)"), "count")
            .from(Widget::TABLE)
            .group_by_col("status")
            .order_by("status", Order::Asc)
            .to_owned();
        let mut rows: Vec<StatusCount> = self.fetch_rows(&select).await?;
        rows.sort_by(|a, b| a.status.cmp(&b.status));
        Ok(rows)
    }

    /// Widgets heavier than `weight`, heaviest first.
    pub async fn heavier_than(&self, weight: f64) -> repo_core::Result<Vec<Widget>> {
        let mut select = self.select();
        select
            .cond_where(self.condition(Widget::WEIGHT.gt(weight)))
            .order_by(Widget::WEIGHT.name(), Order::Desc);
        self.fetch_entities(&select).await
    }
}

/// Ten columns, a composite unique key: the bulk-write workload.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "readings", unique(sensor, seq))]
pub struct Reading {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub sensor: String,
    pub seq: i64,
    pub value: f64,
    pub unit: String,
    pub quality: i32,
    pub flagged: bool,
    pub note: Option<String>,
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

impl NewReading {
    /// Reading `seq` of `sensor`.
    #[must_use]
    pub fn new(sensor: &str, seq: i64, value: f64) -> Self {
        Self {
            sensor: sensor.to_owned(),
            seq,
            value,
            unit: "C".to_owned(),
            quality: (seq % 5) as i32,
            flagged: seq % 7 == 0,
            note: (seq % 3 == 0).then(|| format!("note {seq}")),
        }
    }
}

impl Reading {
    /// [`NewReading::new`] as an entity, for the operations that take one (`bulk_upsert`).
    #[must_use]
    pub fn new(sensor: &str, seq: i64, value: f64) -> Self {
        Self::from_new(NewReading::new(sensor, seq, value))
    }
}

/// A key supplied by the application, a renamed column, and a second unique key on a field.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "accounts")]
pub struct Account {
    #[repo(primary_key)]
    pub id: String,
    #[repo(unique)]
    pub email: String,
    #[repo(column = "display_name")]
    pub name: String,
    pub balance: i64,
}

/// A key supplied by the application and no unique key: upserts resolve on the primary key.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "labels")]
pub struct Label {
    #[repo(primary_key)]
    pub name: String,
    pub uses: i64,
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
}

/// A leaderboard ordered by score: the index on `(score, id)` serves keyset pages.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "scores", index(score, id))]
pub struct Score {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub player: String,
    pub score: i64,
}

/// A plan tier, a PostgreSQL enum type of its own: tests add labels to it that Rust lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, DbEnum)]
pub enum Tier {
    Free,
    Team,
    Pro,
}

/// Enum, integer, float and timestamp columns to aggregate, some nullable.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "subscriptions")]
pub struct Subscription {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub customer: String,
    pub tier: Tier,
    pub previous_tier: Option<Tier>,
    pub seats: i64,
    pub discount: Option<i32>,
    pub price: f64,
    pub started_at: DateTime<Utc>,
}

/// Optimistic locking and soft delete together: a document with a unique slug, a version
/// every write adds 1 to, and the time it was deleted.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "documents", unique(slug))]
pub struct Document {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub hits: i64,
    #[repo(version)]
    pub version: i64,
    #[repo(soft_delete)]
    pub deleted_at: Option<DateTime<Utc>>,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

impl NewDocument {
    /// Document `slug`, titled after it, never read.
    #[must_use]
    pub fn new(slug: &str) -> Self {
        Self {
            slug: slug.to_owned(),
            title: format!("about {slug}"),
            hits: 0,
        }
    }
}

impl Document {
    /// [`NewDocument::new`] as an entity (version 0, live), for `upsert` and `insert`.
    #[must_use]
    pub fn new(slug: &str) -> Self {
        Self::from_new(NewDocument::new(slug))
    }
}

impl DocumentRepository<'_> {
    /// Documents whose title contains `text`: a custom query on `select()`, which carries the
    /// repository's view of deleted rows.
    pub async fn titled(&self, text: &str) -> repo_core::Result<Vec<Document>> {
        let mut select = self.select();
        select
            .cond_where(self.condition(Document::TITLE.contains(text)))
            .order_by(Document::ID, Order::Asc);
        self.fetch_entities(&select).await
    }

    /// The hits of the documents the view sees: an aggregate that adds the view's condition.
    pub async fn total_hits(&self) -> repo_core::Result<i64> {
        let select = Query::select()
            .expr(Document::HITS.sum())
            .from(Document::TABLE)
            .cond_where(self.visible())
            .to_owned();
        let row: Option<(i64,)> = self.fetch_row(&select).await?;
        Ok(row.map_or(0, |(n,)| n))
    }
}

/// Optimistic locking alone, with an `i32` version and a key the application supplies, so
/// upserts resolve on the primary key.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "counters")]
pub struct Counter {
    #[repo(primary_key)]
    pub name: String,
    pub value: i64,
    #[repo(version)]
    pub version: i32,
}

/// Soft delete alone: a tag with a unique label and no version.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "memos", unique(label))]
pub struct Memo {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub label: String,
    pub body: String,
    #[repo(soft_delete)]
    pub deleted_at: Option<DateTime<Utc>>,
}
