//! Proof that sockwire-core needs neither std nor alloc.
//!
//! This binary is `#![no_std]`, defines no global allocator and brings its own panic
//! handler. If sockwire-core (or anything it depends on) linked `std`, the build fails
//! with a duplicate `panic_impl` lang item; if it used `alloc`, linking fails for want of
//! a global allocator. It touches the core's machines so that they are really linked.
#![no_std]
#![no_main]

use core::panic::PanicInfo;

// The C library provides the process entry point and memcpy/memset; nothing of Rust's.
#[link(name = "c")]
extern "C" {}

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    loop {}
}

/// Entry point called by the C runtime.
#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let mut out = [0u8; 32];
    let mut w = sockwire_core::buf::Writer::new(&mut out);
    w.put_decimal(13);
    match w.finish() {
        Ok(n) => n as i32,
        Err(_) => 1,
    }
}
