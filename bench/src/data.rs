//! The benchmark's entity, its deterministic data and the checksums contenders are compared by.

use repo_core::prelude::*;

/// The lifecycle of an item; a native enum type on PostgreSQL, text on SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, DbEnum)]
pub enum ItemStatus {
    Draft,
    Active,
    Retired,
}

impl ItemStatus {
    const ALL: [Self; 3] = [Self::Draft, Self::Active, Self::Retired];
}

/// One row of `bench_items`. `(status, price_cents)` serves the filtered pages (W4) and
/// `(qty, id)` the keyset pages (W6).
///
/// It also derives `sqlx::FromRow`, so the hand-written contender decodes into the same type.
#[derive(Debug, Clone, PartialEq, Repository, sqlx::FromRow)]
#[repo(
    table = "bench_items",
    unique(sku),
    index(status, price_cents),
    index(qty, id)
)]
pub struct Item {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub qty: i32,
    pub price_cents: i64,
    pub status: ItemStatus,
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

/// `SplitMix64`: a tiny seeded generator, so every run sees the same data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % std::cmp::max(n, 1)
    }
}

/// Item number `i` (its SKU is derived from `i`, so equal `i` means a conflicting row);
/// `version` changes the other values, as an update would.
pub fn item(i: u64, version: u32, rng: &mut Rng) -> Item {
    let epoch = DateTime::UNIX_EPOCH;
    Item {
        id: 0,
        sku: format!("sku-{i:09}"),
        name: format!("item {i} v{version}"),
        qty: rng.below(100) as i32,
        price_cents: rng.below(1_000_000) as i64,
        status: ItemStatus::ALL[rng.below(3) as usize],
        created_at: epoch,
        updated_at: epoch,
    }
}

/// Items `0..n` from `seed`.
pub fn items(n: u64, version: u32, seed: u64) -> Vec<Item> {
    let mut rng = Rng::new(seed);
    (0..n).map(|i| item(i, version, &mut rng)).collect()
}

/// FNV-1a, written out so checksums do not depend on the standard library's hasher.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// What one contender read or wrote: how many rows, and an order-independent checksum of
/// their values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Check {
    pub rows: u64,
    pub sum: u64,
}

/// Which values of an item a checksum covers.
#[derive(Debug, Clone, Copy)]
pub struct Cover {
    pub id: bool,
    pub times: bool,
}

impl Cover {
    /// Every value: rows read from the same table by both contenders.
    pub const ALL: Self = Self {
        id: true,
        times: true,
    };
    /// All but the timestamps: rows each contender wrote at its own time.
    pub const WRITTEN: Self = Self {
        id: true,
        times: false,
    };
}

impl Check {
    pub fn add_item(&mut self, item: &Item, cover: Cover) {
        let mut h = Fnv::new();
        if cover.id {
            h.write(&item.id.to_le_bytes());
        }
        h.write(item.sku.as_bytes());
        h.write(&[0]);
        h.write(item.name.as_bytes());
        h.write(&item.qty.to_le_bytes());
        h.write(&item.price_cents.to_le_bytes());
        h.write(&[item.status as u8]);
        if cover.times {
            h.write(&item.created_at.timestamp_micros().to_le_bytes());
            h.write(&item.updated_at.timestamp_micros().to_le_bytes());
        }
        self.add_hash(h.0);
    }

    /// Add a row given as its text and its numbers.
    pub fn add_parts(&mut self, text: &[u8], numbers: &[u64]) {
        let mut h = Fnv::new();
        h.write(text);
        for n in numbers {
            h.write(&n.to_le_bytes());
        }
        self.add_hash(h.0);
    }

    pub fn add_number(&mut self, n: u64) {
        let mut h = Fnv::new();
        h.write(&n.to_le_bytes());
        self.add_hash(h.0);
    }

    fn add_hash(&mut self, hash: u64) {
        self.rows += 1;
        self.sum = self.sum.wrapping_add(hash);
    }

    /// Fold in a value that is not a row (a page's total).
    pub fn mix(&mut self, n: u64) {
        self.sum = self.sum.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
}

/// The checksum of every row of `bench_items`, read back through the repository.
pub async fn read_back(db: &Db, cover: Cover) -> repo_core::Result<Check> {
    let mut check = Check::default();
    for item in ItemRepository::new(db).find_all(Filter::all()).await? {
        check.add_item(&item, cover);
    }
    Ok(check)
}

/// A fresh `bench_items` table (ids start at 1 again).
pub async fn reset_items(db: &Db) -> repo_core::Result<()> {
    db.drop_schema::<Item>().await?;
    db.create_schema::<Item>().await
}

/// A fresh `bench_items` table holding `rows`, written in one session.
pub async fn fill_items(db: &Db, rows: &[Item]) -> repo_core::Result<()> {
    reset_items(db).await?;
    let session = db.begin().await?;
    ItemRepository::new(&session).bulk_insert(rows).await?;
    session.commit().await
}
