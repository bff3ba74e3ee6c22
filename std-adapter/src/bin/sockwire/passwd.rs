//! `sockwire passwd NAME`: reads a password from stdin and prints the users-file entry
//! with its Argon2id hash.

use std::io::BufRead;

use clap::Args;

/// The user to write an entry for.
#[derive(Args)]
pub struct PasswdArgs {
    /// The user name.
    name: String,
    /// A role of the user (repeat for more).
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
}

/// Prints `[users.NAME]` with the hash of the first line of stdin.
pub fn run(args: PasswdArgs) -> Result<(), String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err("no password on stdin".to_string());
    }
    let hash = sockwire_std::auth::hash_password(password)?;
    let mut entry = toml::Table::new();
    entry.insert("password".into(), hash.into());
    if !args.roles.is_empty() {
        entry.insert("roles".into(), args.roles.into());
    }
    let mut user = toml::Table::new();
    user.insert(args.name, entry.into());
    let mut users = toml::Table::new();
    users.insert("users".into(), user.into());
    print!("{}", toml::to_string(&users).map_err(|e| e.to_string())?);
    Ok(())
}
