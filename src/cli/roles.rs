//! `baack role …`: permission roles, and granting them to clients. A grant is a
//! read-modify-write of the role; where the server sends an `ETag` it sends `If-Match`
//! and starts over on 412, so concurrent grants never lose each other's change.

use baack::Error;
use baack::client::Call;
use baack::error::ErrorKind;
use clap::{Subcommand, ValueEnum};
use http::{Method, header};
use serde_json::{Value, json};

use super::clients::{resolve as resolve_client, urn_of};
use super::output::{Failure, Kind};
use super::{CreateOnce, Ctx, DeleteArgs, Named, complete, item_path};

/// A permission label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PermissionArg {
    /// Every management verb
    Administer,
    /// Every management GET
    Read,
    /// Content consumption only: no management endpoint
    ViewContent,
}

impl PermissionArg {
    fn label(self) -> &'static str {
        match self {
            PermissionArg::Administer => "ADMINISTER",
            PermissionArg::Read => "READ",
            PermissionArg::ViewContent => "VIEW_CONTENT",
        }
    }
}

/// The role commands.
#[derive(Debug, Subcommand)]
pub enum RoleCmd {
    /// Create a permission role
    Create {
        /// Its name, unique within the company
        #[arg(long)]
        name: String,
        /// A permission it grants (repeatable)
        #[arg(
            long = "permission",
            value_name = "LABEL",
            value_enum,
            ignore_case = true
        )]
        permissions: Vec<PermissionArg>,
        /// If a role of this name exists with these permissions, print it and exit 0
        /// (other permissions are a conflict, exit 8)
        #[arg(long)]
        if_not_exists: bool,
    },
    /// List permission roles
    List,
    /// Show one permission role
    Get {
        /// The role's URN or name
        #[arg(value_name = "REF", add = complete::roles())]
        reference: String,
    },
    /// Grant a role to clients
    ///
    /// Adds the clients to the role (those already in it stay once). The change is made
    /// with If-Match on the role's ETag and retried when another writer got there first.
    Grant {
        /// The role's URN or name
        #[arg(value_name = "REF", add = complete::roles())]
        reference: String,
        /// A client to grant it to: URN or clientID (repeatable)
        #[arg(long = "client", value_name = "REF", required = true, add = complete::clients())]
        clients: Vec<String>,
    },
    /// Take a role away from clients
    ///
    /// Removes the clients from the role; their other roles stay. Their tokens lose the
    /// role's permissions from the next request on.
    Revoke {
        /// The role's URN or name
        #[arg(value_name = "REF", add = complete::roles())]
        reference: String,
        /// A client to take it from: URN or clientID (repeatable)
        #[arg(long = "client", value_name = "REF", required = true, add = complete::clients())]
        clients: Vec<String>,
    },
    /// Delete a permission role
    Delete {
        /// The role's URN or name
        #[arg(value_name = "REF", add = complete::roles())]
        reference: String,
        #[command(flatten)]
        d: DeleteArgs,
    },
}

/// Permission roles, named by `name`.
const ROLES: Named = Named {
    prefix: "/n/v1/permissionrole/",
    list_key: "permissionRoles",
    name_field: "name",
    what: "permission role",
    list_cmd: "baack role list",
    short: "role",
};

/// Finds one role by URN or name.
pub fn resolve(ctx: &Ctx, reference: &str) -> Result<Value, Error> {
    ctx.resolve(&ROLES, reference)
}

/// How many times a grant starts over after a concurrent change.
const GRANT_ATTEMPTS: usize = 20;

/// The URNs of a role's clients.
fn clients_of(role: &Value) -> Vec<String> {
    role["clients"]
        .as_array()
        .map(|a| a.iter().map(urn_of).collect())
        .unwrap_or_default()
}

/// Changes a role's client list with `edit`, safely against concurrent writers where the
/// server allows: with the role's `ETag` in `If-Match`, starting over on 412. A server
/// without `ETag` (Baack's own documentation has none) cannot refuse a PUT over a change
/// made since the read; `-v` says so. A change that changes nothing is not sent, and one
/// that is sent is read back to confirm it took; `false` when nothing needed changing.
fn edit_clients(
    ctx: &Ctx,
    role_urn: &str,
    edit: impl Fn(&mut Vec<String>),
) -> Result<(Value, bool), Error> {
    let path = item_path(ROLES.prefix, role_urn);
    let mut last = None;
    let gone = |e| super::not_found("permission role", role_urn, e);
    for _ in 0..GRANT_ATTEMPTS {
        let cur = ctx
            .client
            .send(&Call::new(Method::GET, &path))
            .map_err(gone)?;
        let before = clients_of(&cur.body);
        let mut clients = before.clone();
        edit(&mut clients);
        if clients == before {
            return Ok((cur.body, false));
        }
        let mut body = cur.body.clone();
        body["clients"] = clients.iter().map(|u| json!({ "urn": u })).collect();
        let mut call = Call::new(Method::PUT, &path).body(body);
        match cur.header("etag") {
            Some(tag) => call = call.header(header::IF_MATCH, tag),
            None => tracing::debug!(
                target: "baack::client",
                "the server sent no ETag for role {role_urn}: this change cannot use If-Match, so concurrent grants are not protected (a change made by another writer between this read and the PUT is lost)"
            ),
        }
        match ctx.client.send(&call) {
            Ok(_) => {
                let after = ctx.client.send(&Call::new(Method::GET, &path))?.body;
                let now = clients_of(&after);
                let mut again = now.clone();
                edit(&mut again);
                if again != now {
                    return Err(Error::Answer(format!(
                        "the server accepted the change to permission role {role_urn}, but reading it back shows its clients as {}: the change did not take (or another writer undid it); check with `baack role get {role_urn}` and try again",
                        if now.is_empty() {
                            "none".to_string()
                        } else {
                            now.join(", ")
                        }
                    )));
                }
                return Ok((after, true));
            }
            Err(e) if e.kind() == ErrorKind::Conflict => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::Internal("the role kept changing".into())))
}

/// Prints a role after a grant or revoke, saying on stderr when nothing changed.
fn print_edited(ctx: &Ctx, (role, changed): (Value, bool), already: &str) -> Result<(), Failure> {
    show(ctx, &role)?;
    if !changed {
        ctx.out.note(&format!(
            "permission role {} {already}; nothing changed",
            urn_of(&role)
        ));
    }
    Ok(())
}

fn client_urns(ctx: &Ctx, refs: &[String]) -> Result<Vec<String>, Error> {
    refs.iter()
        .map(|r| resolve_client(ctx, r).map(|c| urn_of(&c)))
        .collect()
}

/// Shows one role, its clients (one client list, when it has clients) and owner company
/// by name.
fn show(ctx: &Ctx, role: &Value) -> Result<(), Failure> {
    let has_clients = role["clients"].as_array().is_some_and(|a| !a.is_empty());
    let mut names = if has_clients {
        ctx.client_names()
    } else {
        Default::default()
    };
    names.extend(ctx.owner_name(role));
    ctx.out.item_named(Kind::Role, role, &names)
}

/// Runs a role command.
pub fn run(ctx: &Ctx, cmd: RoleCmd) -> Result<(), Failure> {
    match cmd {
        RoleCmd::Create {
            name,
            permissions,
            if_not_exists,
        } => {
            let mut labels: Vec<&str> = permissions.iter().map(|p| p.label()).collect();
            labels.dedup();
            let mut want = labels.clone();
            want.sort_unstable();
            want.dedup();
            let differs = |x: &Value| {
                let mut has: Vec<&str> = x["permissions"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                has.sort_unstable();
                has.dedup();
                let show = |l: &[&str]| match l {
                    [] => "none".to_string(),
                    l => l.join(", "),
                };
                (has != want)
                    .then(|| format!("its permissions are {}, not {}", show(&has), show(&want)))
            };
            let once = CreateOnce {
                kind: &ROLES,
                name: &name,
                if_not_exists,
                differs: &differs,
                fix: "delete it first or choose another name".into(),
            };
            ctx.create_once(
                &once,
                |v| show(ctx, v),
                || {
                    let owner = ctx.owner()?;
                    let body = json!({
                        "name": name,
                        "owner": { "urn": owner },
                        "identities": [],
                        "clients": [],
                        "permissions": labels,
                    });
                    let got = ctx
                        .client
                        .send(&Call::new(Method::POST, "/n/v1/permissionrole/").body(body.clone()))?
                        .body;
                    let done = format!("permission role `{name}` ({}) was created", urn_of(&got));
                    ctx.kept(&done, &body, &got)?;
                    Ok(got)
                },
            )
        }
        RoleCmd::List => {
            let items = ctx.list_all(
                "/n/v1/permissionrole/?limit=1000",
                "permissionRoles",
                "role",
            )?;
            let names = if items.is_empty() {
                Default::default()
            } else {
                ctx.client_names()
            };
            ctx.out.list_named(Kind::Role, &items, &names)
        }
        RoleCmd::Get { reference } => show(ctx, &resolve(ctx, &reference)?),
        RoleCmd::Grant { reference, clients } => {
            let role = resolve(ctx, &reference)?;
            let add = client_urns(ctx, &clients)?;
            let v = edit_clients(ctx, &urn_of(&role), |list| {
                for u in &add {
                    if !list.contains(u) {
                        list.push(u.clone());
                    }
                }
            })?;
            print_edited(ctx, v, "is granted to those clients already")
        }
        RoleCmd::Revoke { reference, clients } => {
            let role = resolve(ctx, &reference)?;
            let remove = client_urns(ctx, &clients)?;
            let v = edit_clients(ctx, &urn_of(&role), |list| {
                list.retain(|u| !remove.contains(u));
            })?;
            print_edited(ctx, v, "is granted to none of those clients")
        }
        RoleCmd::Delete { reference, d } => d.run(
            &ctx.out,
            || resolve(ctx, &reference),
            |role| format!("permission role `{reference}` ({})", urn_of(role)),
            |role| {
                let urn = urn_of(&role);
                let r = ctx
                    .client
                    .send(&Call::new(Method::DELETE, item_path(ROLES.prefix, &urn)))
                    .map_err(|e| super::not_found("permission role", &urn, e))?;
                ctx.forget(&ROLES, &urn);
                ctx.out.deleted("permission role", &urn, &r.body)
            },
        ),
    }
}

/// The flag that sets each API field, per command, for invalid-input messages.
pub fn flags(cmd: &RoleCmd) -> super::FlagMap {
    match cmd {
        RoleCmd::Create { .. } => &[("name", "--name"), ("permissions", "--permission")],
        RoleCmd::Grant { .. } | RoleCmd::Revoke { .. } => &[("clients", "--client")],
        _ => &[],
    }
}
