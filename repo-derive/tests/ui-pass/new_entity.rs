use repo_core::prelude::*;

/// A key and timestamps set on insert: `NewNote` holds `title` and `body` only.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "notes")]
pub struct Note {
    #[repo(primary_key, auto)]
    pub id: i64,
    /// The title.
    pub title: String,
    pub body: Option<String>,
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

/// A key supplied by the application: the input type has every field.
#[derive(Debug, Repository)]
#[repo(table = "tags")]
pub struct Tag {
    #[repo(primary_key)]
    pub name: String,
    pub uses: i32,
}

/// A type named `NewPin` exists already: the input type takes another name.
pub struct NewPin;

#[derive(Repository)]
#[repo(table = "pins", new = "CreatePin")]
pub struct Pin {
    #[repo(primary_key, auto)]
    pub id: i32,
    pub label: String,
}

/// No input type: `insert_new` takes the entity itself.
#[derive(Repository)]
#[repo(table = "marks", no_new)]
pub struct Mark {
    #[repo(primary_key, auto)]
    pub id: i64,
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
}

/// A field type without `Debug`, `Clone` or `PartialEq`: the input type compiles, without them.
#[derive(DbEnum)]
pub enum Colour {
    Red,
}

#[derive(Repository)]
#[repo(table = "paints")]
pub struct Paint {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub colour: Colour,
}

async fn insert_all(db: &Db) -> repo_core::Result<Note> {
    let note = NewNote {
        title: "first".into(),
        body: None,
    };
    let stored = NoteRepository::new(db).insert_new(note.clone()).await?;
    NoteRepository::new(db)
        .bulk_insert_new([note.clone(), note])
        .await?;
    TagRepository::new(db)
        .insert_new(NewTag {
            name: "red".into(),
            uses: 1,
        })
        .await?;
    PinRepository::new(db)
        .insert_new(CreatePin {
            label: "a".into(),
        })
        .await?;
    MarkRepository::new(db)
        .insert_new(Mark {
            id: 0,
            created_at: DateTime::UNIX_EPOCH,
        })
        .await?;
    PaintRepository::new(db)
        .insert_new(NewPaint {
            colour: Colour::Red,
        })
        .await?;
    Ok(stored)
}

fn main() {
    let new = NewNote {
        title: "t".into(),
        body: Some("b".into()),
    };
    let note = Note::from_new(new.clone());
    assert_eq!(note.id, 0);
    assert_eq!(note.created_at, DateTime::<Utc>::UNIX_EPOCH);
    assert_eq!(new, NewNote { title: note.title, body: note.body });
    assert_eq!(format!("{:?}", NewTag { name: "x".into(), uses: 2 }), r#"NewTag { name: "x", uses: 2 }"#);
    let _: NewPin = NewPin;
    let _ = insert_all;
}
