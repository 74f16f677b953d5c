//! Export file names as EmotivPRO and Cortex write them (docs/cortex-api.md, "Export formats"):
//! `<title>_<HEADSETTYPE>_<serial>_<YYYY.MM.DD>T<HH.MM.SS>+<hh.mm>`.

use crate::store::RecordMeta;
use crate::time::local_from_unix;

/// The most bytes of a record's title in its export files' names.
const MAX_TITLE_BYTES: usize = 120;

/// The common stem of a record's export files. Characters that are unsafe in file names
/// become `_`; an empty title becomes `record`.
pub fn file_stem(r: &RecordMeta) -> String {
    // File names are at most 255 bytes; the longest suffix (19), the temporary name's extra
    // (42) and the model, serial and date (about 60) leave the title 120 bytes, cut on a
    // character boundary (64 CJK characters are 192 bytes).
    let clean = |s: &str, max_bytes: usize| -> String {
        let mut out = String::new();
        for c in s.chars().take(64) {
            let c = if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            };
            if out.len() + c.len_utf8() > max_bytes {
                break;
            }
            out.push(c);
        }
        out
    };
    let mut title = clean(&r.title, MAX_TITLE_BYTES);
    if title.is_empty() {
        title = "record".into();
    }
    let start = local_from_unix(r.start);
    let offset = start.format("%:z").to_string().replace(':', ".");
    format!(
        "{title}_{}_{}_{}{offset}",
        r.mode.model.cortex_prefix(),
        clean(&r.serial, 32),
        start.format("%Y.%m.%dT%H.%M.%S")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RecordState;
    use epoc_protocol::Mode;

    #[test]
    fn stem_follows_the_emotivpro_pattern_and_is_file_safe() {
        let r = RecordMeta {
            uuid: "u".into(),
            title: "day 1/eyes closed".into(),
            description: String::new(),
            tags: Vec::new(),
            application_id: String::new(),
            application_version: String::new(),
            license_id: String::new(),
            owner_id: String::new(),
            experiment_id: 0,
            subject_name: String::new(),
            session_id: String::new(),
            headset_id: String::new(),
            serial: "SN123".into(),
            mode: Mode::EPOC_PLUS_256,
            start: 1_700_000_000.0,
            end: None,
            state: RecordState::Stopped,
            note: String::new(),
        };
        let stem = file_stem(&r);
        assert!(stem.starts_with("day_1_eyes_closed_EPOCPLUS_SN123_20"), "{stem}");
        let tail = &stem[stem.len() - 6..];
        assert!(tail.starts_with('+') || tail.starts_with('-'), "{stem}");
        assert!(
            !stem.contains('/') && !stem.contains(' ') && !stem.contains(':'),
            "{stem}"
        );
    }
}
