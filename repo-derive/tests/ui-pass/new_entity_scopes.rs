//! The input type where entities are declared: in a function body with types of its own, in a
//! nested module with restricted visibility, beside a type of the generated name elsewhere.

mod shop {
    pub mod orders {
        use repo_core::prelude::*;

        #[derive(Debug, Clone, Copy, PartialEq, DbEnum)]
        pub(crate) enum State {
            Open,
        }

        /// Visible in `shop` only; its fields at several visibilities.
        #[derive(Debug, Clone, Repository)]
        #[repo(table = "orders")]
        pub(in crate::shop) struct Order {
            #[repo(primary_key, auto)]
            pub(in crate::shop) id: i64,
            pub(super) customer: String,
            pub(crate) state: State,
            note: Option<String>,
        }

        pub(super) fn open(customer: &str) -> NewOrder {
            NewOrder {
                customer: customer.into(),
                state: State::Open,
                note: None,
            }
        }

        pub(super) fn with_note(order: NewOrder) -> NewOrder {
            NewOrder {
                note: Some("gift".into()),
                ..order
            }
        }

        /// A type named like another module's input type does not clash.
        pub struct NewLine;
    }

    pub fn order() -> String {
        let order = orders::with_note(orders::open("ann"));
        assert_eq!(order.state, orders::State::Open);
        order.customer
    }
}

/// Another module's `NewOrder` is not this scope's.
pub struct NewOrder;

fn main() {
    use repo_core::prelude::*;

    // Declared in a function body, with a field type and an import of the same body.
    #[derive(Debug, Clone, Copy, PartialEq, DbEnum)]
    enum Colour {
        Red,
    }

    #[derive(Debug, Clone, PartialEq, Repository)]
    #[repo(table = "paints")]
    struct Paint {
        #[repo(primary_key, auto)]
        id: i64,
        colour: Colour,
        #[repo(created_at)]
        created_at: DateTime<Utc>,
    }

    let new = NewPaint { colour: Colour::Red };
    assert_eq!(new.clone(), NewPaint { colour: Colour::Red });
    assert_eq!(format!("{new:?}"), "NewPaint { colour: Red }");
    let paint = Paint::from_new(new);
    assert_eq!(paint.colour, Colour::Red);
    let NewPaint { colour } = NewPaint { colour: Colour::Red };
    assert_eq!(colour, Colour::Red);
    let _ = shop::order();
    let _ = NewOrder;
}
