//! Read-only entities: a view without a key, and a table read by its key. Reads compile.

use repo_core::prelude::*;

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "sales_by_store", read_only)]
struct SalesByStore {
    store: Option<String>,
    total_sales: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "rates", read_only, unique(label))]
struct Rate {
    #[repo(primary_key)]
    code: String,
    label: String,
    value: f64,
}

async fn reads(db: &Db) -> repo_core::Result<()> {
    let sales = SalesByStoreRepository::new(db);
    let _: u64 = sales.count(Filter::all()).await?;
    let _: Page<SalesByStore> = sales
        .find(Filter::all(), PageRequest::new(10).order_by(SalesByStore::STORE.asc()))
        .await?;
    let _: Vec<SalesByStore> = BaseRepository::find_all(&sales, SalesByStore::TOTAL_SALES.gt(1.0)).await?;
    let rates = RateRepository::new(db);
    let _: Rate = rates.get("EUR").await?;
    let _: Option<Rate> = rates.find_by_id("USD").await?;
    Ok(())
}

fn main() {
    let _ = reads;
}
