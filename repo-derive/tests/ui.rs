//! Compile-fail tests of the derives: each file under `tests/ui/<category>/` makes one mistake
//! and its `.stderr` holds the diagnostic the user sees.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
    t.pass("tests/ui-pass/*.rs");
}
