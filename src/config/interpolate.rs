//! `${NAME}` interpolation of environment variables in config string values.

pub struct InterpolationError {
    pub field: String,
    pub message: String,
}

pub fn expand(
    value: &mut toml::Value,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(), InterpolationError> {
    walk(value, String::new(), env)
}

fn walk(
    value: &mut toml::Value,
    path: String,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(), InterpolationError> {
    match value {
        toml::Value::String(s) => {
            *s = expand_str(s, env).map_err(|message| InterpolationError {
                field: path,
                message,
            })?;
        }
        toml::Value::Array(items) => {
            // Arrays of tables read as `provider[0].api_key`; arrays of values as `api_keys[0]`.
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, format!("{path}[{i}]"), env)?;
            }
        }
        toml::Value::Table(table) => {
            for (key, item) in table.iter_mut() {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(item, child, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Replaces each `${NAME}`; `$${` stays a literal `${`.
fn expand_str(s: &str, env: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if let Some(literal) = after.strip_prefix("${") {
            out.push_str("${");
            rest = literal;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| "unterminated ${ in value".to_string())?;
            let name = &body[..end];
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!("'${{{name}}}' is not a valid variable reference"));
            }
            let val = env(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
            out.push_str(&val);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::expand_str;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "B_2" => Some("beta".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_references_and_keeps_other_dollars() {
        assert_eq!(
            expand_str("${A}-${B_2}", &env).ok().as_deref(),
            Some("alpha-beta")
        );
        assert_eq!(expand_str("cost $5", &env).ok().as_deref(), Some("cost $5"));
        assert_eq!(expand_str("$${A}", &env).ok().as_deref(), Some("${A}"));
    }

    #[test]
    fn reports_missing_and_malformed_references() {
        assert!(expand_str("${MISSING}", &env).is_err_and(|e| e.contains("MISSING")));
        assert!(expand_str("${A", &env).is_err());
        assert!(expand_str("${A B}", &env).is_err());
    }
}
