//! Sort keys: how an order is written for a backend, and the keyset condition "after this row".

use sea_query::{Condition, Expr, ExprTrait as _, OptionEnum, Order, SelectStatement, Value};

use crate::dialect::Backend;
use crate::order::Nulls;

/// One column of an order, as the statement builder needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SortKey {
    pub(crate) column: &'static str,
    pub(crate) descending: bool,
    /// Where NULLs go; `None` for a NOT NULL column.
    pub(crate) nulls: Option<Nulls>,
    /// The labels of an enum column, in declaration order.
    pub(crate) labels: Option<&'static [&'static str]>,
}

impl SortKey {
    /// An ascending or descending key on a NOT NULL column that is not an enum.
    pub(crate) fn plain(column: &'static str, descending: bool) -> Self {
        Self {
            column,
            descending,
            nulls: None,
            labels: None,
        }
    }

    /// Whether the key sorts by the declaration position of an enum label instead of by the
    /// column itself (a backend whose enums are text would sort them alphabetically).
    fn by_position(&self, backend: Backend) -> bool {
        self.labels.is_some() && !backend.capabilities().native_enums
    }

    /// What the statement sorts on.
    fn expr(&self, backend: Backend) -> Expr {
        match self.labels {
            Some(labels) if self.by_position(backend) => {
                // Labels are the enum's declaration, not input: written as escaped literals.
                let mut case = sea_query::CaseStatement::new();
                for (position, label) in labels.iter().enumerate() {
                    case = case.case(
                        Expr::col(self.column).eq(Expr::Constant((*label).into())),
                        Expr::Constant((position as i64).into()),
                    );
                }
                case.into()
            }
            _ => Expr::col(self.column),
        }
    }

    /// `value` as the sort expression sees it: an enum label's position where the key sorts
    /// by position.
    fn value(&self, backend: Backend, value: Value) -> Expr {
        if let (Some(labels), true) = (self.labels, self.by_position(backend))
            && let Value::Enum(OptionEnum::Some(label)) = &value
            && let Some(position) = labels.iter().position(|l| *l == label.value)
        {
            return Expr::val(position as i64);
        }
        Expr::val(value)
    }

    fn order(&self) -> Order {
        if self.descending {
            Order::Desc
        } else {
            Order::Asc
        }
    }

    /// Append this key to the ORDER BY of `select`.
    pub(crate) fn apply(&self, select: &mut SelectStatement, backend: Backend) {
        let expr = self.expr(backend);
        match self.nulls {
            Some(nulls) => select.order_by_expr_with_nulls(expr, self.order(), nulls.sea()),
            None => select.order_by_expr(expr, self.order()),
        };
    }

    /// The signature part of this key, so a cursor is bound to the exact order.
    pub(crate) fn signature(&self) -> String {
        let direction = if self.descending { "d" } else { "a" };
        match self.nulls {
            Some(Nulls::First) => format!("{}:{direction}:nf", self.column),
            Some(Nulls::Last) => format!("{}:{direction}:nl", self.column),
            None => format!("{}:{direction}", self.column),
        }
    }
}

fn is_null(value: &Value) -> bool {
    match value {
        Value::Enum(v) => matches!(v, OptionEnum::None(_)),
        other => other == &other.as_null(),
    }
}

/// Rows strictly after the row whose key values are `values`, in the order `keys` (the last
/// key is the primary key, so the order is total).
pub(crate) fn after(keys: &[SortKey], values: Vec<Value>, backend: Backend) -> Condition {
    let descending = keys[0].descending;
    if backend.capabilities().row_value_comparison
        && keys
            .iter()
            .all(|k| k.nulls.is_none() && k.descending == descending)
    {
        // One direction, no NULLs: a row-value comparison, which an index on the keys seeks to.
        let columns = Expr::tuple(keys.iter().map(|k| k.expr(backend)));
        let after = Expr::tuple(
            keys.iter()
                .zip(values)
                .map(|(key, value)| key.value(backend, value)),
        );
        return Condition::all().add(if descending {
            columns.lt(after)
        } else {
            columns.gt(after)
        });
    }
    // Otherwise: (k1 after v1) OR (k1 same as v1 AND k2 after v2) OR ...
    let mut any = Condition::any();
    for (i, key) in keys.iter().enumerate() {
        let Some(after) = key_after(key, &values[i], backend) else {
            continue;
        };
        let mut term = Condition::all();
        for (previous, value) in keys[..i].iter().zip(&values) {
            term = term.add(key_equals(previous, value, backend));
        }
        any = any.add(term.add(after));
    }
    any
}

fn key_equals(key: &SortKey, value: &Value, backend: Backend) -> Condition {
    if is_null(value) {
        Condition::all().add(Expr::col(key.column).is_null())
    } else {
        Condition::all().add(key.expr(backend).eq(key.value(backend, value.clone())))
    }
}

/// Rows whose `key` comes after `value`; `None` when nothing can (NULL placed last).
fn key_after(key: &SortKey, value: &Value, backend: Backend) -> Option<Condition> {
    let column = Expr::col(key.column);
    if is_null(value) {
        return match key.nulls {
            Some(Nulls::First) => Some(Condition::all().add(column.is_not_null())),
            _ => None,
        };
    }
    let value = key.value(backend, value.clone());
    let beyond = if key.descending {
        key.expr(backend).lt(value)
    } else {
        key.expr(backend).gt(value)
    };
    Some(match key.nulls {
        Some(Nulls::Last) => Condition::any().add(beyond).add(column.is_null()),
        _ => Condition::all().add(beyond),
    })
}

impl<E> crate::order::Order<E> {
    pub(crate) fn key(&self) -> SortKey {
        SortKey {
            column: self.column,
            descending: self.descending,
            nulls: self.nullable.then_some(self.nulls),
            labels: self.labels,
        }
    }
}
