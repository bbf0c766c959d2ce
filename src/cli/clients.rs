//! `baack client …`: API clients.

use baack::Error;
use baack::client::Call;
use baack::model::Scope;
use clap::{Args, Subcommand};
use http::Method;
use serde_json::{Value, json};

use super::output::{Failure, Kind};
use super::{CreateOnce, Ctx, DeleteArgs, Named, complete, enc, item_path};

/// The API client commands.
#[derive(Debug, Subcommand)]
pub enum ClientCmd {
    /// Create an API client
    ///
    /// The owner is the profile's company (or the current token's). A new client has no
    /// permissions: grant it a role (`baack role grant`) and give it a token (`baack token
    /// create`).
    Create {
        /// Its name, unique within the company (1 to 128 printable characters)
        #[arg(long, value_name = "ID")]
        client_id: String,
        /// What its tokens may do
        #[arg(long, default_value = "api.baack.co", value_parser = Scope::ALL)]
        scope: String,
        /// If a client of this clientID exists with this scope, print it and exit 0 (a
        /// different scope is a conflict, exit 8)
        #[arg(long)]
        if_not_exists: bool,
    },
    /// List API clients
    List {
        /// Only the client with this clientID
        #[arg(long, value_name = "ID", add = complete::clients())]
        client_id: Option<String>,
        /// Only clients none of whose tokens was used for this long (never used: since
        /// they were made)
        #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
        unused_for: Option<std::time::Duration>,
        /// Only clients used within this long
        #[arg(long, value_name = "DURATION", value_parser = super::parse_duration)]
        used_within: Option<std::time::Duration>,
    },
    /// Show one API client
    Get(RefArg),
    /// Change an API client's clientID or scope
    Update {
        #[command(flatten)]
        r: RefArg,
        /// The new clientID
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// The new scope
        #[arg(long, value_parser = Scope::ALL)]
        scope: Option<String>,
    },
    /// Delete an API client, its tokens and its role memberships
    ///
    /// Its tokens stop working at once and it leaves every role; OAuth clients it created
    /// stay. The root client cannot be deleted. On a terminal it asks first; elsewhere it
    /// needs --yes.
    Delete {
        #[command(flatten)]
        r: RefArg,
        #[command(flatten)]
        d: DeleteArgs,
    },
}

/// A client reference.
#[derive(Debug, Args)]
pub struct RefArg {
    /// The client's URN or clientID
    #[arg(value_name = "REF", add = complete::clients())]
    pub reference: String,
}

/// API clients, named by `clientID`.
pub const CLIENTS: Named = Named {
    prefix: "/n/v1/apiclient/",
    list_key: "apiClients",
    name_field: "clientID",
    what: "API client",
    list_cmd: "baack client list",
    short: "client",
};

/// Finds one API client by URN or clientID.
pub fn resolve(ctx: &Ctx, reference: &str) -> Result<Value, Error> {
    ctx.resolve(&CLIENTS, reference)
}

/// The URN of a resolved object.
pub fn urn_of(v: &Value) -> String {
    v.get("urn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Shows one API client, its owner company by name.
fn show(ctx: &Ctx, client: &Value) -> Result<(), Failure> {
    ctx.out
        .item_named(Kind::Client, client, &ctx.owner_name(client))
}

/// Runs a client command.
pub fn run(ctx: &Ctx, cmd: ClientCmd) -> Result<(), Failure> {
    match cmd {
        ClientCmd::Create {
            client_id,
            scope,
            if_not_exists,
        } => {
            let differs = |x: &Value| {
                let has = x.get("scope").and_then(Value::as_str).unwrap_or("");
                (has != scope).then(|| format!("its scope is {has}, not {scope}"))
            };
            let once = CreateOnce {
                kind: &CLIENTS,
                name: &client_id,
                if_not_exists,
                differs: &differs,
                fix: format!(
                    "change it with `baack client update {client_id} --scope {scope}`, or choose another clientID"
                ),
            };
            ctx.create_once(
                &once,
                |v| show(ctx, v),
                || {
                    let owner = ctx.owner()?;
                    let body =
                        json!({ "owner": { "urn": owner }, "scope": scope, "clientID": client_id });
                    let got = ctx
                        .client
                        .send(&Call::new(Method::POST, "/n/v1/apiclient/").body(body.clone()))?
                        .body;
                    let done = format!("API client `{client_id}` ({}) was created", urn_of(&got));
                    ctx.kept(&done, &body, &got)?;
                    Ok(got)
                },
            )
        }
        ClientCmd::List {
            client_id,
            unused_for,
            used_within,
        } => {
            let mut path = match &client_id {
                Some(id) => format!("/n/v1/apiclient/?clientID={}", enc(id)),
                None => "/n/v1/apiclient/?limit=1000".into(),
            };
            path.push_str(&super::tokens::use_filters(unused_for, used_within));
            let items = ctx.list_all(&path, "apiClients", "client")?;
            if unused_for.is_some() || used_within.is_some() {
                super::tokens::reports_last_use(&items, "clients", "--unused-for/--used-within")?;
            }
            ctx.out.list(Kind::Client, &items)
        }
        ClientCmd::Get(r) => show(ctx, &resolve(ctx, &r.reference)?),
        ClientCmd::Update {
            r,
            client_id,
            scope,
        } => {
            if client_id.is_none() && scope.is_none() {
                return Err(Error::Usage(
                    "nothing to change: pass --client-id and/or --scope".into(),
                )
                .into());
            }
            let cur = resolve(ctx, &r.reference)?;
            let mut body = cur.clone();
            if let Some(id) = &client_id {
                body["clientID"] = id.clone().into();
            }
            if let Some(s) = &scope {
                body["scope"] = s.clone().into();
            }
            let urn = urn_of(&cur);
            let mut changed = json!({});
            if let Some(id) = &client_id {
                changed["clientID"] = id.clone().into();
            }
            if let Some(s) = &scope {
                changed["scope"] = s.clone().into();
            }
            let sent = ctx
                .client
                .send(&Call::new(Method::PUT, item_path(CLIENTS.prefix, &urn)).body(body));
            let r = match (sent, &client_id) {
                // A rename onto a taken clientID is a conflict (exit 8), as a create is.
                (Err(e), Some(id)) if e.kind() == baack::ErrorKind::Invalid => {
                    match ctx.find_named(&CLIENTS, id)? {
                        Some(other) if urn_of(&other) != urn => {
                            return Err(Error::Conflict(format!(
                                "API client `{id}` ({}) exists already; choose another clientID",
                                urn_of(&other)
                            ))
                            .into());
                        }
                        _ => return Err(e.into()),
                    }
                }
                (sent, _) => sent.map_err(|e| super::not_found("API client", &urn, e))?,
            };
            ctx.kept(&format!("API client {urn} was changed"), &changed, &r.body)?;
            ctx.remember(&CLIENTS, &r.body);
            show(ctx, &r.body)
        }
        ClientCmd::Delete { r, d } => d.run(
            &ctx.out,
            || resolve(ctx, &r.reference),
            |cur| {
                let name = cur.get("clientID").and_then(Value::as_str).unwrap_or("");
                format!("API client `{name}` ({}) and its tokens", urn_of(cur))
            },
            |cur| {
                let urn = urn_of(&cur);
                let r = ctx
                    .client
                    .send(&Call::new(Method::DELETE, item_path(CLIENTS.prefix, &urn)))
                    .map_err(|e| super::not_found("API client", &urn, e))?;
                ctx.forget(&CLIENTS, &urn);
                ctx.out.deleted("API client", &urn, &r.body)
            },
        ),
    }
}

/// The flag that sets each API field, per command, for invalid-input messages.
pub fn flags(cmd: &ClientCmd) -> super::FlagMap {
    match cmd {
        ClientCmd::Create { .. } | ClientCmd::Update { .. } => {
            &[("clientID", "--client-id"), ("scope", "--scope")]
        }
        _ => &[],
    }
}
