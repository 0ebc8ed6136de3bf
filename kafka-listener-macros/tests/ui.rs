//! The compile errors users see, pinned with trybuild (`tests/ui/*.rs` + `*.stderr`), and
//! listeners that must compile. One test function: each trybuild run builds the cases in one
//! batch, which matters on small CI machines. Regenerate after an intended message change with
//! `TRYBUILD=overwrite cargo test -p kafka-listener-macros --test ui`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/*.rs");
}
