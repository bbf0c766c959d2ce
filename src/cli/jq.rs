//! `--jq EXPR`: a jq filter over a command's JSON output, run by the embedded jaq
//! interpreter (jaq-core with jaq-std's and jaq-json's definitions), so no `jq` binary is
//! needed. As `gh --jq` does, string results print raw and others as compact JSON, one
//! per line.

use baack::Error;
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;

/// The filter compiled, or why not: the message names the place that is wrong.
fn compile(
    code: &str,
    arena: &Arena,
) -> Result<jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>, String> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let modules = loader
        .load(arena, File { code, path: () })
        .map_err(|errs| {
            let why: Vec<String> = errs
                .into_iter()
                .flat_map(|(_, e)| match e {
                    jaq_core::load::Error::Io(v) => {
                        v.into_iter().map(|(p, m)| format!("{p}: {m}")).collect()
                    }
                    jaq_core::load::Error::Lex(v) => v
                        .into_iter()
                        .map(|(exp, at)| format!("expected {} at `{}`", exp.as_str(), snippet(at)))
                        .collect(),
                    jaq_core::load::Error::Parse(v) => v
                        .into_iter()
                        .map(|(exp, at)| format!("expected {} at `{}`", exp.as_str(), snippet(at)))
                        .collect::<Vec<_>>(),
                })
                .collect();
            why.join("; ")
        })?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errs| {
            errs.into_iter()
                .flat_map(|(_, v)| v.into_iter().map(|(name, _)| format!("undefined `{name}`")))
                .collect::<Vec<_>>()
                .join("; ")
        })
}

/// The start of the text where parsing stopped, enough to find the place.
fn snippet(at: &str) -> &str {
    match at.char_indices().nth(20) {
        Some((i, _)) => &at[..i],
        None if at.is_empty() => "the end",
        None => at,
    }
}

/// Checks that `s` is a jq filter, for the flag's value parser (a usage error, exit 2,
/// before any request).
pub fn parse(s: &str) -> Result<String, String> {
    let arena = Arena::default();
    compile(s, &arena).map_err(|why| format!("`{s}` is not a jq filter: {why}"))?;
    Ok(s.to_string())
}

/// Runs `code` over the JSON document `doc`: each result on a line, strings raw.
pub fn run(code: &str, doc: &[u8]) -> Result<String, Error> {
    let arena = Arena::default();
    let filter = compile(code, &arena)
        .map_err(|why| Error::Usage(format!("`{code}` is not a jq filter: {why}")))?;
    let input = jaq_json::read::parse_single(doc)
        .map_err(|e| Error::Internal(format!("cannot read the JSON output back: {e}")))?;
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut out = String::new();
    for r in filter.id.run((ctx, input)).map(unwrap_valr) {
        let v = r.map_err(|e| Error::Usage(format!("--jq `{code}`: {e}")))?;
        match &v {
            Val::TStr(s) => out.push_str(&String::from_utf8_lossy(s)),
            other => out.push_str(&other.to_string()),
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_print_raw_and_the_rest_as_json() {
        let doc = br#"[{"urn":"u-1","n":1},{"urn":"u-2","n":[2]}]"#;
        assert_eq!(run(".[].urn", doc).unwrap(), "u-1\nu-2\n");
        assert_eq!(run(".[1].n", doc).unwrap(), "[2]\n");
        assert_eq!(run("map(.n) | length", doc).unwrap(), "2\n");
        assert_eq!(run("empty", doc).unwrap(), "");
    }

    #[test]
    fn a_bad_filter_is_refused_with_the_place() {
        let e = parse(".[] |").unwrap_err();
        assert!(e.contains("is not a jq filter"), "{e}");
        let e = parse("nosuchfn").unwrap_err();
        assert!(e.contains("undefined `nosuchfn`"), "{e}");
        assert!(parse(".a | select(.b == 1)").is_ok());
    }
}
