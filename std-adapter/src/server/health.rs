//! `GET /health`: whether the server takes work, for load balancers and orchestrators.
//! Cheap: it reads one flag and needs no hub.

use sockwire_core::http::{write_ok_response, write_unavailable_response, WriteError};

/// Writes the health answer into `out`: `200 {"status":"ok"}` while serving, `503
/// {"status":"draining"}` once a graceful shutdown began.
pub fn write(draining: bool, out: &mut [u8]) -> Result<usize, WriteError> {
    if draining {
        write_unavailable_response("application/json", br#"{"status":"draining"}"#, out)
    } else {
        write_ok_response("application/json", br#"{"status":"ok"}"#, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draining_is_unavailable() {
        let mut out = [0u8; 256];
        let n = write(false, &mut out).unwrap();
        assert!(out[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(out[..n].ends_with(br#"{"status":"ok"}"#));
        let n = write(true, &mut out).unwrap();
        assert!(out[..n].starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(out[..n].ends_with(br#"{"status":"draining"}"#));
    }
}
