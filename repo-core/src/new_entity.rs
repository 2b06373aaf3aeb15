//! The input type of new entities ([`Entity::New`](crate::Entity::New), `NewX` for a
//! derived entity): what generated code needs to declare it.

/// The type of the `N`th field of a derived input type (`NewX`), as its module sees it: the
/// derive defines `NewX` in a module of its own and writes each field's type beside the entity
/// instead, where every type the entity names is in scope (even one declared in a function
/// body). Generated code's, not public API.
#[doc(hidden)]
pub trait NewField<const N: usize> {
    /// The field's type.
    type Type;
}
