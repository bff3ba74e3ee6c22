//! End-to-end tests and benchmarks for sockwire; see `tests/` and `benches/`.

pub mod bench_stomp;
