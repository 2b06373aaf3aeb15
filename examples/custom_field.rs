//! Field types of one's own: implement `DbField` for a newtype by delegating to the type it
//! wraps, and the entity's filters, ordering, keyset pages and bulk writes work on it.
//!
//! `Cents(i64)` is money as whole cents (a `bigint` column); `EmailAddress(String)` is text
//! that is checked when it is built and again when it is read, so a bad row written by another
//! program is an `Error::Decode` naming the column instead of a value nobody checked.
//! Runs on an in-memory SQLite database, or on the database named by `DATABASE_URL`.

#[path = "table.rs"]
mod table;

use repo_core::prelude::*;
use repo_core::{Backend, ColumnInfo, DbField, Decoding, Row, sea_query};

/// Money as whole cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cents(pub i64);

impl std::fmt::Display for Cents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, (self.0 % 100).abs())
    }
}

impl DbField for Cents {
    /// What filters on a `Cents` column compare with (also for `Option<Cents>`).
    type Scalar = Self;
    fn to_value(&self) -> sea_query::Value {
        self.0.to_value()
    }
    fn null_value() -> sea_query::Value {
        i64::null_value()
    }
    fn decode(row: &Row, index: usize) -> Result<Self, repo_core::sqlx::Error> {
        i64::decode(row, index).map(Cents)
    }
    fn column_type(backend: Backend) -> sea_query::ColumnType {
        i64::column_type(backend)
    }
    /// Reads whatever an `i64` reads, so writes returning rows are as cheap as for an `i64`.
    fn decoding(column: &ColumnInfo) -> Decoding {
        i64::decoding(column)
    }
    /// Reads back from the value `to_value` made: how a cached row is rebuilt.
    fn from_value(value: &sea_query::Value) -> Option<Self> {
        i64::from_value(value).map(Cents)
    }
}

/// An email address: text with one `@` and something on each side of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// The address, if `text` is one.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.split_once('@') {
            Some((user, host)) if !user.is_empty() && !host.is_empty() && !host.contains('@') => {
                Ok(Self(text.to_owned()))
            }
            _ => Err(format!("`{text}` is not an email address")),
        }
    }
}

impl DbField for EmailAddress {
    type Scalar = Self;
    fn to_value(&self) -> sea_query::Value {
        self.0.to_value()
    }
    fn null_value() -> sea_query::Value {
        String::null_value()
    }
    fn decode(row: &Row, index: usize) -> Result<Self, repo_core::sqlx::Error> {
        let text = String::decode(row, index)?;
        Self::parse(&text).map_err(|reason| repo_core::sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source: reason.into(),
        })
    }
    fn column_type(backend: Backend) -> sea_query::ColumnType {
        String::column_type(backend)
    }
    /// An address it wrote reads back; text another program stored may not be one.
    fn decoding(column: &ColumnInfo) -> Decoding {
        match String::decoding(column) {
            Decoding::Total => Decoding::OwnValues,
            other => other,
        }
    }
    /// A cached address was checked when it was read from the database.
    fn from_value(value: &sea_query::Value) -> Option<Self> {
        String::from_value(value).map(Self)
    }
}

/// An invoice with the two custom field types, one of them nullable.
#[derive(Debug, Clone, Repository)]
#[repo(table = "example_invoices", index(total))]
pub struct Invoice {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub customer: EmailAddress,
    pub total: Cents,
    pub discount: Option<Cents>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".to_owned());
    let db = Db::connect(&url).await?;
    // A fresh table each run, so the example can run again on a server database.
    db.drop_schema::<Invoice>().await?;
    db.create_schema::<Invoice>().await?;
    let repo = InvoiceRepository::new(&db);
    let invoices = [
        ("ana@example.com", 1250, None),
        ("ben@example.org", 9999, Some(1000)),
        ("ana@example.com", 405, None),
        ("cy@example.net", 25000, Some(2500)),
    ]
    .into_iter()
    .map(|(customer, total, discount)| {
        Ok::<_, String>(NewInvoice {
            customer: EmailAddress::parse(customer)?,
            total: Cents(total),
            discount: discount.map(Cents),
        })
    })
    .collect::<Result<Vec<_>, _>>()?;
    repo.bulk_insert_new(invoices).await?;

    // Filters and ordering take the custom types themselves.
    let large = repo
        .find(
            Invoice::TOTAL.gte(Cents(1000)),
            PageRequest::new(10).order_by(Invoice::TOTAL.desc()),
        )
        .await?;
    let rows: Vec<Vec<String>> = large
        .items
        .iter()
        .map(|i| {
            vec![
                i.customer.0.clone(),
                i.total.to_string(),
                i.discount.map_or("-".into(), |d| d.to_string()),
            ]
        })
        .collect();
    table::print(
        "Invoices of 10.00 or more, largest first",
        &["customer", "total", "discount"],
        &rows,
    );
    let ana = EmailAddress::parse("ana@example.com")?;
    let count = repo.count(Invoice::CUSTOMER.eq(ana)).await?;
    println!("\nana@example.com has {count} invoices");
    println!(
        "`not an address` is refused when built: {}",
        EmailAddress::parse("not an address").unwrap_err()
    );
    Ok(())
}
