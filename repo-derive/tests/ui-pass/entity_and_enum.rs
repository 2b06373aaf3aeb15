use repo_core::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, DbEnum)]
#[repo(type_name = "widget_status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Active,
    #[repo(rename = "gone")]
    Retired,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Dimensions {
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Clone, Repository)]
#[repo(table = "widgets", unique(sku, batch), index(status))]
pub struct Widget {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub sku: String,
    pub batch: i32,
    #[repo(column = "label", unique)]
    pub name: String,
    pub status: Status,
    pub weight: Option<f64>,
    #[repo(json)]
    pub size: Option<Dimensions>,
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Repository)]
#[repo(table = "gadgets")]
pub struct Gadget {
    #[repo(primary_key)]
    pub code: String,
    pub widget_id: Option<i64>,
}

pub fn filters() -> (Filter<Widget>, Filter<Gadget>) {
    let widgets =
        Widget::NAME.eq("bolt") & Widget::STATUS.ne(Status::Retired) | Widget::WEIGHT.gt(1.5);
    let gadgets = Gadget::WIDGET_ID.is_null().or(Gadget::CODE.like("G-%"));
    (widgets, gadgets)
}

fn main() {
    assert_eq!(<Widget as Entity>::TABLE, "widgets");
    assert_eq!(
        <Widget as Entity>::UNIQUE_KEYS,
        &[&["sku", "batch"][..], &["label"][..]]
    );
    assert_eq!(Widget::NAME.name(), "label");
    assert_eq!(<Status as repo_core::DbEnum>::LABELS, &["ACTIVE", "gone"]);
    let _ = filters();
}
