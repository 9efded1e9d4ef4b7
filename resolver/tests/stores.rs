//! The cloud stores against real peers and loopback fakes: Secrets Manager on
//! moto (auth mode), Vault KV v2 on OpenBao, and the GCP Secret Manager and
//! Azure Key Vault fakes of `alphaswarm-fakes`. Each module builds its chain
//! the way a deployment does, with `CredentialResolver::from_env`.

mod support;

#[path = "stores/aws.rs"]
mod aws;
#[path = "stores/azure.rs"]
mod azure;
#[path = "stores/gcp.rs"]
mod gcp;
#[path = "stores/vault.rs"]
mod vault;
