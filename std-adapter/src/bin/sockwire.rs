//! The `sockwire` command.
fn main() {}
