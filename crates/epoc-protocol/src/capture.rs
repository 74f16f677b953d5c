//! Capture files, parsed from bytes already in memory (the caller does the reading):
//! raw hidraw dumps (back-to-back 32-byte reports, hemokit's `.dump`) and emokit's encrypted
//! CSV (`None` then 32 `0b…` literals per line). Shared by `epocd decode` and the replay
//! headset so both read exactly the same reports.

use crate::ProtocolError;
use crate::cipher::REPORT_LEN;

/// The two on-disk forms a capture comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Back-to-back 32-byte reports exactly as read from the hidraw node.
    RawDump,
    /// emokit's encrypted CSV: 33 fields per line, `None` then 32 binary literals.
    EmokitCsv,
}

/// The reports of a capture, plus what had to be left out and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// Which form the file was in.
    pub format: CaptureFormat,
    /// Ciphertext reports in file order.
    pub reports: Vec<[u8; REPORT_LEN]>,
    /// Bytes after the last whole report of a raw dump (an interrupted write).
    pub trailing_bytes: usize,
    /// 1-based line number of a truncated last CSV row that was skipped.
    pub truncated_last_line: Option<usize>,
}

/// Parse a capture. Only a cut-off end (a partial last report or CSV row) is tolerated, and
/// reported in the result; anything else malformed is an error naming the line.
pub fn parse_capture(bytes: &[u8]) -> Result<Capture, ProtocolError> {
    if bytes.is_empty() {
        return Err(ProtocolError::Capture("the file is empty".into()));
    }
    if bytes.starts_with(b"None,") {
        return parse_emokit_csv(bytes);
    }
    if bytes.len() < REPORT_LEN {
        return Err(ProtocolError::Capture(format!(
            "{} bytes is shorter than one 32-byte report",
            bytes.len()
        )));
    }
    let chunks = bytes.chunks_exact(REPORT_LEN);
    let trailing_bytes = chunks.remainder().len();
    let reports = chunks
        .map(|c| {
            let mut r = [0u8; REPORT_LEN];
            r.copy_from_slice(c);
            r
        })
        .collect();
    Ok(Capture {
        format: CaptureFormat::RawDump,
        reports,
        trailing_bytes,
        truncated_last_line: None,
    })
}

fn parse_emokit_csv(bytes: &[u8]) -> Result<Capture, ProtocolError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ProtocolError::Capture(format!("CSV capture is not text (byte {})", e.valid_up_to())))?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let mut reports = Vec::with_capacity(lines.len());
    let mut truncated_last_line = None;
    for (idx, (line_no, line)) in lines.iter().enumerate() {
        match parse_csv_row(line) {
            Ok(r) => reports.push(r),
            Err(RowError::TooFewFields(_)) if idx + 1 == lines.len() => {
                truncated_last_line = Some(*line_no);
            }
            Err(e) => {
                return Err(ProtocolError::Capture(format!("line {line_no}: {e}")));
            }
        }
    }
    if reports.is_empty() {
        return Err(ProtocolError::Capture(
            "the CSV capture holds no complete row".into(),
        ));
    }
    Ok(Capture {
        format: CaptureFormat::EmokitCsv,
        reports,
        trailing_bytes: 0,
        truncated_last_line,
    })
}

#[derive(Debug)]
enum RowError {
    TooFewFields(usize),
    TooManyFields,
    Field(usize),
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowError::TooFewFields(n) => write!(f, "{n} fields, expected 33"),
            RowError::TooManyFields => write!(f, "more than 33 fields"),
            RowError::Field(i) => write!(f, "field {i} is not a byte literal like 0b1010"),
        }
    }
}

fn parse_csv_row(line: &str) -> Result<[u8; REPORT_LEN], RowError> {
    let mut fields = line.split(',');
    fields.next(); // the unused timestamp column ("None")
    let mut r = [0u8; REPORT_LEN];
    let mut n = 0;
    for (i, field) in fields.enumerate() {
        if i >= REPORT_LEN {
            return Err(RowError::TooManyFields);
        }
        let field = field.trim();
        let digits = field.strip_prefix("0b").unwrap_or(field);
        r[i] = u8::from_str_radix(digits, 2).map_err(|_| RowError::Field(i + 2))?;
        n = i + 1;
    }
    if n < REPORT_LEN {
        return Err(RowError::TooFewFields(n + 1));
    }
    Ok(r)
}

/// A dongle serial named in a capture's file name (emokit names its files
/// `emotiv_encrypted_data_<SERIAL>_<time>.csv`): `SN` or `UD` and 14 more letters or digits.
pub fn serial_in_file_name(name: &str) -> Option<&str> {
    name.split(|c: char| !c.is_ascii_alphanumeric()).find(|t| {
        t.len() == 16
            && (t.starts_with("SN") || t.starts_with("UD"))
            && t[2..].bytes().any(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_dump_with_a_partial_tail() {
        let c = parse_capture(&[7u8; 70]).unwrap();
        assert_eq!(c.format, CaptureFormat::RawDump);
        assert_eq!(c.reports.len(), 2);
        assert_eq!(c.trailing_bytes, 6);
        assert!(parse_capture(&[]).is_err());
        assert!(parse_capture(&[1u8; 31]).is_err());
    }

    #[test]
    fn emokit_rows() {
        let row = format!("None{}", ",0b101".repeat(32));
        let text = format!("{row}\n{row}\nNone,0b1,0b1\n");
        let c = parse_capture(text.as_bytes()).unwrap();
        assert_eq!(c.format, CaptureFormat::EmokitCsv);
        assert_eq!(c.reports, vec![[5u8; 32]; 2]);
        assert_eq!(c.truncated_last_line, Some(3));
        // A short row in the middle is corruption, not truncation.
        let text = format!("{row}\nNone,0b1\n{row}\n");
        let e = parse_capture(text.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let text = format!("{row}\nNone{}\n", ",0b2".repeat(32));
        assert!(parse_capture(text.as_bytes()).is_err());
        let text = format!("None{}\n", ",0b111111111".repeat(32));
        assert!(parse_capture(text.as_bytes()).is_err(), "a field above 255");
    }

    #[test]
    fn serial_from_file_name() {
        assert_eq!(
            serial_in_file_name("emotiv_encrypted_data_UD20160103001874_2017-04-05.17-21-32.384061.csv"),
            Some("UD20160103001874")
        );
        assert_eq!(serial_in_file_name("recording-1-truncated.dump"), None);
    }
}
