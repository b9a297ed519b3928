//! Front matter (YAML between `---` lines, TOML between `+++` lines) -> [`FrontMatter`].
//! Never rendered as a heading; an invalid block is a warning and the runbook still loads.

use crate::model::FrontMatter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Yaml,
    Toml,
}

/// Parses the text of a front matter block. On error: the message and the 1-based line within
/// the block, when known.
pub(crate) fn parse(text: &str, format: Format) -> Result<FrontMatter, (String, Option<u32>)> {
    let value: serde_json::Value = match format {
        Format::Yaml => {
            if text.trim().is_empty() {
                return Ok(FrontMatter::default());
            }
            serde_yaml_ng::from_str(text).map_err(|err| {
                let line = err.location().map(|l| l.line() as u32);
                (err.to_string(), line)
            })?
        }
        Format::Toml => {
            let table: toml::Table = toml::from_str(text).map_err(|err| {
                let line = err.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() as u32 + 1);
                (err.message().to_owned(), line)
            })?;
            serde_json::to_value(table).map_err(|err| (err.to_string(), None))?
        }
    };
    let map = match value {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => return Ok(FrontMatter::default()),
        other => return Err((format!("front matter must be a mapping of keys, not {}", kind(&other)), Some(1))),
    };
    let mut front = FrontMatter::default();
    for (key, value) in map {
        match key.as_str() {
            "title" => front.title = scalar(&value),
            "severity" => front.severity = scalar(&value),
            "owner" | "team" => front.owner = scalar(&value),
            "tags" | "tag" => front.tags = list(&value),
            "services" | "service" => front.services = list(&value),
            _ => {
                front.extra.insert(key, value);
            }
        }
    }
    Ok(front)
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::Bool(_) => "a boolean",
        _ => "a value",
    }
}

fn scalar(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list, or a comma-separated string.
fn list(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Array(items) => items.iter().filter_map(scalar).collect(),
        serde_json::Value::String(s) => {
            s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
        other => scalar(other).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_fields() {
        let front = parse(
            "title: DB down\nseverity: SEV1\nowner: dba\ntags: [db, postgres]\nservices: api, worker\nweight: 20\n",
            Format::Yaml,
        )
        .unwrap();
        assert_eq!(front.title.as_deref(), Some("DB down"));
        assert_eq!(front.severity.as_deref(), Some("SEV1"));
        assert_eq!(front.owner.as_deref(), Some("dba"));
        assert_eq!(front.tags, ["db", "postgres"]);
        assert_eq!(front.services, ["api", "worker"]);
        assert_eq!(front.extra["weight"], 20);
    }

    #[test]
    fn toml_fields() {
        let front = parse("title = \"x\"\ntags = [\"a\"]\n", Format::Toml).unwrap();
        assert_eq!(front.title.as_deref(), Some("x"));
        assert_eq!(front.tags, ["a"]);
    }

    #[test]
    fn errors_have_lines() {
        let (message, line) = parse("title: x\ntags: [a\n", Format::Yaml).unwrap_err();
        assert!(!message.is_empty());
        assert!(line.is_some());
        assert!(parse("- a\n- b\n", Format::Yaml).is_err());
    }
}
