//! The users file: user names with Argon2id password hashes and roles, in TOML.
//!
//! ```toml
//! [users.alice]
//! password = "$argon2id$v=19$m=19456,t=2,p=1$..."   # from `sockwire passwd alice`
//! roles = ["admin"]
//! ```

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::sync::Mutex;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::Deserialize;

use super::{Authenticator, Principal};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    #[serde(default)]
    users: HashMap<String, UserEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    password: String,
    #[serde(default)]
    roles: Vec<String>,
}

struct User {
    hash: String,
    roles: Vec<String>,
}

/// Users and their password hashes, read from a TOML file.
///
/// Argon2 is slow on purpose (tens of milliseconds a check): a password once verified is
/// remembered as a keyed hash (random key, never stored), so a reconnecting client costs
/// one hash lookup, while guessing still costs a full check each time.
pub struct UsersFile {
    users: HashMap<String, User>,
    verified: Mutex<HashMap<String, u64>>,
    keyed: RandomState,
}

impl std::fmt::Debug for UsersFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsersFile")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

impl UsersFile {
    /// Reads the users file at `path`.
    pub fn load(path: &Path) -> Result<UsersFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        UsersFile::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Reads users from TOML text; every hash must be a valid PHC string.
    pub fn parse(text: &str) -> Result<UsersFile, String> {
        let file: FileText = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut users = HashMap::new();
        for (name, entry) in file.users {
            PasswordHash::new(&entry.password)
                .map_err(|e| format!("user {name}: password is not a PHC hash: {e}"))?;
            if name.is_empty() || name.contains(['/', ':', '\n', '\r']) || name.len() > 64 {
                return Err(format!(
                    "user {name:?}: names are 1 to 64 bytes without / or :"
                ));
            }
            let user = User {
                hash: entry.password,
                roles: entry.roles,
            };
            users.insert(name, user);
        }
        Ok(UsersFile {
            users,
            verified: Mutex::new(HashMap::new()),
            keyed: RandomState::new(),
        })
    }

    /// How many users the file has.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file has no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    fn fingerprint(&self, user: &str, password: &str) -> u64 {
        self.keyed.hash_one((user, password))
    }
}

impl Authenticator for UsersFile {
    fn authenticate(&self, user: &str, password: &str) -> Option<Principal> {
        let entry = self.users.get(user)?;
        let print = self.fingerprint(user, password);
        let remembered = self
            .verified
            .lock()
            .ok()
            .is_some_and(|v| v.get(user) == Some(&print));
        if !remembered {
            let hash = PasswordHash::new(&entry.hash).ok()?;
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .ok()?;
            if let Ok(mut v) = self.verified.lock() {
                v.insert(user.to_string(), print);
            }
        }
        Some(Principal {
            name: user.to_string(),
            roles: entry.roles.clone(),
        })
    }
}

/// An Argon2id hash of `password` with a fresh random salt, as a PHC string for the
/// users file.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_check_against_their_hash() {
        let hash = hash_password("s3cret").unwrap();
        let text = format!("[users.alice]\npassword = '{hash}'\nroles = ['admin']\n");
        let users = UsersFile::parse(&text).unwrap();
        let alice = users.authenticate("alice", "s3cret").unwrap();
        assert_eq!(alice.roles, ["admin"]);
        // Remembered: the second check is the keyed lookup, with the same answer.
        assert_eq!(users.authenticate("alice", "s3cret"), Some(alice));
        assert_eq!(users.authenticate("alice", "wrong"), None);
        assert_eq!(users.authenticate("bob", "s3cret"), None);
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(UsersFile::parse("[users.a]\npassword = 'plain'\n").is_err());
        assert!(UsersFile::parse("[users.a]\npasswd = 'x'\n").is_err());
        let hash = hash_password("x").unwrap();
        assert!(UsersFile::parse(&format!("[users.'a/b']\npassword = '{hash}'\n")).is_err());
    }
}
