//! Drives a client-role `Connection` with chunked peer input and local calls chosen by
//! the fuzzer's bytes, and checks its invariants.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::ws::Role;

#[path = "../common/connection_driver.rs"]
mod connection_driver;

fuzz_target!(|data: &[u8]| connection_driver::drive(Role::Client, data));
