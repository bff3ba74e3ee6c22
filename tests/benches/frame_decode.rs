//! Placeholder until the frame decode benchmark lands.
fn main() {}
