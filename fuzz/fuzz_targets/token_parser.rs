//! Arbitrary strings through the small parsers: bearer tokens, timestamps, URNs and the
//! obfuscation of reads; and the checksum property: a fresh token passes, and any one
//! character changed (to any other character) fails; and any instant formats and reads
//! back as itself.
#![no_main]

use baack::clock::{format_baack, format_rfc3339, parse_timestamp};
use baack::model::parse_urn;
use baack::secret::{TOKEN_LEN, TOKEN_PREFIX, check_bearer_token, new_bearer_token, obfuscate};
use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The property of the checksum, steered by the first bytes.
    if data.len() >= 2 {
        let token = new_bearer_token().unwrap();
        assert_eq!(check_bearer_token(&token), Ok(()));
        let at = data[0] as usize % TOKEN_LEN;
        let replacement = std::str::from_utf8(&data[1..])
            .ok()
            .and_then(|s| s.chars().next())
            .unwrap_or(data[1] as char);
        let mut changed: Vec<char> = token.chars().collect();
        if changed[at] != replacement {
            changed[at] = replacement;
            let typo: String = changed.into_iter().collect();
            assert!(
                check_bearer_token(&typo).is_err(),
                "{typo} passes though it differs from {token}"
            );
        }
    }

    // Any instant formats and reads back as itself, or as the nearest end of chrono's
    // calendar: never as something else (it once read back as the epoch).
    if let Some(bytes) = data.get(..8) {
        let ms = i64::from_le_bytes(bytes.try_into().unwrap());
        let lo = DateTime::<Utc>::MIN_UTC.timestamp_millis();
        let hi = DateTime::<Utc>::MAX_UTC.timestamp_millis();
        let want = Some(ms.clamp(lo, hi));
        assert_eq!(parse_timestamp(&format_baack(ms)), want, "{ms}");
        assert_eq!(parse_timestamp(&format_rfc3339(ms)), want, "{ms}");
    }

    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if check_bearer_token(s).is_ok() {
        assert!(s.starts_with(TOKEN_PREFIX) && s.len() == TOKEN_LEN && s.is_ascii());
    }
    let shown = obfuscate(s);
    assert!(shown.ends_with("...") && shown.chars().count() <= 9);
    if let Some(u) = parse_urn(s) {
        assert_eq!(u.len(), 36);
        assert_eq!(u, u.to_ascii_lowercase());
        assert_eq!(parse_urn(&u).as_deref(), Some(u.as_str()));
    }
    if let Some(ms) = parse_timestamp(s) {
        // Both spellings this build emits read back as the same instant.
        let baack = format_baack(ms);
        assert_eq!(parse_timestamp(&baack), Some(ms), "{s} -> {baack}");
        let rfc = format_rfc3339(ms);
        assert_eq!(parse_timestamp(&rfc), Some(ms), "{s} -> {rfc}");
    }
});
