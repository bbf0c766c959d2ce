//! The regular expressions of the OpenAPI document's schemas and parameters. Each states
//! exactly what a validator of the server accepts (a test compares them), in the subset
//! of syntax that ECMA 262, Python and Rust's `regex` read alike: `[0-9]` rather than
//! `\d`, explicit classes rather than `\s` or `.`, `\xHH` and `\uHHHH` escapes.

/// Unicode White_Space, what Rust's `char::is_whitespace` and `str::trim` mean.
const WS: &str = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// What no URL may hold here: control characters (Cc), White_Space and `\`.
const NOT_URL: &str = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\";

const URN: &str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

/// A URN in a path, a query or a body: a hyphenated UUID, either case.
pub fn urn() -> String {
    format!("^{URN}$")
}

/// A URN as the server writes it: lowercase.
pub fn urn_out() -> String {
    "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$".into()
}

/// The `cursor` of a Baack list: empty, or the URN the page starts after.
pub fn cursor() -> String {
    format!("^(?:{URN})?$")
}

/// An OAuth client id in a path (32 hex digits; the server answers in lowercase).
pub fn oauth_id() -> String {
    "^[0-9a-fA-F]{32}$".into()
}

/// Characters no name may hold that a pattern can list: controls, separators, and
/// the common format and invisible ones. The server refuses more (every format,
/// private-use, unassigned and default-ignorable character: API.md "Names"), from
/// the Unicode data, which no portable pattern can carry.
const NOT_NAME: &str = r"\x00-\x1f\x7f-\x9f\xad\u034f\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0";

/// A `clientID`, role name or OAuth name, as far as a pattern can say: none of
/// `NOT_NAME`, no White_Space at either end (the length is a separate rule). A
/// necessary condition: the server also refuses the characters above, names that
/// read as a URN (clientID and role name), and look-alikes of existing names.
pub fn printable() -> String {
    format!("^(?:[^{WS}{NOT_NAME}](?:[^{NOT_NAME}]*[^{WS}{NOT_NAME}])?)?$")
}

/// Whole blocks the server refuses in a description that a pattern can still list: the BMP's private-use
/// area, and U+33480 to U+10FFFF (unassigned past CJK extension J in plane 3; planes 4 to 13 are unassigned, 14 holds only format
/// and default-ignorable characters, 15 and 16 are private use). As literal characters:
/// no portable escape names a code point past U+FFFF.
const REFUSED_BLOCKS: &str = "\u{E000}-\u{F8FF}\u{33480}-\u{10FFFF}";

/// A token `description`, as far as a pattern can say: none of `NOT_NAME` (the length
/// is a separate rule; the server refuses more, as for names).
pub fn description() -> String {
    format!("^[^{NOT_NAME}{REFUSED_BLOCKS}]*$")
}

/// A timestamp of the contract, unanchored: a real date in the years the server takes
/// (1970 to 9999: `clock::in_range`), a time, 0 to 9 fractional digits and an optional
/// `Z`. Second 60 is a leap second, which ISO 8601 (and the server) allow; it counts as
/// the next second, so 1969-12-31T23:59:60 is in range and 9999-12-31T23:59:60 is not.
fn timestamp_body() -> String {
    let day_any = "(?:0[1-9]|1[0-9]|2[0-8])";
    let month_day = |last31: &str| {
        format!("(?:(?:0[1-9]|1[0-2])-{day_any}|(?:0[13-9]|1[0-2])-(?:29|30)|{last31}-31)")
    };
    // 1970 to 9998; 9999 (not a leap year) has its own alternatives.
    let year = "(?:19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])";
    let leap = "(?:19(?:7[26]|8[048]|9[26])|[2-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)-02-29";
    let fraction = r"(?:\.[0-9]{1,9})?";
    let hm = "(?:[01][0-9]|2[0-3]):[0-5][0-9]";
    let time = format!("{hm}:(?:[0-5][0-9]|60){fraction}");
    let last_day = format!(
        "{hm}:[0-5][0-9]{fraction}|(?:(?:[01][0-9]|2[0-2]):[0-5][0-9]|23:(?:[0-4][0-9]|5[0-8])):60{fraction}"
    );
    let dates = format!(
        "{year}-{}|9999-{}|{leap}",
        month_day("(?:0[13578]|1[02])"),
        month_day("(?:0[13578]|10)")
    );
    format!("(?:(?:{dates})T{time}|9999-12-31T(?:{last_day})|1969-12-31T23:59:60{fraction})Z?")
}

/// A timestamp: `2026-07-04T14:34:19.610`, with 0 to 9 fractional digits and an
/// optional trailing `Z`.
pub fn timestamp() -> String {
    format!("^{}$", timestamp_body())
}

/// The `filters` of the OAuth list, the language `wire::oauth::parse_filters` reads:
/// nothing, or comparisons on `lastUsed` (a timestamp bare or quoted), `isnull`, `pr`,
/// each after any number of `not`, joined by `and` or `or`.
pub fn oauth_filters() -> String {
    let ts = timestamp_body();
    let leaf = format!("lastUsed[{WS}]+(?:isnull|pr|(?:le|lt|ge|gt)[{WS}]+(?:{ts}|\"{ts}\"))");
    let term = format!("(?:not[{WS}]+)*{leaf}");
    format!("^[{WS}]*(?:{term}(?:[{WS}]+(?:and|or)[{WS}]+{term})*[{WS}]*)?$")
}

/// An IPv6 address as Rust's `Ipv6Addr` reads it: eight groups, or fewer around one
/// `::` that stands for at least one, the last two possibly an IPv4 address.
fn ipv6() -> String {
    let h = "[0-9a-fA-F]{1,4}";
    let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])";
    let v4 = format!(r"{octet}(?:\.{octet}){{3}}");
    let mut forms = vec![format!("(?:{h}:){{7}}{h}"), format!("(?:{h}:){{6}}{v4}")];
    for head in 0..=7usize {
        let left = 7 - head;
        let head = match head {
            0 => String::new(),
            n => format!("(?:{h}:){{{}}}{h}", n - 1),
        };
        let mut tails = Vec::new();
        if left >= 2 {
            tails.push(format!("(?:{h}:){{0,{}}}{v4}", left - 2));
        }
        if left >= 1 {
            tails.push(format!("{h}(?::{h}){{0,{}}}", left - 1));
        }
        let tail = if tails.is_empty() {
            String::new()
        } else {
            format!("(?:{})?", tails.join("|"))
        };
        forms.push(format!("{head}::{tail}"));
    }
    format!("(?:{})", forms.join("|"))
}

/// `:` and a port of digits up to 65535, or nothing.
const PORT: &str = "(?::(?:0*(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?)?";

/// `[userinfo@]`: the host follows the last `@` of the authority, which runs to the
/// first `/`, `?` or `#`; no `[` or `]` outside a host literal.
fn userinfo(no: &str) -> String {
    format!(r"(?:[^{no}/?#\[\]]*@)?")
}

/// `[userinfo@]host[:port]` with a host that is a name or a bracketed IPv6 address.
fn authority_any(no: &str) -> String {
    let name = format!(r"[^{no}/?#@:\[\]]+");
    format!(r"{}(?:\[{}\]|{name}){PORT}", userinfo(no), ipv6())
}

/// A `homepageUrl` in a body: an absolute `http` or `https` URL, or `""` (none, as the
/// representation shows it).
pub fn http_url_or_empty() -> String {
    let auth = authority_any(NOT_URL);
    format!("^(?:https?://{auth}(?:[/?#][^{NOT_URL}]*)?)?$")
}

/// A redirect URI: an `https` URL, or `http` on `localhost`, `127.0.0.1` or `[::1]`;
/// no fragment.
pub fn redirect_uri() -> String {
    let no = format!("{NOT_URL}#");
    let auth = authority_any(&no);
    let loopback = format!(r"{}(?:localhost|127\.0\.0\.1|\[::1\]){PORT}", userinfo(&no));
    format!("^(?:https://{auth}|http://{loopback})(?:[/?][^{no}]*)?$")
}

/// The `path` or `from` of a JSON Patch operation: a JSON Pointer into a field that
/// PATCH may change.
pub fn patch_path(fields: &[&str]) -> String {
    format!("^/(?:{})(?:/(?:[^~/]|~[01])*)*$", fields.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OAUTH_PATCHABLE;
    use serde_json::{Value, json};
    // --- the patterns against the validators they describe -----------------------------

    use crate::clock::parse_timestamp;
    use crate::error::Error;
    use crate::model::{ClientInput, OAuthPatch, forbidden_in_name, parse_urn};
    use crate::wire::oauth::{parse_filters, parse_oauth};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use regex::Regex;

    fn re(p: &str) -> Regex {
        Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    /// The seeds, and many strings made from them by one to three random edits with
    /// characters of `alphabet`, and random strings of it.
    fn corpus(seeds: &[&str], alphabet: &str, n: usize) -> Vec<String> {
        let mut rng = StdRng::seed_from_u64(0x0062_6161_636b);
        let chars: Vec<char> = alphabet.chars().collect();
        let mut out: Vec<String> = seeds.iter().map(|s| s.to_string()).collect();
        for i in 0..n {
            let mut s: Vec<char> = if i % 5 == 4 || seeds.is_empty() {
                (0..rng.random_range(0..24))
                    .map(|_| chars[rng.random_range(0..chars.len())])
                    .collect()
            } else {
                seeds[rng.random_range(0..seeds.len())].chars().collect()
            };
            for _ in 0..rng.random_range(1..=3) {
                let c = chars[rng.random_range(0..chars.len())];
                let at = rng.random_range(0..=s.len());
                match rng.random_range(0..3) {
                    0 => s.insert(at, c),
                    1 if at < s.len() => {
                        s.remove(at);
                    }
                    _ if at < s.len() => s[at] = c,
                    _ => s.push(c),
                }
            }
            out.push(s.into_iter().collect());
        }
        out
    }

    /// Characters that sit on the edges of the classes in the patterns.
    const EDGES: &str = "\u{0}\t\n\u{b}\r\u{1c}\u{1f} \u{7f}\u{80}\u{85}\u{9f}\u{a0}\u{a1}\u{ad}é\u{34f}\u{1680}\u{180e}\u{2000}\u{200b}\u{2028}\u{202e}\u{202f}\u{2066}\u{3000}\u{3164}\u{e000}\u{feff}\u{1f600}\u{e0041}\\";

    #[test]
    fn urn_and_cursor_patterns_are_the_urn_parser() {
        let urn = re(&urn());
        let cursor = re(&cursor());
        let seeds = [
            "00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8",
            "00A3CA73-2AA1-41E6-8D5D-4D586A6F8AF8",
            "00a3ca732aa141e68d5d4d586a6f8af8",
            "{00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8}",
            "urn:uuid:00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8",
        ];
        for s in corpus(&seeds, "0123456789abcdefABCDEFg-{}:\u{0}é ", 4000) {
            let ok = parse_urn(&s).is_some();
            assert_eq!(urn.is_match(&s), ok, "urn {s:?}");
            assert_eq!(cursor.is_match(&s), ok || s.is_empty(), "cursor {s:?}");
        }
    }

    #[test]
    fn the_name_pattern_is_the_client_id_rule() {
        let printable = re(&printable());
        let long = "x".repeat(128);
        let seeds = [
            "Android",
            "a",
            "",
            long.as_str(),
            "tab\there",
            "nel\u{85}",
            " lead",
            "trail ",
            "00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8",
        ];
        let alphabet = format!("ab{EDGES}");
        for s in corpus(&seeds, &alphabet, 4000) {
            let body = json!({"owner": {"urn": "00a3ca73-2aa1-41e6-8d5d-4d586a6f8af8"},
                "scope": "api.baack.co", "clientID": s});
            let server = ClientInput::parse(&body, true).is_ok();
            let n = s.chars().count();
            let doc = printable.is_match(&s) && (1..=128).contains(&n);
            // What the pattern cannot say: the Unicode data, and the URN rule.
            let beyond =
                s.chars().any(|c| forbidden_in_name(c).is_some()) || parse_urn(&s).is_some();
            assert_eq!(doc && !beyond, server, "clientID {s:?}");
        }
    }

    fn oauth_body(field: &str, value: &str) -> Value {
        let mut b = json!({"name": "n", "description": "", "accessTokenValiditySeconds": 60,
            "grantTypes": ["CLIENT_CREDENTIALS"], "accessType": "ONLINE", "enabled": true});
        if field == "redirectUris" {
            b["grantTypes"] = json!(["AUTHORIZATION_CODE"]);
            b[field] = json!([value]);
        } else {
            b[field] = json!(value);
        }
        b
    }

    #[test]
    fn the_oauth_name_pattern_is_the_name_rule() {
        let printable = re(&printable());
        let alphabet = format!("a{EDGES}");
        let long = "x".repeat(129);
        for s in corpus(&[" ", "\u{85}", "\u{feff}", "a", &long], &alphabet, 4000) {
            let server = parse_oauth(&oauth_body("name", &s)).is_ok();
            let n = s.chars().count();
            let doc = printable.is_match(&s) && (1..=128).contains(&n);
            let beyond = s.chars().any(|c| forbidden_in_name(c).is_some());
            assert_eq!(doc && !beyond, server, "name {s:?}");
        }
    }

    #[test]
    fn every_character_the_name_pattern_refuses_the_server_refuses() {
        let printable = re(&printable());
        for c in (0..=0x10ffffu32).filter_map(char::from_u32) {
            let s = format!("a{c}a");
            if !printable.is_match(&s) {
                assert!(forbidden_in_name(c).is_some(), "U+{:04X}", u32::from(c));
            }
        }
    }

    #[test]
    fn the_url_patterns_are_the_url_rules() {
        let homepage = re(&http_url_or_empty());
        let redirect = re(&redirect_uri());
        let seeds = [
            "https://example.com/cb",
            "https://example.com",
            "http://localhost:8080/cb",
            "http://127.0.0.1/cb?x=1",
            "http://[::1]:9/cb",
            "http://localhost",
            "http://evil@localhost/",
            "http://localhost@evil/",
            "http://localhost.evil/",
            "http://127.0.0.1.evil/",
            "http://[::1",
            "https://[::1",
            "https://[fe80::1]x/",
            "https://:80/",
            "https:///x",
            "https://a@b@c/",
            "https://@host/",
            "https://host#frag",
            "https://host/p#frag",
            "https://a://b",
            "HTTPS://host/",
            "ftp://host/",
            "http://example.com/",
            "http://evil.example\\@localhost/",
            "https://ho st/",
            "https://host/\u{85}",
            "https://host/\u{feff}",
            "https://é.example/",
            "//host/",
            "https:/host",
            "http://[::1]evil.example/",
            "http://[::1]:8080/",
            "http://localhost:/",
            "http://localhost:65535/",
            "http://localhost:065536/",
            "http://localhost:x/",
            "https://[x]/",
            "https://[1.2.3.4]/",
            "https://[::ffff:1.2.3.4]/",
            "https://[1:2:3:4:5:6:7:8]/",
            "https://[1:2:3:4:5:6:7::]/",
            "https://[1::2:3:4:5:6:7]/",
            "https://[::1.2.3.04]/",
            "https://[1:2:3:4:5:6:1.2.3.4]/",
            "https://[1:2:3:4:5::1.2.3.4]/",
            "https://[12345::]/",
            "https://a]b/",
            "https://u[@host/",
            "https://host/[x]",
            "",
        ];
        let alphabet = format!("ahtps:/?#@[]:.1lochxf0{EDGES}");
        for s in corpus(&seeds, &alphabet, 6000) {
            let server = parse_oauth(&oauth_body("homepageUrl", &s)).is_ok();
            assert_eq!(homepage.is_match(&s), server, "homepageUrl {s:?}");
            let server = parse_oauth(&oauth_body("redirectUris", &s)).is_ok();
            assert_eq!(redirect.is_match(&s), server, "redirect URI {s:?}");
        }
    }

    /// The contract's shape of a timestamp; the server also takes more (offsets,
    /// one-digit fields).
    const SHAPE: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z?$";

    #[test]
    fn the_ipv6_literal_pattern_is_the_address_parser() {
        let homepage = re(&http_url_or_empty());
        let seeds = [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4::5:6:7",
            "fe80::1",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1::1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "::1.2.3.04",
            "::256.1.1.1",
            "1:::2",
            "12345::",
            "1:2:3:4:5:6:7:8:9",
            ":1::",
            "1.2.3.4",
            "ABCD:ef01::",
        ];
        let mut n = 0;
        for s in corpus(&seeds, "0123456789abcdefABCDEFg:.", 30_000) {
            let url = format!("https://[{s}]/");
            let server = parse_oauth(&oauth_body("homepageUrl", &url)).is_ok();
            assert_eq!(s.parse::<std::net::Ipv6Addr>().is_ok(), server, "{s:?}");
            assert_eq!(homepage.is_match(&url), server, "IPv6 literal {s:?}");
            n += usize::from(server);
        }
        assert!(n > 1000, "only {n} addresses among the cases");
    }

    #[test]
    fn the_timestamp_pattern_is_the_contract_and_the_server_takes_it() {
        let ts = re(&timestamp());
        let shape = re(SHAPE);
        let seeds = [
            "2026-07-04T14:34:19.610",
            "2026-07-04T14:34:19",
            "2026-07-04T14:34:19Z",
            "2026-07-04T14:34:19.123456789Z",
            "2024-02-29T00:00:00",
            "2023-02-29T00:00:00",
            "1900-02-29T00:00:00",
            "2000-02-29T23:59:59",
            "2026-04-31T00:00:00",
            "2026-12-31T24:00:00",
            "0000-01-01T00:00:00",
            "1056-02-29T00:32:07.45106",
            "1969-12-31T23:59:59.999",
            "1969-12-31T23:59:60.5",
            "1970-01-01T00:00:00",
            "1972-02-29T00:00:00",
            "1600-02-29T00:00:00",
            "2400-02-29T00:00:00",
            "9996-02-29T00:00:00",
            "9999-12-31T23:59:59.999999999",
            "9999-12-31T23:59:60",
            "9999-12-30T23:59:60",
            "9999-12-31T23:58:60",
            "10000-01-01T00:00:00",
        ];
        for s in corpus(&seeds, "0123456789-T:.Z+ ", 20_000) {
            let server = parse_timestamp(&s).is_some_and(crate::clock::in_range);
            let doc = ts.is_match(&s);
            if doc {
                assert!(server, "the document allows {s:?}, the server refuses it");
            }
            if shape.is_match(&s) {
                assert_eq!(doc, server, "{s:?}");
            }
        }
    }

    fn service() -> (tempfile::TempDir, crate::service::Service) {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = crate::store::Store::open_or_init(&dir.path().join("s"), "c").unwrap();
        let svc =
            crate::service::Service::new(store, std::sync::Arc::new(crate::clock::SystemClock));
        (dir, svc)
    }

    #[test]
    fn the_filters_pattern_is_the_filter_parser() {
        let (_dir, svc) = service();
        let root = svc.root_caller().unwrap();
        let filters = re(&oauth_filters());
        let shape = re(SHAPE);
        let seeds = [
            "",
            " ",
            "lastUsed isnull",
            "  lastUsed   isnull \t",
            "lastUsed le 2026-07-04T14:34:19.610",
            "lastUsed le 2026-07-04T14:34:19Z",
            "lastUsed\u{85}le\u{3000}2026-07-04T14:34:19",
            "lastUsed le 2026-02-30T14:34:19",
            "lastUsed eq 2026-07-04T14:34:19",
            "lastUsed",
            "name eq x",
            "lastUsed le \"2026-01-01T00:00:00Z\"",
            "lastUsed le \"2026-01-01T00:00:00Z",
            "lastUsed gt 2026-01-01T00:00:00Z and lastUsed lt \"2027-01-01T00:00:00\"",
            "lastUsed ge 2026-01-01T00:00:00 or lastUsed isnull",
            "not lastUsed isnull",
            "not not lastUsed pr and not lastUsed le 2026-01-01T00:00:00Z",
            "lastUsed isnull and",
            "and lastUsed isnull",
            "lastUsed isnull lastUsed pr",
            "not",
            "lastUsed isnull or or lastUsed pr",
        ];
        let alphabet = format!("lastUedinulorpgt \"0123456789-T:.Z{EDGES}");
        for s in corpus(&seeds, &alphabet, 6000) {
            let server = parse_filters(Some(&s))
                .and_then(|f| svc.list_oauth(&root, &f, 0, 1))
                .is_ok();
            let doc = filters.is_match(&s);
            if doc {
                assert!(server, "the document allows {s:?}, the server refuses it");
            }
            // Beyond the contract's timestamps the server is lenient; elsewhere exact.
            let lenient = s.split_whitespace().any(|w| {
                let bare = w
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(w);
                parse_timestamp(bare).is_some() && !shape.is_match(bare)
            });
            if !lenient {
                assert_eq!(doc, server, "filters {s:?}");
            }
        }
    }

    #[test]
    fn the_patch_path_pattern_is_what_patch_may_touch() {
        let (_dir, svc) = service();
        let root = svc.root_caller().unwrap();
        let (client, _) = svc
            .create_oauth(
                &root,
                parse_oauth(&oauth_body("businessName", "b")).unwrap(),
            )
            .unwrap();
        let path = re(&patch_path(&OAUTH_PATCHABLE));
        let mut seeds: Vec<String> = OAUTH_PATCHABLE.iter().map(|f| format!("/{f}")).collect();
        seeds.extend(
            [
                "",
                "/",
                "name",
                "/type",
                "/id",
                "/secret",
                "/scope",
                "/redirectUris/0",
                "/redirectUris/-",
                "/name/x",
                "/namex",
                "/businessName~1",
                "/businessName/~2",
                "/businessName/~0",
                "//name",
            ]
            .map(String::from),
        );
        let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
        for s in corpus(&seeds, "/~012nameNbusis-", 300) {
            // A test that always fails when it applies: only the path decides the answer.
            let patch = json!([{"op": "test", "path": s, "value": {"never": "equal"}}]);
            let refused = matches!(
                OAuthPatch::try_from(&patch).and_then(|p| svc.patch_oauth(&root, &client.id, &p)),
                Err(Error::IllegalUpdate(_) | Error::BadRequest(_))
            );
            assert_eq!(path.is_match(&s), !refused, "path {s:?}");
        }
    }
}
