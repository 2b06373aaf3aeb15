//! `repo generate`: one module per table of a live database, each a `#[derive(Repository)]`
//! struct with the table's real key, unique keys, indexes and nullability, plus an `enums`
//! module of `#[derive(DbEnum)]` enums for enum columns, and a `mod.rs` naming them all.
//!
//! A column whose type no field type reads (a `tsvector`, a text array, a MariaDB `SET`) is
//! never given a type that would fail on the first read: it is left out of the struct, with
//! a comment where it would be and a warning naming table, column and type. Views and tables
//! without a primary key become `#[repo(read_only)]` entities: their repositories read.
//!
//! The output depends only on the catalog: two runs on the same schema write the same bytes.
//! It is laid out as `rustfmt` lays it out.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use repo_core::{ColumnDescription, Db, EnumDescription, FieldType, TableDescription};

use crate::names::{Scope, camel, snake};

/// What to generate.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The schema (PostgreSQL), database (MariaDB) or attached database (SQLite) to read;
    /// the connection's own when `None`. When given, every entity is declared in it
    /// (`#[repo(schema = "...")]`).
    pub schema: Option<String>,
    /// Only these tables; every table when `None`.
    pub tables: Option<Vec<String>>,
}

/// The generated files and what could not be generated as the catalog describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generated {
    /// Each file's name in the output directory, and its text.
    pub files: BTreeMap<String, String>,
    /// One line per column, key, index or table not generated as described, naming it and
    /// saying why.
    pub warnings: Vec<String>,
}

impl Generated {
    /// Write every file into `dir` (created if missing); files already there with other
    /// names are left alone.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, text) in &self.files {
            std::fs::write(dir.join(name), text)?;
        }
        Ok(())
    }
}

/// The error of a request that cannot be generated.
#[derive(Debug)]
pub enum GenerateError {
    /// The catalog could not be read.
    Database(repo_core::Error),
    /// Tables asked for by name that the schema does not have.
    NoSuchTables(Vec<String>),
}

impl std::fmt::Display for GenerateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Database(error) => write!(f, "reading the catalog failed: {error}"),
            Self::NoSuchTables(names) => {
                write!(f, "no table or view named {}", names.join(", "))
            }
        }
    }
}

impl std::error::Error for GenerateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Database(error) => Some(error),
            Self::NoSuchTables(_) => None,
        }
    }
}

/// Read the catalog of `db` and generate the entities `request` asks for.
pub async fn generate(db: &Db, request: &Request) -> Result<Generated, GenerateError> {
    let tables = db
        .describe_tables(request.schema.as_deref(), request.tables.as_deref())
        .await
        .map_err(GenerateError::Database)?;
    if let Some(asked) = &request.tables {
        let missing: Vec<String> = asked
            .iter()
            .filter(|name| !tables.iter().any(|table| &table.name == *name))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(GenerateError::NoSuchTables(missing));
        }
    }
    Ok(render(&tables, request.schema.as_deref()))
}

/// The files for `tables` (as [`Db::describe_tables`] gives them), declared in `schema`.
#[must_use]
pub fn render(tables: &[TableDescription], schema: Option<&str>) -> Generated {
    let mut generated = Generated::default();
    let mut plan = Plan::default();
    for table in tables {
        if table.columns.iter().all(|column| column.field.is_none()) {
            generated.warnings.push(format!(
                "{}: no column of a type a field reads: not generated",
                table.name
            ));
        } else if let Some(column) = table
            .primary_key
            .iter()
            .filter_map(|key| table.column(key))
            .find(|column| column.field.is_none())
        {
            generated.warnings.push(format!(
                "{}: its key column {} is of type {}, which no field type reads: not generated",
                table.name, column.name, column.type_name
            ));
        } else {
            plan.tables.push(table);
        }
    }
    plan.name_everything();
    for table in &plan.tables {
        let (module, text) = plan.entity_module(table, schema, &mut generated.warnings);
        generated.files.insert(format!("{module}.rs"), text);
    }
    if !plan.enums.is_empty() {
        generated
            .files
            .insert(format!("{}.rs", plan.enums_module), plan.enums_file());
    }
    generated.files.insert("mod.rs".to_owned(), plan.mod_file());
    generated
}

/// The names every generated item gets, decided before any file is written.
#[derive(Default)]
struct Plan<'a> {
    tables: Vec<&'a TableDescription>,
    /// Per table (by name): its module and struct.
    items: BTreeMap<&'a str, (String, String)>,
    /// Per enum (PostgreSQL type name, or `table.column`): its Rust name and labels.
    enums: BTreeMap<String, (String, &'a EnumDescription)>,
    enums_module: String,
}

impl Plan<'_> {
    fn name_everything(&mut self) {
        let (mut modules, mut types) = (Scope::default(), Scope::default());
        modules.reserve("mod_");
        for table in &self.tables {
            let module = modules.take(&snake(&table.name));
            let name = types.take(&camel(&table.name));
            // The derive also declares `NewX` and `XRepository`.
            types.reserve(&format!("New{name}"));
            types.reserve(&format!("{name}Repository"));
            self.items.insert(&table.name, (module, name));
        }
        for table in &self.tables {
            for column in &table.columns {
                if let Some(FieldType::Enum(described)) = &column.field {
                    let key = enum_key(table, column, described);
                    self.enums.entry(key).or_insert_with(|| {
                        let base = described.type_name.as_deref().map_or_else(
                            || camel(&format!("{}_{}", table.name, column.name)),
                            camel,
                        );
                        (types.take(&base), described)
                    });
                }
            }
        }
        self.enums_module = modules.take("enums");
    }

    /// The module of `table`: its name and text.
    fn entity_module(
        &self,
        table: &TableDescription,
        schema: Option<&str>,
        warnings: &mut Vec<String>,
    ) -> (String, String) {
        let (module, name) = &self.items[table.name.as_str()];
        let mut imports = Imports::default();
        let fields = field_names(table);
        let (field_keys, struct_keys) = keys(table, &fields, warnings);
        let mut body = String::new();
        let single_key = table.primary_key.len() == 1;
        for column in &table.columns {
            let rust = match &column.field {
                Some(FieldType::Enum(described)) => {
                    let (enum_name, _) = &self.enums[&enum_key(table, column, described)];
                    imports.enums.push(enum_name.clone());
                    Some(enum_name.clone())
                }
                Some(other) => imports.type_of(other),
                None => None,
            };
            let (Some(field), Some(rust)) = (fields.get(column.name.as_str()), rust) else {
                let _ = writeln!(
                    body,
                    "    // `{}` ({}{}): no field type reads this column type; left out.",
                    in_comment(&column.name),
                    in_comment(shown_type(&column.type_name)),
                    if column.nullable { "" } else { ", NOT NULL" }
                );
                warnings.push(format!(
                    "{}.{}: type {} is read by no field type: left out of {name}{}",
                    table.name,
                    column.name,
                    shown_type(&column.type_name),
                    if column.nullable || column.has_default {
                        ""
                    } else {
                        " (NOT NULL without a default: inserts through it will fail)"
                    }
                ));
                continue;
            };
            let key = table.primary_key.contains(&column.name);
            let mut attributes = Vec::new();
            if key {
                attributes.push("primary_key".to_owned());
                if single_key
                    && column.generated_key
                    && column.field.as_ref().is_some_and(generatable)
                {
                    attributes.push("auto".to_owned());
                }
            }
            if let Some(kinds) = field_keys.get(column.name.as_str()) {
                attributes.extend(kinds.iter().map(|kind| (*kind).to_owned()));
            }
            if *field != column.name {
                attributes.push(format!("column = {}", quoted(&column.name)));
            }
            if !attributes.is_empty() {
                let _ = writeln!(body, "    #[repo({})]", attributes.join(", "));
            }
            let rust = if column.nullable && !key {
                format!("Option<{rust}>")
            } else {
                rust
            };
            let _ = writeln!(body, "    pub {field}: {rust},");
        }
        let mut text = format!(
            "//! The `{}` {}.\n\n{}",
            in_comment(&table.name),
            if table.view { "view" } else { "table" },
            imports.render(&self.enums_module)
        );
        let _ = writeln!(text, "/// A row of `{}`.", in_comment(&table.name));
        let mut named: Vec<&str> = struct_keys
            .iter()
            .flat_map(|(_, names)| names.clone())
            .collect();
        named.sort_unstable();
        if named.windows(2).any(|pair| pair[0] == pair[1]) {
            // Clippy takes a column named by two keys for a repeated attribute.
            text.push_str("#[allow(clippy::duplicated_attributes)]\n");
        }
        text.push_str("#[derive(Debug, Clone, PartialEq, Repository)]\n");
        let _ = writeln!(text, "#[repo(table = {})]", quoted(&table.name));
        if read_only(table) {
            text.push_str("#[repo(read_only)]\n");
        }
        if let Some(schema) = schema {
            let _ = writeln!(text, "#[repo(schema = {})]", quoted(schema));
        }
        for (kind, names) in &struct_keys {
            let _ = writeln!(text, "#[repo({kind}({}))]", names.join(", "));
        }
        let _ = writeln!(text, "pub struct {name} {{");
        text.push_str(&body);
        text.push_str("}\n");
        (module.clone(), text)
    }

    fn enums_file(&self) -> String {
        let mut text = String::from("//! The enum types of the generated entities' columns.\n\n");
        text.push_str("use repo_core::prelude::*;\n");
        let mut enums: Vec<&(String, &EnumDescription)> = self.enums.values().collect();
        enums.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, described) in enums {
            text.push('\n');
            match &described.type_name {
                Some(type_name) => {
                    let _ = writeln!(text, "/// The enum type `{}`.", in_comment(type_name));
                }
                None => {
                    let _ = writeln!(text, "/// The labels of an `ENUM` column.");
                }
            }
            text.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum)]\n");
            if let Some(type_name) = &described.type_name {
                let _ = writeln!(text, "#[repo(type_name = {})]", quoted(type_name));
            }
            let _ = writeln!(text, "pub enum {name} {{");
            let mut variants = Scope::default();
            for label in &described.labels {
                let variant = variants.take(&camel(label));
                // The derive's label for a variant is its snake_case name.
                if heck::ToSnakeCase::to_snake_case(variant.as_str()) != *label {
                    let _ = writeln!(text, "    #[repo(rename = {})]", quoted(label));
                }
                let _ = writeln!(text, "    {variant},");
            }
            text.push_str("}\n");
        }
        text
    }

    fn mod_file(&self) -> String {
        let mut text = String::from(
            "//! Entities generated by `repo generate` from a database's catalog: one module per \
             table,\n//! each a `#[derive(Repository)]` struct with the table's key, unique keys \
             and indexes.\n\n",
        );
        let mut modules: Vec<(&String, &String)> = self
            .items
            .values()
            .map(|(module, name)| (module, name))
            .collect();
        if !self.enums.is_empty() {
            modules.push((&self.enums_module, &self.enums_module));
        }
        modules.sort();
        for (module, _) in &modules {
            let _ = writeln!(text, "pub mod {module};");
        }
        text.push('\n');
        for (module, name) in &modules {
            if *module == &self.enums_module && !self.enums.is_empty() {
                let mut names: Vec<&String> = self.enums.values().map(|(name, _)| name).collect();
                names.sort();
                let names: Vec<&str> = names.iter().map(|name| name.as_str()).collect();
                let _ = writeln!(text, "{}", use_line(module, &names));
            } else {
                let repository = format!("{name}Repository");
                let _ = writeln!(text, "{}", use_line(module, &[name, &repository]));
            }
        }
        let mut names: Vec<&String> = self.items.values().map(|(_, name)| name).collect();
        names.sort();
        text.push_str(
            "\n/// Every generated entity, for \
             [`Db::verify_all`](repo_core::Db::verify_all).\n#[must_use]\n\
             pub fn declarations() -> Vec<repo_core::Declaration> {\n",
        );
        let items: Vec<String> = names
            .iter()
            .map(|name| format!("repo_core::Declaration::of::<{name}>()"))
            .collect();
        let horizontal = format!("vec![{}]", items.join(", "));
        if items.is_empty() {
            text.push_str("    Vec::new()\n");
        } else if horizontal.len() <= 60 {
            let _ = writeln!(text, "    {horizontal}");
        } else {
            text.push_str("    vec![\n");
            for item in &items {
                let _ = writeln!(text, "        {item},");
            }
            text.push_str("    ]\n");
        }
        text.push_str("}\n");
        text
    }
}

/// The key of an enum: a PostgreSQL type is one enum wherever it is used; a MariaDB `ENUM`
/// column is its own.
fn enum_key(
    table: &TableDescription,
    column: &ColumnDescription,
    described: &EnumDescription,
) -> String {
    described
        .type_name
        .clone()
        .unwrap_or_else(|| format!("{}.{}", table.name, column.name))
}

/// Per column, the kinds of key (`unique`, `index`) that are that column alone.
type FieldKeys<'a> = BTreeMap<&'a str, Vec<&'static str>>;
/// The kind and field names of each key of several columns.
type StructKeys<'a> = Vec<(&'static str, Vec<&'a str>)>;

/// A table's unique keys and indexes, each once and none the primary key: those of one
/// column as the kinds to mark its field with (`unique`, `index`), the others as the kind
/// and field names to declare on the struct. A key on a column left out is warned of.
fn keys<'a>(
    table: &'a TableDescription,
    fields: &'a BTreeMap<&str, String>,
    warnings: &mut Vec<String>,
) -> (FieldKeys<'a>, StructKeys<'a>) {
    let (mut on_fields, mut on_struct) = (BTreeMap::new(), Vec::new());
    let mut seen: Vec<&[String]> = vec![&table.primary_key];
    for (kind, keys) in [("unique", &table.unique_keys), ("index", &table.indexes)] {
        for columns in keys {
            if seen.contains(&columns.as_slice()) {
                continue;
            }
            seen.push(columns);
            let Some(names) = columns
                .iter()
                .map(|c| fields.get(c.as_str()).map(String::as_str))
                .collect::<Option<Vec<&str>>>()
            else {
                warnings.push(format!(
                    "{}: {kind}({}) is on a column left out: not declared",
                    table.name,
                    columns.join(", ")
                ));
                continue;
            };
            match columns.as_slice() {
                [column] => on_fields
                    .entry(column.as_str())
                    .or_insert_with(Vec::new)
                    .push(kind),
                _ => on_struct.push((kind, names)),
            }
        }
    }
    (on_fields, on_struct)
}

/// The field name of each column of `table` that a field reads, by column name.
fn field_names(table: &TableDescription) -> BTreeMap<&str, String> {
    let mut scope = Scope::default();
    table
        .columns
        .iter()
        .filter(|column| column.field.is_some())
        .map(|column| (column.name.as_str(), scope.take(&snake(&column.name))))
        .collect()
}

/// `pub use module::{a, b};`, as rustfmt writes it.
fn use_line(module: &str, names: &[&str]) -> String {
    match names {
        [one] => format!("pub use {module}::{one};"),
        _ => format!("pub use {module}::{{{}}};", names.join(", ")),
    }
}

/// A column type as a message shows it (SQLite's computed view columns have none).
fn shown_type(type_name: &str) -> &str {
    if type_name.is_empty() {
        "(none declared)"
    } else {
        type_name
    }
}

/// A database name as a comment shows it: escaped, so that a name holding a line break
/// (the catalog is not ours to trust) cannot end the comment and write code.
fn in_comment(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A Rust string literal of `text`.
fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// The `use` lines a module needs.
#[derive(Default)]
struct Imports {
    chrono: Vec<&'static str>,
    decimal: bool,
    uuid: bool,
    ip: bool,
    enums: Vec<String>,
}

impl Imports {
    /// The Rust type of `field`, noting what it needs imported; `None` for a field type
    /// this generator does not know (a newer framework's), which is left out as unread.
    fn type_of(&mut self, field: &FieldType) -> Option<String> {
        let mut chrono = |name: &'static str| {
            if !self.chrono.contains(&name) {
                self.chrono.push(name);
            }
            name.to_owned()
        };
        Some(match field {
            FieldType::Bool => "bool".into(),
            FieldType::I16 => "i16".into(),
            FieldType::I32 => "i32".into(),
            FieldType::I64 => "i64".into(),
            FieldType::U32 => "u32".into(),
            FieldType::U64 => "u64".into(),
            FieldType::F32 => "f32".into(),
            FieldType::F64 => "f64".into(),
            FieldType::Text => "String".into(),
            FieldType::Bytes => "Vec<u8>".into(),
            FieldType::Embedding => "Vec<f32>".into(),
            FieldType::Json => "serde_json::Value".into(),
            // In the prelude.
            FieldType::Timestamp => "DateTime<Utc>".into(),
            FieldType::DateTime => chrono("NaiveDateTime"),
            FieldType::Date => chrono("NaiveDate"),
            FieldType::Time => chrono("NaiveTime"),
            FieldType::Decimal => {
                self.decimal = true;
                "Decimal".into()
            }
            FieldType::Uuid => {
                self.uuid = true;
                "Uuid".into()
            }
            FieldType::IpAddr => {
                self.ip = true;
                "IpAddr".into()
            }
            // Enums are named by the plan.
            _ => return None,
        })
    }

    /// The `use` groups: std, other crates, this crate.
    fn render(&self, enums_module: &str) -> String {
        let mut text = String::new();
        if self.ip {
            text.push_str("use std::net::IpAddr;\n\n");
        }
        let mut chrono = self.chrono.clone();
        chrono.sort_unstable();
        match chrono.as_slice() {
            [] => {}
            [one] => {
                let _ = writeln!(text, "use chrono::{one};");
            }
            many => {
                let _ = writeln!(text, "use chrono::{{{}}};", many.join(", "));
            }
        }
        text.push_str("use repo_core::prelude::*;\n");
        if self.decimal {
            text.push_str("use rust_decimal::Decimal;\n");
        }
        if self.uuid {
            text.push_str("use uuid::Uuid;\n");
        }
        let mut enums = self.enums.clone();
        enums.sort();
        enums.dedup();
        match enums.as_slice() {
            [] => {}
            [one] => {
                let _ = write!(text, "\nuse super::{enums_module}::{one};\n");
            }
            many => {
                let _ = write!(
                    text,
                    "\nuse super::{enums_module}::{{{}}};\n",
                    many.join(", ")
                );
            }
        }
        text.push('\n');
        text
    }
}

/// Whether `table` is declared `#[repo(read_only)]`: a view, or a table without a primary
/// key (nothing identifies the row a write would change).
fn read_only(table: &TableDescription) -> bool {
    table.view || table.primary_key.is_empty()
}

/// Whether a key of this type can be `#[repo(auto)]`.
fn generatable(field: &FieldType) -> bool {
    matches!(
        field,
        FieldType::I32 | FieldType::I64 | FieldType::U32 | FieldType::U64
    )
}
