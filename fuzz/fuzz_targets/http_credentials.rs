//! Reads arbitrary `Authorization` values: nothing panics, and `Basic` credentials read
//! back from their own encoding are the same.
#![no_main]
use base64ct::{Base64, Encoding};
use libfuzzer_sys::fuzz_target;
use sockwire_core::http::Credentials;

fuzz_target!(|data: &[u8]| {
    let mut scratch = [0u8; 256];
    if let Ok(Credentials::Basic { user, password }) = Credentials::parse(data, &mut scratch) {
        let plain = format!("{user}:{password}");
        let value = format!("Basic {}", Base64::encode_string(plain.as_bytes()));
        let mut again = [0u8; 512];
        assert_eq!(
            Credentials::parse(value.as_bytes(), &mut again),
            Ok(Credentials::Basic { user, password })
        );
    }
});
