//! SockJS routing: any method and target routes without panicking, and session routes
//! name a known transport with ids free of dots and slashes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockwire_core::sockjs::{callback_from_query, Route, Router};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let target = String::from_utf8_lossy(rest);
    let method = ["GET", "POST", "OPTIONS", "PUT"][usize::from(selector % 4)];
    let prefix = ["/echo", "", "/a/b/"][usize::from(selector / 4 % 3)];
    let router = Router::new(prefix, selector & 0x80 != 0);
    if let Route::Session {
        server,
        session,
        transport,
        query,
    } = router.route(method, &target)
    {
        assert!(!server.is_empty() && !server.contains(['.', '/']));
        assert!(!session.is_empty() && !session.contains(['.', '/']));
        assert_eq!(transport.method(), method);
        let mut buf = [0u8; 256];
        if let Ok(cb) = callback_from_query(query, &mut buf) {
            assert!(cb
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.'));
        }
    }
});
