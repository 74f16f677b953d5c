//! The udev rule in `udev/70-epocd.rules`, parsed: every dongle id the driver opens has a
//! rule that gives its hidraw node to the logged-in user (uaccess) and the epocd group, and
//! no rule renames a device node. (`scripts/test-packaging.sh` also runs it through udevadm.)

use std::collections::HashMap;

/// One rule: its `KEY op "value"` pairs, keyed by `KEY` (with its `{attr}`).
fn parse(line: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut out = Vec::new();
    for part in line.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let op_at = part
            .find(['=', '!', '+', ':'])
            .ok_or_else(|| format!("no operator in {part:?}"))?;
        let key = part[..op_at].trim().to_owned();
        let rest = &part[op_at..];
        let op_len = if rest.starts_with("==")
            || rest.starts_with("!=")
            || rest.starts_with("+=")
            || rest.starts_with(":=")
        {
            2
        } else {
            1
        };
        let (op, value) = rest.split_at(op_len);
        let value = value.trim();
        if !(value.len() >= 2
            && value.starts_with('"')
            && value.ends_with('"')
            && !value[1..value.len() - 1].contains('"'))
        {
            return Err(format!("value of {key} is not quoted: {value}"));
        }
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_uppercase() || "{}_".contains(c) || c.is_ascii_lowercase())
        {
            return Err(format!("bad key {key:?}"));
        }
        out.push((key, op.to_owned(), value[1..value.len() - 1].to_owned()));
    }
    Ok(out)
}

#[test]
fn every_dongle_id_has_a_uaccess_and_group_rule_and_nothing_is_renamed() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../udev/70-epocd.rules");
    let text = std::fs::read_to_string(path).expect("udev/70-epocd.rules");
    let rules: Vec<Vec<(String, String, String)>> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| parse(l).unwrap_or_else(|e| panic!("{e} in: {l}")))
        .collect();
    assert!(!rules.is_empty());
    for rule in &rules {
        assert!(
            rule.iter().all(|(k, _, _)| k != "NAME"),
            "a rule must never rename the node: {rule:?}"
        );
    }
    for (vendor, product) in epoc_driver::hid::DONGLE_IDS {
        let vid = format!("{vendor:04x}");
        let pid = format!("{product:04x}");
        let rule = rules
            .iter()
            .map(|r| {
                r.iter()
                    .map(|(k, op, v)| (format!("{k}{op}"), v.as_str()))
                    .collect::<HashMap<_, _>>()
            })
            .find(|r| {
                r.get("ATTRS{idVendor}==") == Some(&vid.as_str())
                    && r.get("ATTRS{idProduct}==") == Some(&pid.as_str())
            })
            .unwrap_or_else(|| panic!("no rule for {vid}:{pid}"));
        assert_eq!(rule.get("SUBSYSTEM=="), Some(&"hidraw"), "{vid}:{pid}");
        assert_eq!(rule.get("TAG+="), Some(&"uaccess"), "{vid}:{pid}");
        assert_eq!(rule.get("GROUP="), Some(&"epocd"), "{vid}:{pid}");
        assert_eq!(rule.get("MODE="), Some(&"0660"), "{vid}:{pid}");
    }
}

#[test]
fn the_parser_rejects_what_udev_rejects() {
    assert!(parse(r#"SUBSYSTEM=="hidraw", MODE="0660""#).is_ok());
    assert!(
        parse(r#"SUBSYSTEM=="hidraw" MODE="0660""#).is_err(),
        "missing comma"
    );
    assert!(parse(r#"SUBSYSTEM==hidraw"#).is_err(), "unquoted value");
    assert!(parse(r#"SUBSYSTEM"hidraw""#).is_err(), "no operator");
}
