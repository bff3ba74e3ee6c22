//! `sockwire serve --config FILE`: settings in TOML. Top-level keys are the flags' names
//! (`http = "127.0.0.1:9000"`, `heart-beat = "5000,5000"`, `no-stomp-tcp = true`, a list
//! for a flag given many times: `origin = ["https://a.example"]`); `[[access]]` tables
//! are access rules. Flags on the command line win.

use std::ffi::OsString;
use std::path::Path;

use serde::Deserialize;
use sockwire_std::auth::AccessRule;

/// The sections of the file that are not flags.
#[derive(Deserialize, Default)]
struct Sections {
    #[serde(default)]
    access: Vec<AccessRule>,
}

fn read(path: &Path) -> Result<toml::Table, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.parse::<toml::Table>()
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The command line with the settings of a `--config FILE` put right after `serve`, so
/// that flags given on the command line come later and win.
pub fn with_config_file(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let Some(at) = args.iter().position(|a| a == "--config") else {
        return Ok(args);
    };
    let Some(path) = args.get(at + 1) else {
        return Ok(args); // clap reports the missing value
    };
    let Some(serve) = args.iter().position(|a| a == "serve") else {
        return Ok(args);
    };
    let flags = flags(&read(Path::new(path))?)?;
    let mut all = args;
    all.splice(serve + 1..serve + 1, flags.into_iter().map(OsString::from));
    Ok(all)
}

/// The flags the file's top-level keys stand for.
fn flags(table: &toml::Table) -> Result<Vec<String>, String> {
    let mut flags = Vec::new();
    for (name, value) in table {
        if name == "access" {
            continue;
        }
        let values = match value {
            toml::Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for v in values {
            match v {
                toml::Value::Boolean(true) => flags.push(format!("--{name}")),
                toml::Value::Boolean(false) => {}
                toml::Value::String(s) => flags.extend([format!("--{name}"), s]),
                toml::Value::Integer(n) => flags.extend([format!("--{name}"), n.to_string()]),
                other => {
                    return Err(format!(
                        "{name}: {} is not a setting's value",
                        other.type_str()
                    ))
                }
            }
        }
    }
    Ok(flags)
}

/// The access rules of the file at `path`.
pub fn access_rules(path: &Path) -> Result<Vec<AccessRule>, String> {
    let sections: Sections = read(path)?
        .try_into()
        .map_err(|e: toml::de::Error| format!("{}: {e}", path.display()))?;
    Ok(sections.access)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_flags() {
        let table: toml::Table = r#"
            http = "127.0.0.1:0"
            no-stomp-tcp = true
            trust-login = false
            workers = 2
            origin = ["https://a.example", "https://b.example"]
            [[access]]
            destinations = ["/topic/x"]
            action = "deny"
        "#
        .parse()
        .unwrap();
        let mut got = flags(&table).unwrap();
        got.sort();
        let mut want = [
            "--http",
            "127.0.0.1:0",
            "--no-stomp-tcp",
            "--workers",
            "2",
            "--origin",
            "https://a.example",
            "--origin",
            "https://b.example",
        ];
        want.sort();
        assert_eq!(got, want);
        let sections: Sections = table.try_into().unwrap();
        assert_eq!(sections.access.len(), 1);
    }

    #[test]
    fn tables_that_are_not_settings_are_refused() {
        let table: toml::Table = "[http]\nport = 1\n".parse().unwrap();
        assert!(flags(&table).is_err());
    }
}
