//! `baack plan`, `apply` and `export`: access as code. The plan is printed object by
//! object and field by field (`+`, `~`, `-`, coloured on a terminal), never with a
//! secret; `plan` exits 0 with nothing to do, 2 with changes and 1 on any error, as
//! `terraform plan -detailed-exitcode` does. `apply` shows progress (a bar on a
//! terminal), asks before deleting anything, and reports what was and was not done.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use baack::Error;
use baack::access::apply::{Apply, Step, line};
use baack::access::manifest::{self, Desired};
use baack::access::plan::{Action, Change, Plan, Snapshot};
use baack::access::state::State;
use serde_json::{Value, json};

use super::Ctx;
use super::output::Failure;

/// How many retries a request of these commands gets (a rate limit slows them, it must
/// not stop them).
const RETRIES: u32 = 8;

/// The manifest and state flags of `plan` and `apply`.
#[derive(Debug, clap::Args)]
pub struct ManifestArgs {
    /// The manifest (YAML or JSON; - for stdin)
    #[arg(short = 'f', long = "file", value_name = "FILE|-", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
    /// The state file: what this manifest owns, names and ids only [default: beside the
    /// manifest, FILE's name with .state.json]
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub state: Option<PathBuf>,
    /// Also delete what this manifest's state owns and the manifest no longer names
    #[arg(long)]
    pub prune: bool,
}

/// `baack apply`'s own flags.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub m: ManifestArgs,
    /// Delete without asking (with --prune; needed when there is no terminal to ask on)
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// `baack export`'s flags.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Write the manifest to this new file instead of stdout
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub file: Option<PathBuf>,
}

/// The manifest, read and resolved.
fn read_manifest(file: &Path) -> Result<Desired, Error> {
    let (text, name, base) = if file == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .take(manifest::MAX_BYTES as u64 + 1)
            .read_to_string(&mut s)
            .map_err(|e| Error::Usage(format!("cannot read the manifest from stdin: {e}")))?;
        let cwd = std::env::current_dir()
            .map_err(|e| Error::Usage(format!("cannot tell the current directory: {e}")))?;
        (s, "-".to_string(), cwd)
    } else {
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::Usage(format!("cannot read the manifest {}: {e}", file.display()))
        })?;
        let base = match file.parent() {
            Some(p) => p.to_path_buf(),
            None => PathBuf::new(),
        };
        (text, file.display().to_string(), base)
    };
    manifest::parse(&text, &name, &base)
}

/// Where the state is: `--state`, else beside the manifest; none for stdin (a plan then
/// owns nothing; an apply must be told).
fn state_path(m: &ManifestArgs) -> Option<PathBuf> {
    if let Some(s) = &m.state {
        return Some(s.clone());
    }
    if m.file == Path::new("-") {
        return None;
    }
    let stem = m
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "manifest".into());
    Some(m.file.with_file_name(format!("{stem}.state.json")))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Reads what exists and works out the plan.
fn work_out(ctx: &Ctx, m: &ManifestArgs) -> Result<(Desired, State, Snapshot, Plan), Error> {
    let desired = read_manifest(&m.file)?;
    let state = match state_path(m) {
        Some(p) => State::load(&p)?,
        None => State::default(),
    };
    let client = ctx.client.clone().per_request(RETRIES);
    let wanted: Vec<&str> = desired.tokens.iter().map(|t| t.client.as_str()).collect();
    let snap = Snapshot::read(&client, &wanted, ctx.token_urn.clone())?;
    let plan = baack::access::plan::plan(&desired, &snap, &state, now_ms(), m.prune)?;
    Ok((desired, state, snap, plan))
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

/// The plan for people.
fn render(plan: &Plan, color: bool) -> String {
    let paint = |c: &Change, s: String| -> String {
        if !color {
            return s;
        }
        let code = match c.action {
            Action::Create => "32",
            Action::Update | Action::Rotate => "33",
            Action::Delete => "31",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    };
    let mut out = String::new();
    for c in &plan.changes {
        let mut head = line(c);
        if c.action == Action::Rotate {
            head.push_str(" (rotate)");
        }
        if let Some(id) = &c.id
            && c.action != Action::Rotate
        {
            head.push_str(&format!(" ({id})"));
        }
        out.push_str(&paint(c, head));
        out.push('\n');
        for f in &c.fields {
            match c.action {
                Action::Create => out.push_str(&format!("    {}: {}\n", f.field, show(&f.after))),
                _ => out.push_str(&format!(
                    "    {}: {} -> {}\n",
                    f.field,
                    show(&f.before),
                    show(&f.after)
                )),
            }
        }
        if let Some(n) = &c.note {
            out.push_str(&format!("    ({n})\n"));
        }
    }
    out.push_str(&summary(plan));
    out.push('\n');
    out
}

fn summary(plan: &Plan) -> String {
    if plan.changes.is_empty() {
        return "No changes: what exists matches the manifest.".into();
    }
    format!(
        "Plan: {} to create, {} to change, {} to rotate, {} to delete.",
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Rotate),
        plan.count(Action::Delete)
    )
}

fn as_json(plan: &Plan) -> Value {
    let mut v = serde_json::to_value(plan).unwrap_or(Value::Null);
    v["summary"] = json!({
        "create": plan.count(Action::Create),
        "update": plan.count(Action::Update),
        "rotate": plan.count(Action::Rotate),
        "delete": plan.count(Action::Delete),
    });
    v
}

/// Notes, on stderr, what the plan leaves and why.
fn notes(ctx: &Ctx, plan: &Plan, prune: bool) {
    if !plan.adopt.is_empty() {
        ctx.out.note(&format!(
            "{} object(s) exist already under the manifest's names; apply records them as managed (nothing about them changes but what the plan shows)",
            plan.adopt.len()
        ));
    }
    if !plan.unmanaged.is_empty() {
        let list: Vec<String> = plan
            .unmanaged
            .iter()
            .map(|a| format!("{} {}", a.kind.noun(), a.name))
            .collect();
        ctx.out.note(&if prune {
            format!(
                "kept, though the manifest no longer names them: {} (the credential this command uses is never deleted)",
                list.join(", ")
            )
        } else {
            format!(
                "the manifest no longer names {}: `--prune` deletes them",
                list.join(", ")
            )
        });
    }
}

/// `baack plan -f FILE`.
pub fn plan(ctx: &Ctx, m: ManifestArgs) -> Result<(), Failure> {
    let (_, _, _, plan) = work_out(ctx, &m)?;
    if ctx.out.machine() {
        ctx.out.json(&as_json(&plan))?;
    } else if !ctx.out.quiet() {
        ctx.out.value(render(&plan, ctx.out.color()).trim_end())?;
        notes(ctx, &plan, m.prune);
    }
    if plan.changes.is_empty() {
        Ok(())
    } else {
        Err(Failure::Exit(2))
    }
}

/// Asks on the terminal before deleting; refuses without one unless `--yes`.
fn confirm_deletions(plan: &Plan, yes: bool) -> Result<(), Error> {
    let deletes: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| {
            format!(
                "  {} {} ({})",
                c.kind.noun(),
                c.name,
                c.id.as_deref().unwrap_or("?")
            )
        })
        .collect();
    if deletes.is_empty() || yes {
        return Ok(());
    }
    let list = deletes.join("\n");
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(Error::Usage(format!(
            "--prune would delete {} object(s) this manifest's state owns:\n{list}\nnothing was changed; pass --yes to confirm",
            deletes.len()
        )));
    }
    let mut e = std::io::stderr().lock();
    let _ = write!(
        e,
        "apply will delete:\n{list}\nDelete these {}? [y/N] ",
        deletes.len()
    );
    let _ = e.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES") {
        Ok(())
    } else {
        Err(Error::Usage(
            "nothing was changed: the deletions were not confirmed".into(),
        ))
    }
}

/// Takes `STATE.lock` for the whole apply, so two applies of one state (two CI jobs)
/// cannot both make what neither has recorded yet. As `terraform apply` does by default,
/// a held lock fails at once rather than queueing.
fn lock_state(state: &Path) -> Result<std::fs::File, Error> {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            Error::Usage(format!(
                "cannot open the state's lock {}: {e}",
                path.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Conflict(format!(
            "another `baack apply` holds the state {} (its lock {}): wait for it to finish, then run this one, which will plan from what it did",
            state.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::Usage(format!("cannot lock {}: {e}", path.display())))
        }
    }
}

/// `baack apply -f FILE`.
pub fn apply(ctx: &Ctx, a: ApplyArgs) -> Result<(), Failure> {
    let Some(state_file) = state_path(&a.m) else {
        return Err(Error::Usage(
            "a manifest on stdin has no place for its state: give --state PATH (names and ids only, no secrets; keep it with the manifest)".into(),
        )
        .into());
    };
    let _lock = lock_state(&state_file)?;
    let (desired, state, snap, plan) = work_out(ctx, &a.m)?;
    let human = !ctx.out.machine() && !ctx.out.quiet();
    if human {
        ctx.out.value(render(&plan, ctx.out.color()).trim_end())?;
        notes(ctx, &plan, a.m.prune);
    }
    confirm_deletions(&plan, a.yes)?;
    let makes = plan.changes.iter().any(|c| {
        c.action == Action::Create
            && matches!(
                c.kind,
                baack::access::state::Kind::Client | baack::access::state::Kind::Role
            )
    });
    let owner = if makes { Some(ctx.owner()?) } else { None };
    let client = ctx.client.clone().per_request(RETRIES);
    let client_urns = snap
        .clients
        .iter()
        .map(|(id, c)| (id.clone(), c.urn.clone()))
        .collect();
    drop(snap);
    let total = plan.changes.len();
    let bar = (human && total > 5 && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(total as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let quiet = !human;
    let progress = |s: &Step<'_>| match &bar {
        Some(b) => {
            b.set_message(line(s.change));
            b.inc(1);
        }
        None if quiet => {}
        None if s.total <= 100 || s.done * 10 / s.total != (s.done - 1) * 10 / s.total => {
            eprintln!("[{}/{}] {}", s.done, s.total, line(s.change));
        }
        None => {}
    };
    let run = Apply {
        client: &client,
        desired: &desired,
        state_path: &state_file,
        owner,
        now: now_ms(),
    };
    let report = run.run(&plan, state, client_urns, &progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let counts = |action: Action| {
        plan.changes
            .iter()
            .filter(|c| c.action == action && report.done.contains(&line(c)))
            .count()
    };
    let done_line = format!(
        "{} created, {} changed, {} rotated, {} deleted",
        counts(Action::Create),
        counts(Action::Update),
        counts(Action::Rotate),
        counts(Action::Delete)
    );
    if ctx.out.machine() {
        ctx.out.json(&json!({
            "done": report.done,
            "failed": report.failed.as_ref().map(|(l, e)| json!({ "change": l, "error": e.to_string() })),
            "notDone": report.not_done,
            "state": state_file.display().to_string(),
        }))?;
    }
    match report.failed {
        None => {
            if human {
                ctx.out.value(&format!("Apply complete: {done_line}."))?;
            }
            Ok(())
        }
        Some((what, e)) => {
            let mut msg = format!("apply stopped at `{what}`: {e}\n  done: {done_line}");
            if !report.not_done.is_empty() {
                let shown: Vec<&String> = report.not_done.iter().take(20).collect();
                msg.push_str(&format!(
                    "\n  not done ({}): {}{}",
                    report.not_done.len(),
                    shown
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if report.not_done.len() > 20 {
                        ", …"
                    } else {
                        ""
                    }
                ));
            }
            msg.push_str("\n  run the same apply again once the cause is fixed: it picks up where this one stopped");
            Err(Error::Embedded {
                kind: e.kind(),
                message: msg,
            }
            .into())
        }
    }
}

/// `baack export`.
pub fn export(ctx: &Ctx, a: ExportArgs) -> Result<(), Failure> {
    let client = ctx.client.clone().per_request(RETRIES);
    let snap = Snapshot::read(&client, &[], ctx.token_urn.clone())?;
    let warnings = match &a.file {
        Some(p) => {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(p)
                .map_err(|e| {
                    Error::Usage(format!(
                        "cannot make {}: {e} (export never overwrites a file)",
                        p.display()
                    ))
                })?;
            let mut w = std::io::BufWriter::new(f);
            let warnings = baack::access::export::export(&snap, &mut w)?;
            ctx.out.note(&format!(
                "wrote {} clients, {} roles and {} OAuth clients to {}",
                snap.clients.len(),
                snap.roles.len(),
                snap.oauth.len(),
                p.display()
            ));
            warnings
        }
        None => {
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            baack::access::export::export(&snap, &mut w).map_err(|e| {
                if e.to_string().contains("Broken pipe") {
                    Failure::BrokenPipe
                } else {
                    e.into()
                }
            })?
        }
    };
    for w in warnings {
        ctx.out.warn(&w);
    }
    Ok(())
}
