//! An entity declared outside `repo-domain`, with a custom query of its own.
//!
//! Declaring `#[derive(Repository)]` on a struct gives a `BookmarkRepository` with every base
//! operation; the declaring crate adds queries as inherent methods, using the same tools the
//! base uses (a pre-filled select, row decoding into the entity or any `#[derive(FromRow)]` type, portable aggregates).
//! Runs on an in-memory SQLite database, or on the database named by `DATABASE_URL`.

#[path = "table.rs"]
mod table;

use repo_core::prelude::*;

/// A user's bookmark of a dataset.
#[derive(Debug, Clone, Repository)]
#[repo(table = "example_bookmarks", unique(user_id, url), index(user_id))]
pub struct Bookmark {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub user_id: String,
    pub url: String,
    pub tag: String,
    pub stars: i32,
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
}

/// A row of the custom statistics query.
#[derive(Debug, FromRow)]
pub struct TagStats {
    pub tag: String,
    pub bookmarks: i64,
    pub avg_stars: Option<f64>,
}

impl BookmarkRepository<'_> {
    /// Bookmarks per tag with their mean stars, most bookmarked first.
    pub async fn stats_by_tag(&self) -> repo_core::Result<Vec<TagStats>> {
        let select = Query::select()
            .column(Bookmark::TAG)
            .expr_as(count_rows(), "bookmarks")
            .expr_as(Bookmark::STARS.avg(), "avg_stars")
            .from(Bookmark::table())
            .group_by_col(Bookmark::TAG)
            .order_by_expr(count_rows(), Order::Desc)
            .order_by(Bookmark::TAG, Order::Asc)
            .to_owned();
        self.fetch_rows(&select).await
    }

    /// A user's bookmarks with at least `stars` stars, best first.
    pub async fn favourites(&self, user_id: &str, stars: i32) -> repo_core::Result<Vec<Bookmark>> {
        let mut select = self.select();
        select
            .cond_where(
                self.condition(
                    Bookmark::USER_ID
                        .eq(user_id)
                        .and(Bookmark::STARS.gte(stars)),
                ),
            )
            .order_by(Bookmark::STARS, Order::Desc)
            .order_by(Bookmark::ID, Order::Asc);
        self.fetch_entities(&select).await
    }
}

#[tokio::main]
async fn main() -> repo_core::Result<()> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".to_owned());
    let db = Db::connect(&url).await?;
    // A fresh table each run, so the example can run again on a server database.
    db.drop_schema::<Bookmark>().await?;
    db.create_schema::<Bookmark>().await?;
    let repo = BookmarkRepository::new(&db);
    let marks = [
        ("ana", "https://kaggle.com/a", "vision", 5),
        ("ana", "https://kaggle.com/b", "nlp", 3),
        ("ana", "https://kaggle.com/c", "vision", 4),
        ("ben", "https://kaggle.com/a", "vision", 2),
        ("ben", "https://hf.co/d", "audio", 5),
    ]
    .into_iter()
    .map(|(user, url, tag, stars)| NewBookmark {
        user_id: user.into(),
        url: url.into(),
        tag: tag.into(),
        stars,
    });
    repo.bulk_insert_new(marks).await?;

    let rows: Vec<Vec<String>> = repo
        .stats_by_tag()
        .await?
        .into_iter()
        .map(|s| {
            vec![
                s.tag,
                s.bookmarks.to_string(),
                s.avg_stars.map_or("-".into(), |a| format!("{a:.2}")),
            ]
        })
        .collect();
    table::print(
        "Bookmarks per tag",
        &["tag", "bookmarks", "avg stars"],
        &rows,
    );
    let rows: Vec<Vec<String>> = repo
        .favourites("ana", 4)
        .await?
        .into_iter()
        .map(|b| vec![b.url, b.tag, b.stars.to_string()])
        .collect();
    table::print(
        "ana's favourites (4+ stars)",
        &["url", "tag", "stars"],
        &rows,
    );
    Ok(())
}
