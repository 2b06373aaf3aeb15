//! The entity model of `#[derive(Repository)]`: its table, its fields with their columns and
//! roles, its keys and the name of its input type.

use quote::format_ident;
use syn::punctuated::Punctuated;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, Token, Type, Visibility};

use super::{column_name, not_a_struct};
use crate::attr::{self, FieldAttrs, KeyList, StructAttrs};
use crate::ctxt::Ctxt;

/// What a field is to the framework: a plain column, the key, or a column it sets itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Plain,
    PrimaryKey,
    CreatedAt,
    UpdatedAt,
    Version,
    SoftDelete,
}

impl Role {
    /// The attribute that gives a field this role.
    pub fn attribute(self) -> &'static str {
        match self {
            Self::Plain => "",
            Self::PrimaryKey => "primary_key",
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Version => "version",
            Self::SoftDelete => "soft_delete",
        }
    }
}

/// What an upsert writes to a column of an existing row (`#[repo(on_conflict = "...")]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnConflict {
    Replace,
    Keep,
    Add,
    Greatest,
    Least,
}

/// The actions `on_conflict = "..."` names.
pub const ON_CONFLICT: &[&str] = &["replace", "keep", "add", "greatest", "least"];

impl OnConflict {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "replace" => Self::Replace,
            "keep" => Self::Keep,
            "add" => Self::Add,
            "greatest" => Self::Greatest,
            "least" => Self::Least,
            _ => return None,
        })
    }
}

/// A field of an entity and the column it maps to.
pub struct Field<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub attrs: &'a [Attribute],
    pub ty: &'a Type,
    pub column: String,
    /// The role of the first role key written (see [`role_keys`]).
    pub role: Role,
    pub auto: bool,
    pub json: bool,
    /// The declared action; `None` also when the action written is unknown.
    pub on_conflict: Option<OnConflict>,
    /// The field's `#[repo(...)]` as written.
    pub repo: FieldAttrs,
}

/// A struct deriving `Repository`: the table it maps and the repository generated for it.
pub struct Entity<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    /// The input type generated for new entities (`NewX`); `None` under `no_new`, and when
    /// the `new = "..."` written is not an identifier or comes with `no_new`.
    pub new: Option<Ident>,
    /// Empty when no table is given.
    pub table: String,
    /// `schema = "…"`: where the table lives, if not in the connection's default place.
    pub schema: Option<String>,
    pub fields: Vec<Field<'a>>,
    /// The primary key's fields, in declaration order (several for a composite key; none
    /// when no field is marked).
    pub primary_key: Vec<usize>,
    /// Unique keys and indexes as column names: the struct's keys that name existing fields,
    /// each once, before the fields' own.
    pub unique: Vec<Vec<String>>,
    pub index: Vec<Vec<String>>,
    /// `Some(require_actor)` when every write is audited.
    pub audit: Option<bool>,
    /// `Some((capacity, ttl_secs))` when reads may be served from the cache, each `None` where
    /// the default holds.
    pub cache: Option<(Option<u64>, Option<u64>)>,
    /// The struct's `#[repo(...)]` as written.
    pub repo: StructAttrs,
}

/// The named fields of a struct, or an error saying why `input` cannot be an entity.
fn named_fields<'a>(
    cx: &Ctxt,
    input: &'a DeriveInput,
) -> Option<&'a Punctuated<syn::Field, Token![,]>> {
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => Some(&fields.named),
            Fields::Unnamed(fields) => {
                cx.error_spanned_by(
                    fields,
                    "#[derive(Repository)] needs named fields: each field is a column and needs a name",
                );
                None
            }
            Fields::Unit => {
                cx.error_spanned_by(
                    &input.ident,
                    "#[derive(Repository)] needs named fields: a unit struct has no columns",
                );
                None
            }
        },
        Data::Enum(_) => {
            not_a_struct(
                cx,
                input,
                "Repository",
                "structs with named fields, not enums (for a stored enum, use #[derive(DbEnum)])",
            );
            None
        }
        Data::Union(_) => {
            not_a_struct(
                cx,
                input,
                "Repository",
                "structs with named fields, not unions",
            );
            None
        }
    }
}

/// The role keys written in `attrs` with the role each gives, in the order that decides a
/// field's role when several are written.
pub fn role_keys(attrs: &FieldAttrs) -> Vec<(&Ident, Role)> {
    [
        (&attrs.primary_key, Role::PrimaryKey),
        (&attrs.created_at, Role::CreatedAt),
        (&attrs.updated_at, Role::UpdatedAt),
        (&attrs.version, Role::Version),
        (&attrs.soft_delete, Role::SoftDelete),
    ]
    .into_iter()
    .filter_map(|(slot, role)| slot.as_ref().map(|key| (key, role)))
    .collect()
}

/// A field as its `#[repo(...)]` reads, each key taken at its word.
fn field<'a>(cx: &Ctxt, field: &'a syn::Field) -> Field<'a> {
    let ident = field.ident.as_ref().expect("named field");
    let repo = attr::field_attrs(cx, &field.attrs);
    Field {
        ident,
        vis: &field.vis,
        attrs: &field.attrs,
        ty: &field.ty,
        column: column_name(ident, repo.column.as_ref()),
        role: role_keys(&repo)
            .first()
            .map_or(Role::Plain, |(_, role)| *role),
        auto: repo.auto.is_some(),
        json: repo.json.is_some(),
        on_conflict: repo
            .on_conflict
            .as_ref()
            .and_then(|lit| OnConflict::parse(&lit.value())),
        repo,
    }
}

/// The columns of a key list such as `unique(a, b)`; `None` if it names a field that does
/// not exist, or one twice.
fn key_columns(fields: &[Field], list: &KeyList) -> Option<Vec<String>> {
    let mut columns = Vec::new();
    for name in &list.fields {
        let field = fields.iter().find(|f| f.ident == name)?;
        if columns.contains(&field.column) {
            return None;
        }
        columns.push(field.column.clone());
    }
    Some(columns)
}

/// The name of the input type for new entities: `NewX`, the `new = "..."` name, or none
/// under `no_new` and for a read-only entity (nothing is inserted).
fn new_type(input: &DeriveInput, attrs: &StructAttrs) -> Option<Ident> {
    let entity = &input.ident;
    if attrs.read_only.is_some() {
        return None;
    }
    match (&attrs.new, &attrs.no_new) {
        (_, Some(_)) => None,
        (None, None) => Some(format_ident!("New{}", entity, span = entity.span())),
        (Some(lit), None) => {
            let mut ident = syn::parse_str::<Ident>(&lit.value()).ok()?;
            ident.set_span(lit.span());
            Some(ident)
        }
    }
}

/// The entity `input` declares; `None` (after reporting why) when it is no struct with named
/// fields.
pub fn entity<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<Entity<'a>> {
    let repo = attr::struct_attrs(cx, &input.attrs);
    let fields = named_fields(cx, input)?;
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "#[derive(Repository)] does not support generic entities: an entity maps one table",
        );
    }
    let fields: Vec<Field> = fields.iter().map(|f| field(cx, f)).collect();
    let primary_key = (0..fields.len())
        .filter(|&i| fields[i].role == Role::PrimaryKey)
        .collect();

    // Keys declared on the struct come first: the first is the upsert conflict target.
    let mut unique: Vec<Vec<String>> = Vec::new();
    let field_keys = fields
        .iter()
        .filter(|f| f.repo.unique.is_some())
        .map(|f| vec![f.column.clone()]);
    for key in repo
        .unique
        .iter()
        .filter_map(|list| key_columns(&fields, list))
        .chain(field_keys)
    {
        if !unique.contains(&key) {
            unique.push(key);
        }
    }
    // Field indexes first, then the struct's.
    let index = fields
        .iter()
        .filter(|f| f.repo.index.is_some())
        .map(|f| vec![f.column.clone()])
        .chain(
            repo.index
                .iter()
                .filter_map(|list| key_columns(&fields, list)),
        )
        .collect();

    Some(Entity {
        ident: &input.ident,
        vis: &input.vis,
        new: new_type(input, &repo),
        table: repo
            .table
            .as_ref()
            .map(syn::LitStr::value)
            .unwrap_or_default(),
        schema: repo.schema.as_ref().map(syn::LitStr::value),
        fields,
        primary_key,
        unique,
        index,
        audit: repo.audit.as_ref().map(|audit| audit.require_actor),
        cache: repo.cache.as_ref().map(|cache| {
            let number =
                |lit: &Option<syn::LitInt>| lit.as_ref().and_then(|n| n.base10_parse().ok());
            (number(&cache.capacity), number(&cache.ttl_secs))
        }),
        repo,
    })
}
