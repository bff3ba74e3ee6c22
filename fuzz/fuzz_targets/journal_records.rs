//! The queue journal's records as a restart reads them (a file a crash may have torn):
//! arbitrary bytes never panic; every record read stays within its input, and writing it
//! again gives back the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::broker::journal::{decode, encode, encoded_len, Decoded};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Decoded::Record(record, used) = decode(rest) {
        assert!(used <= rest.len() && used == encoded_len(&record));
        let mut again = vec![0u8; used];
        assert_eq!(encode(&record, &mut again), Ok(used));
        assert_eq!(
            &again[..],
            &rest[..used],
            "a record reads back as other bytes"
        );
        rest = &rest[used..];
    }
});
