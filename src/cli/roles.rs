//! `baack role …`: permission roles, and granting them to clients. A grant is a
//! read-modify-write of the role; it sends `If-Match` with the role's `ETag` and starts
//! over on 412, so concurrent grants never lose each other's change.

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
};

/// Finds one role by URN or name.
pub fn resolve(ctx: &Ctx, reference: &str) -> Result<Value, Error> {
    ctx.resolve(&ROLES, reference)
}

/// How many times a grant starts over after a concurrent change.
const GRANT_ATTEMPTS: usize = 20;

/// Changes a role's client list with `edit`, safely against concurrent writers.
fn edit_clients(
    ctx: &Ctx,
    role_urn: &str,
    edit: impl Fn(&mut Vec<String>),
) -> Result<Value, Error> {
    let path = item_path(ROLES.prefix, role_urn);
    let mut last = None;
    for _ in 0..GRANT_ATTEMPTS {
        let cur = ctx.client.send(&Call::new(Method::GET, &path))?;
        let mut clients: Vec<String> = cur.body["clients"]
            .as_array()
            .map(|a| a.iter().map(urn_of).collect())
            .unwrap_or_default();
        edit(&mut clients);
        let mut body = cur.body.clone();
        body["clients"] = clients.iter().map(|u| json!({ "urn": u })).collect();
        let mut call = Call::new(Method::PUT, &path).body(body);
        if let Some(tag) = cur.header("etag") {
            call = call.header(header::IF_MATCH, tag);
        }
        match ctx.client.send(&call) {
            Ok(r) => return Ok(r.body),
            Err(e) if e.kind() == ErrorKind::Conflict => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::Internal("the role kept changing".into())))
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
                    Ok(ctx
                        .client
                        .send(&Call::new(Method::POST, "/n/v1/permissionrole/").body(body))?
                        .body)
                },
            )
        }
        RoleCmd::List => {
            let items = ctx
                .client
                .list_all("/n/v1/permissionrole/?limit=1000", "permissionRoles")?;
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
            show(ctx, &v)
        }
        RoleCmd::Revoke { reference, clients } => {
            let role = resolve(ctx, &reference)?;
            let remove = client_urns(ctx, &clients)?;
            let v = edit_clients(ctx, &urn_of(&role), |list| {
                list.retain(|u| !remove.contains(u));
            })?;
            show(ctx, &v)
        }
        RoleCmd::Delete { reference, d } => d.run(
            &ctx.out,
            || resolve(ctx, &reference),
            |role| format!("permission role `{reference}` ({})", urn_of(role)),
            |role| {
                let urn = urn_of(&role);
                let r = ctx
                    .client
                    .send(&Call::new(Method::DELETE, item_path(ROLES.prefix, &urn)))?;
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
