//! The entity model of `#[derive(Repository)]`, checked across fields.

use heck::ToSnakeCase;
use quote::format_ident;
use syn::punctuated::Punctuated;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, Token, Type, Visibility};

use super::not_a_struct;
use crate::attr::{self, FieldAttrs};
use crate::ctxt::Ctxt;

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
    fn attribute(self) -> &'static str {
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

const ON_CONFLICT: &[&str] = &["replace", "keep", "add", "greatest", "least"];

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

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub attrs: &'a [Attribute],
    pub ty: &'a Type,
    pub column: String,
    pub role: Role,
    pub auto: bool,
    pub json: bool,
    /// The declared action and the attribute's value, for spans.
    pub on_conflict: Option<(OnConflict, syn::LitStr)>,
}

pub struct Entity<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    /// The input type generated for new entities (`NewX`), or `None` under `no_new`.
    pub new: Option<Ident>,
    pub table: String,
    /// `schema = "…"`: where the table lives, if not in the connection's default place.
    pub schema: Option<String>,
    pub fields: Vec<Field<'a>>,
    /// The primary key's fields, in declaration order (several for a composite key).
    pub primary_key: Vec<usize>,
    /// Unique keys and indexes as column names.
    pub unique: Vec<Vec<String>>,
    pub index: Vec<Vec<String>>,
    /// `Some(require_actor)` when every write is audited.
    pub audit: Option<bool>,
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

/// The role of a field from its attributes, reporting combinations that make no sense.
fn field_role(cx: &Ctxt, fa: &FieldAttrs) -> Role {
    let roles: Vec<(&Ident, Role)> = [
        (&fa.primary_key, Role::PrimaryKey),
        (&fa.created_at, Role::CreatedAt),
        (&fa.updated_at, Role::UpdatedAt),
        (&fa.version, Role::Version),
        (&fa.soft_delete, Role::SoftDelete),
    ]
    .into_iter()
    .filter_map(|(slot, role)| slot.as_ref().map(|i| (i, role)))
    .collect();
    match roles.as_slice() {
        [(_, Role::PrimaryKey), (version, Role::Version), ..] => cx.error_spanned_by(
            version,
            "`version` cannot be on the primary key: a row keeps its key while its version \
             changes on every write; add a field such as #[repo(version)] version: i64",
        ),
        [(first, _), (second, _), ..] => cx.error_spanned_by(
            second,
            format!("`{second}` cannot be combined with `{first}` on one field"),
        ),
        _ => {}
    }
    let role = roles.first().map_or(Role::Plain, |(_, r)| *r);
    // A `primary_key` written but invalid or misspelled is reported already.
    if let Some(auto) = &fa.auto
        && role != Role::PrimaryKey
        && !fa.named.contains(&"primary_key")
    {
        cx.error_spanned_by(
            auto,
            "`auto` marks a database-generated primary key: write #[repo(primary_key, auto)]",
        );
    }
    if let Some(json) = &fa.json
        && role != Role::Plain
    {
        cx.error_spanned_by(
            json,
            "`json` cannot be combined with `primary_key`, `created_at`, `updated_at`, `version` \
             or `soft_delete`",
        );
    }
    role
}

/// The `T` of a field type written `Option<T>` (or `std::option::Option<T>`,
/// `core::option::Option<T>`). A type the derive cannot see through (an alias) is `None`: the
/// trait bounds of the generated code check it instead.
fn option_inner(ty: &Type) -> Option<&Type> {
    let ty = match ty {
        Type::Group(group) => &*group.elem,
        Type::Paren(paren) => &*paren.elem,
        other => other,
    };
    let Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let segments: Vec<&Ident> = path.path.segments.iter().map(|s| &s.ident).collect();
    let is_option = match segments.as_slice() {
        [option] => *option == "Option",
        [root, module, option] => {
            (*root == "std" || *root == "core") && *module == "option" && *option == "Option"
        }
        _ => false,
    };
    if !is_option {
        return None;
    }
    let syn::PathArguments::AngleBracketed(arguments) = &path.path.segments.last()?.arguments
    else {
        return None;
    };
    match arguments.args.first() {
        Some(syn::GenericArgument::Type(inner)) if arguments.args.len() == 1 => Some(inner),
        _ => None,
    }
}

/// The columns of an entity, checked across fields.
#[derive(Default)]
struct Columns<'a> {
    fields: Vec<Field<'a>>,
    primary_key: Vec<usize>,
    /// The `auto` of a key field, if any.
    auto: Option<Ident>,
    /// A field wrote `primary_key`, even if invalid or misspelled (and so reported already).
    primary_key_named: bool,
    /// Single-column keys and indexes declared on fields.
    unique: Vec<Vec<String>>,
    index: Vec<Vec<String>>,
}

fn columns<'a>(cx: &Ctxt, fields: &'a Punctuated<syn::Field, Token![,]>) -> Columns<'a> {
    let mut out = Columns::default();
    // The first field of each framework-set role, by role.
    let mut marked: Vec<(Role, &Ident)> = Vec::new();
    for field in fields {
        let ident = field.ident.as_ref().expect("named field");
        let fa: FieldAttrs = attr::field_attrs(cx, &field.attrs);
        out.primary_key_named |= fa.named.contains(&"primary_key");
        let role = field_role(cx, &fa);
        match role {
            Role::PrimaryKey => {
                if let Some(inner) = option_inner(&field.ty) {
                    let inner = quote::quote!(#inner).to_string().replace(' ', "");
                    cx.error_spanned_by(
                        &field.ty,
                        format!(
                            "a primary key field cannot be an `Option`: key columns are NOT NULL; \
                             help: declare `{ident}: {inner}`"
                        ),
                    );
                }
                out.primary_key.push(out.fields.len());
                if out.auto.is_none() {
                    out.auto.clone_from(&fa.auto);
                }
            }
            Role::CreatedAt | Role::UpdatedAt | Role::Version | Role::SoftDelete => {
                match marked.iter().find(|(r, _)| *r == role) {
                    Some((_, first)) => {
                        let attribute = role.attribute();
                        let at = match role {
                            Role::CreatedAt => fa.created_at.as_ref(),
                            Role::UpdatedAt => fa.updated_at.as_ref(),
                            Role::Version => fa.version.as_ref(),
                            _ => fa.soft_delete.as_ref(),
                        };
                        cx.error_spanned_by(
                            at,
                            format!(
                                "a second `{attribute}` field: field `{first}` is marked already; mark one field"
                            ),
                        );
                    }
                    None => marked.push((role, ident)),
                }
            }
            Role::Plain => {}
        }
        let column = fa.column.as_ref().map_or_else(
            || ident.to_string().trim_start_matches("r#").to_owned(),
            syn::LitStr::value,
        );
        if let Some(previous) = out.fields.iter().find(|f| f.column == column) {
            let at: &dyn quote::ToTokens = match &fa.column {
                Some(lit) => lit,
                None => ident,
            };
            cx.error_spanned_by(
                at,
                format!(
                    "column `{column}` is already used by field `{}`; rename one with #[repo(column = \"...\")]",
                    previous.ident
                ),
            );
        }
        if fa.unique.is_some() {
            out.unique.push(vec![column.clone()]);
        }
        if fa.index.is_some() {
            out.index.push(vec![column.clone()]);
        }
        let on_conflict = fa
            .on_conflict
            .as_ref()
            .and_then(|lit| on_conflict(cx, lit, role, fa.json.is_some()));
        out.fields.push(Field {
            ident,
            vis: &field.vis,
            attrs: &field.attrs,
            ty: &field.ty,
            column,
            role,
            auto: fa.auto.is_some(),
            json: fa.json.is_some(),
            on_conflict,
        });
    }
    out
}

/// The action of `#[repo(on_conflict = "...")]` on a field of `role`, or `None` after
/// reporting why it cannot be there.
fn on_conflict(
    cx: &Ctxt,
    lit: &syn::LitStr,
    role: Role,
    json: bool,
) -> Option<(OnConflict, syn::LitStr)> {
    let name = lit.value();
    let Some(action) = OnConflict::parse(&name) else {
        cx.error_spanned_by(
            lit,
            match attr::closest(&name, ON_CONFLICT) {
                Some(meant) => {
                    format!("unknown on_conflict action `{name}`; did you mean `{meant}`?")
                }
                None => format!(
                    "unknown on_conflict action `{name}`; expected one of: {}",
                    ON_CONFLICT.join(", ")
                ),
            },
        );
        return None;
    };
    let why = match role {
        Role::Plain => None,
        Role::PrimaryKey => Some("an upsert keeps the key of the row it meets"),
        Role::CreatedAt => Some("an upsert keeps the creation time of the row it meets"),
        Role::UpdatedAt => Some("an upsert sets it to the time of the write"),
        Role::Version => Some("an upsert adds 1 to it"),
        Role::SoftDelete => Some("an upsert clears it: the stored row is live"),
    };
    if let Some(why) = why {
        cx.error_spanned_by(
            lit,
            format!(
                "`on_conflict` cannot be on the `{}` field: {why}",
                role.attribute()
            ),
        );
        return None;
    }
    if json
        && matches!(
            action,
            OnConflict::Add | OnConflict::Greatest | OnConflict::Least
        )
    {
        cx.error_spanned_by(
            lit,
            format!("`on_conflict = \"{name}\"` cannot be on a `json` field: the database cannot compare or add JSON documents"),
        );
        return None;
    }
    Some((action, lit.clone()))
}

/// The columns of a key list such as `unique(a, b)`, or `None` after reporting a bad name.
fn resolve_key(cx: &Ctxt, fields: &[Field], list: &attr::KeyList) -> Option<Vec<String>> {
    let mut columns = Vec::new();
    let mut ok = true;
    for name in &list.fields {
        match fields.iter().find(|f| f.ident == name) {
            Some(field) if columns.contains(&field.column) => {
                cx.error_spanned_by(
                    name,
                    format!("field `{name}` is listed twice in `{}(...)`", list.keyword),
                );
                ok = false;
            }
            Some(field) => columns.push(field.column.clone()),
            None => {
                cx.error_spanned_by(
                    name,
                    format!(
                        "`{}(...)` names no field `{name}`; fields are: {}",
                        list.keyword,
                        join(fields.iter().map(|f| f.ident))
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(columns)
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The name of the input type for new entities: `NewX`, the `new = "..."` name, or none
/// under `no_new`.
fn new_type(cx: &Ctxt, input: &DeriveInput, attrs: &attr::StructAttrs) -> Option<Ident> {
    let entity = &input.ident;
    let lit = match (&attrs.new, &attrs.no_new) {
        (Some(_), Some(no_new)) => {
            cx.error_spanned_by(
                no_new,
                "`no_new` and `new = \"...\"` contradict each other: keep one",
            );
            return None;
        }
        (None, Some(_)) => return None,
        (None, None) => return Some(format_ident!("New{}", entity, span = entity.span())),
        (Some(lit), None) => lit,
    };
    let name = lit.value();
    let Ok(mut ident) = syn::parse_str::<Ident>(&name) else {
        cx.error_spanned_by(
            lit,
            format!(
                "`new` takes the name of the type to generate, as in #[repo(new = \"Create{entity}\")]; `{name}` is not a Rust identifier"
            ),
        );
        return None;
    };
    ident.set_span(lit.span());
    let repository = format_ident!("{}Repository", entity);
    if ident == *entity || ident == repository {
        cx.error_spanned_by(
            lit,
            format!(
                "`new = \"{name}\"` is the name of the entity or of its repository; choose another name, as in #[repo(new = \"Create{entity}\")]"
            ),
        );
        return None;
    }
    Some(ident)
}

/// The primary key's fields, checked: at least one, at most four, `auto` only alone.
fn primary_key(cx: &Ctxt, input: &DeriveInput, columns: &Columns<'_>) -> Option<Vec<usize>> {
    let primary_key = columns.primary_key.clone();
    if primary_key.is_empty() {
        // A `primary_key` written but invalid or misspelled is reported already.
        if !columns.primary_key_named {
            cx.error_spanned_by(
                &input.ident,
                "no primary key; help: mark one field #[repo(primary_key)] (add `auto` if the database generates it), or several for a composite key",
            );
        }
        return None;
    }
    if primary_key.len() > 1
        && let Some(auto) = &columns.auto
    {
        cx.error_spanned_by(
            auto,
            "`auto` cannot be part of a composite primary key: the database generates a single-column key; declare the key columns without `auto`",
        );
    }
    if primary_key.len() > 4 {
        cx.error_spanned_by(
            &input.ident,
            "a composite primary key has at most four columns",
        );
    }
    Some(primary_key)
}

pub fn entity<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<Entity<'a>> {
    let attrs = attr::struct_attrs(cx, &input.attrs);
    let fields = named_fields(cx, input)?;
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            "#[derive(Repository)] does not support generic entities: an entity maps one table",
        );
    }
    let table = match &attrs.table {
        Some(table) => table.value(),
        // Written but invalid or misspelled: that error is reported already.
        None if attrs.named.contains(&"table") => String::new(),
        None => {
            cx.error_spanned_by(
                &input.ident,
                format!(
                    "missing table name; help: add #[repo(table = \"{}\")] to the struct",
                    input.ident.to_string().to_snake_case() + "s"
                ),
            );
            String::new()
        }
    };

    let columns = columns(cx, fields);
    let primary_key = primary_key(cx, input, &columns)?;

    // Keys declared on the struct come first: the first is the upsert conflict target.
    let mut unique = Vec::new();
    for list in &attrs.unique {
        if let Some(key) = resolve_key(cx, &columns.fields, list) {
            if unique.contains(&key) {
                cx.error_spanned_by(
                    &list.keyword,
                    format!(
                        "`unique({})` is declared twice; keep one",
                        join(&list.fields)
                    ),
                );
            } else {
                unique.push(key);
            }
        }
    }
    for key in columns.unique {
        if !unique.contains(&key) {
            unique.push(key);
        }
    }
    let mut index = columns.index;
    for list in &attrs.index {
        if let Some(key) = resolve_key(cx, &columns.fields, list) {
            index.push(key);
        }
    }

    // The conflict key identifies the row an upsert meets: nothing to keep, add or compare.
    let conflict_key = unique.first().cloned().unwrap_or_else(|| {
        primary_key
            .iter()
            .map(|&i| columns.fields[i].column.clone())
            .collect()
    });
    for field in &columns.fields {
        if let Some((_, lit)) = &field.on_conflict
            && conflict_key.contains(&field.column)
        {
            cx.error_spanned_by(
                lit,
                format!(
                    "`on_conflict` cannot be on `{}`: it is part of the upsert conflict key \
                     ({}), which an upsert matches rather than writes",
                    field.ident,
                    conflict_key.join(", ")
                ),
            );
        }
    }

    let new = new_type(cx, input, &attrs);

    Some(Entity {
        ident: &input.ident,
        vis: &input.vis,
        new,
        table,
        schema: attrs.schema.as_ref().map(syn::LitStr::value),
        fields: columns.fields,
        primary_key,
        unique,
        index,
        audit: attrs.audit.as_ref().map(|audit| audit.require_actor),
    })
}
