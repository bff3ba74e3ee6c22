//! Proof that sockwire-core needs neither std nor alloc.
//!
//! This binary is `#![no_std]`, defines no global allocator and brings its own panic
//! handler. If sockwire-core (or anything it depends on) linked `std`, the build fails
//! with a duplicate `panic_impl` lang item; if it used `alloc`, linking fails for want of
//! a global allocator. It drives the real machines (HTTP head, handshake, WebSocket
//! connection, STOMP decoder) so that they are linked in, and exits 0 when they behave.
#![no_std]
#![no_main]

use core::panic::PanicInfo;

use sockwire_core::http::{Header, Request};
use sockwire_core::machine::Status;
use sockwire_core::stomp::{Command, Decoded, Decoder, Limits};
use sockwire_core::time::Instant;
use sockwire_core::ws::handshake::{accept, AllowedOrigins, ServerConfig};
use sockwire_core::ws::{Config, Connection, Event, Role};

// The C library provides the process entry point and memcpy/memset; nothing of Rust's.
#[link(name = "c")]
extern "C" {}

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    loop {}
}

const REQUEST: &[u8] = b"GET /ws HTTP/1.1\r\nHost: device\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n";

fn handshake_works() -> bool {
    let mut headers = [Header::EMPTY; 16];
    let Ok(Some((request, _))) = Request::parse(REQUEST, &mut headers) else {
        return false;
    };
    let config = ServerConfig {
        subprotocols: &["v12.stomp"],
        origins: AllowedOrigins::SameOrigin,
        limits: Default::default(),
    };
    let Ok(accepted) = accept(&request, &config) else {
        return false;
    };
    let mut out = [0u8; 256];
    accepted.accept_key() == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        && accepted.write_response(&[], &mut out).is_ok()
}

fn stomp_over_websocket_works() -> bool {
    // A masked text frame carrying "SEND\ndestination:/a\n\nhi\0".
    let key = [1u8, 2, 3, 4];
    let stomp = b"SEND\ndestination:/a\n\nhi\0";
    let mut frame = [0u8; 64];
    frame[0] = 0x81;
    frame[1] = 0x80 | stomp.len() as u8;
    frame[2..6].copy_from_slice(&key);
    for (i, b) in stomp.iter().enumerate() {
        frame[6 + i] = b ^ key[i % 4];
    }
    let len = 6 + stomp.len();
    let mut conn = Connection::new(Role::Server, Config::default(), 0);
    let read = conn.read(&mut frame[..len], Instant(0));
    let Status::Event(Event::Data { payload, .. }) = read.status else {
        return false;
    };
    let mut decoder = Decoder::new(Limits::default());
    matches!(
        decoder.decode(payload),
        Ok(Decoded::Frame { frame, .. }) if frame.command() == Command::Send && frame.body() == b"hi"
    )
}

/// Entry point called by the C runtime.
#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    if handshake_works() && stomp_over_websocket_works() {
        0
    } else {
        1
    }
}
