//! Workload identities for the cloud stores, each following its cloud's
//! standard chain (the variables and files the official SDKs read), so a
//! pod configured for the SDKs works unchanged:
//! - [`aws`]: env keys, shared profile, web identity (IRSA), container
//!   credentials (EKS Pod Identity, ECS), instance metadata (IMDSv2);
//! - [`gcp`]: Application Default Credentials — a credential file
//!   (service account, authorized user, external account = workload identity
//!   federation), gcloud's well-known file, the metadata server (GKE workload identity);
//! - [`azure`]: client secret env, workload identity (AKS), managed identity.

pub mod aws;
pub mod azure;
pub mod gcp;
