//! Feeds arbitrary bytes, split where the input says, to the chunked-body decoder and
//! checks that whole-input and split decoding agree.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::http::ChunkedDecoder;

fuzz_target!(|data: &[u8]| {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);

    let mut whole = ChunkedDecoder::new();
    let mut whole_body = Vec::new();
    let whole_result = whole.decode(input, &mut |p| whole_body.extend_from_slice(p));

    let mut split = ChunkedDecoder::new();
    let mut split_body = Vec::new();
    let mut pos = 0;
    let mut split_result = Ok(0);
    while pos < input.len() && !split.is_done() {
        let end = (pos + step).min(input.len());
        match split.decode(&input[pos..end], &mut |p| split_body.extend_from_slice(p)) {
            Ok(used) => {
                assert!(used <= end - pos);
                // Everything is consumed until the body ends.
                assert!(used == end - pos || split.is_done());
                pos += used;
            }
            Err(e) => {
                split_result = Err(e);
                break;
            }
        }
    }
    match (whole_result, split_result) {
        (Ok(used), Ok(_)) => {
            assert_eq!(whole.is_done(), split.is_done());
            assert_eq!(whole_body, split_body);
            if whole.is_done() {
                assert_eq!(used, pos);
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("whole {a:?} but split {b:?}"),
    }
});
