use repo_core::prelude::*;

/// A version and a soft-delete column: `NewDocument` holds `slug` only, and a new document
/// starts at version 0, live.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "documents", unique(slug))]
pub struct Document {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub slug: String,
    #[repo(version)]
    pub version: i64,
    #[repo(soft_delete, column = "removed_at")]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// An `i32` version, no input type: the checks of the field types still run.
#[derive(Repository)]
#[repo(table = "counters", no_new)]
pub struct Counter {
    #[repo(primary_key)]
    pub name: String,
    #[repo(version)]
    pub version: i32,
}

async fn views(db: &Db) -> repo_core::Result<u64> {
    let repo = DocumentRepository::new(db);
    // The generated repository keeps its type (and custom queries) in every view.
    let deleted: DocumentRepository<'_> = repo.only_deleted();
    let all: DocumentRepository<'_> = repo.with_deleted();
    Ok(deleted.count(Filter::all()).await? + all.count(Document::DELETED_AT.is_null()).await?)
}

fn main() {
    let document = Document::from_new(NewDocument { slug: "a".into() });
    assert_eq!((document.version, document.deleted_at), (0, None));
    assert_eq!(Document::DELETED_AT.name(), "removed_at");
    let _ = Counter { name: "c".into(), version: 0 };
    let _ = views;
}
