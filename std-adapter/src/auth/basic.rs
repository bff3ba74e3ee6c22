//! The built-in handshake interceptor: HTTP Basic credentials checked by an
//! [`Authenticator`].

use std::net::SocketAddr;
use std::sync::Arc;

use sockwire_core::http::{Credentials, CredentialsError, Request, RequestError};

use super::{Admission, Authenticator, HandshakeInterceptor};

/// Reads HTTP Basic credentials from the handshake: right ones make the request's
/// principal, wrong or unreadable ones get 401, and a request without any is left to
/// authenticate at `CONNECT`.
#[derive(Clone)]
pub struct BasicAuth {
    /// Checks the credentials.
    pub users: Arc<dyn Authenticator>,
}

impl HandshakeInterceptor for BasicAuth {
    fn before_handshake(
        &self,
        request: &Request<'_, '_>,
        _peer: SocketAddr,
    ) -> Result<Admission, RequestError> {
        let mut scratch = [0u8; 512];
        match Credentials::from_headers(&request.headers, &mut scratch) {
            Err(CredentialsError::Missing) => Ok(Admission::default()),
            Ok(Credentials::Basic { user, password }) => {
                match self.users.authenticate(user, password) {
                    Some(p) => Ok(Admission {
                        principal: Some(p),
                        ..Admission::default()
                    }),
                    None => Err(RequestError::Unauthorized),
                }
            }
            Ok(Credentials::Bearer(_)) | Err(_) => Err(RequestError::Unauthorized),
        }
    }
}
