//! A person's or a key's role: viewer < admin < owner (docs/decisions.md, roles). The order of
//! the variants is the order of power. Also what a body's `role` and `ocd login-link --role`
//! accept.

use serde::{Deserialize, Serialize};

string_enum!(#[derive(PartialOrd, Ord, clap::ValueEnum)] Role {
    Viewer => "viewer",
    Admin => "admin",
    Owner => "owner",
});
