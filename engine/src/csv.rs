//! RFC 4180 tables, the form clip lists and caption lists come in: comma-separated fields,
//! double-quoted fields with `""` escapes, CRLF or LF rows; blank rows are skipped.

use crate::error::{Error, Result};

/// The rows of `text`, each a list of fields (unquoted).
pub fn parse(text: &str) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                if row.iter().any(|f| !f.is_empty()) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
            }
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err(Error::invalid("unterminated quoted field"));
    }
    if !field.is_empty() || row.iter().any(|f| !f.is_empty()) {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_quotes_and_rows() {
        let rows = parse("video,text\r\na.mp4,\"steps, on \"\"gravel\"\"\"\n\nb.mp4,\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["video".to_string(), "text".into()],
                vec!["a.mp4".into(), "steps, on \"gravel\"".into()],
                vec!["b.mp4".into(), String::new()],
            ]
        );
        assert!(parse("a,\"b").is_err());
        assert_eq!(parse(",\n,").unwrap(), Vec::<Vec<String>>::new());
    }
}
