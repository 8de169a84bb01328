//! Verification, one concern per module, dependencies pointing one way:
//!
//! - `answer`: what a verification answers with (a claims type, or [`Verified`]);
//! - `verifier`: one pool's [`Verifier`], what it is built from and its keys' upkeep;
//! - `oidc`: a named OpenID Connect issuer as a pool's verifier, and its steps 2-4;
//! - `pipeline`: the per-pool pipeline, step by step, and the public verification calls;
//! - `cached`: token-cache admission (what is remembered, when it may answer again);
//! - `explain`: the same pipeline with a step recorder;
//! - `pools`: [`CognitoAuth`], every pool of one settings value;
//! - `routing`: which pool serves a requirement, the named requirements, and
//!   [`CognitoAuth`]'s verification calls.
//!
//! [`Verified`]: crate::Verified

mod answer;
mod cached;
pub(crate) mod explain;
mod oidc;
mod pipeline;
mod pools;
mod routing;
mod verifier;

pub use answer::ClaimsType;
pub use pools::{CognitoAuth, PoolStatus};
pub use verifier::Verifier;
