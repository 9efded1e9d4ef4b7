//! The `az` commands the core's Azure bundles render, run against the
//! fake's state exactly as a customer admin would run them: the bundle's
//! own bash text is parsed (continuations, quoting, `"$(…)"` captures), so
//! a rendering bug — a wrong flag, subject or issuer — changes what the
//! fake's Entra later trusts and fails the test.

use super::state::{
    AppRegistration, AzureState, FederatedCredential, ManagedIdentity, ResourceGroup,
    RoleAssignment, ServicePrincipal, new_guid, role_by_name_or_id,
};
use std::collections::BTreeMap;

/// Who runs the command: `az login --tenant <tenant>` and, optionally, the
/// default subscription (`az account set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzLogin {
    pub tenant: String,
    pub subscription: Option<String>,
}

/// What `az` would print on stderr, with its exit status 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AzError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, AzError> {
    Err(AzError(message.into()))
}

/// Splits one rendered bash command into words (continuations joined).
pub fn split_bash(command: &str) -> Result<Vec<String>, AzError> {
    let joined = command.replace("\\\n", " ");
    shlex::split(&joined).ok_or_else(|| AzError(format!("bash cannot parse: {command}")))
}

/// `--flag value…` pairs after the program words.
struct Options {
    values: BTreeMap<String, Vec<String>>,
}

impl Options {
    fn parse(words: &[String], allowed: &[&str]) -> Result<Options, AzError> {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for word in words {
            if word.starts_with("--") {
                if !allowed.contains(&word.as_str()) {
                    return fail(format!("unrecognized arguments: {word}"));
                }
                if values.contains_key(word) {
                    return fail(format!("argument {word}: expected one argument"));
                }
                values.insert(word.clone(), Vec::new());
                current = Some(word.clone());
            } else {
                match &current {
                    Some(flag) => values.entry(flag.clone()).or_default().push(word.clone()),
                    None => return fail(format!("unrecognized arguments: {word}")),
                }
            }
        }
        Ok(Options { values })
    }

    fn one(&self, flag: &str) -> Result<Option<&str>, AzError> {
        match self.values.get(flag).map(Vec::as_slice) {
            None => Ok(None),
            Some([value]) => Ok(Some(value)),
            Some(_) => fail(format!("argument {flag}: expected one argument")),
        }
    }

    fn required(&self, flag: &str) -> Result<&str, AzError> {
        self.one(flag)?
            .ok_or_else(|| AzError(format!("the following arguments are required: {flag}")))
    }
}

impl AzureState {
    /// Runs one `az` command (already split into words); returns its stdout.
    pub fn run_az(
        &mut self,
        login: &AzLogin,
        words: &[String],
        files: &BTreeMap<String, String>,
    ) -> Result<String, AzError> {
        // Captures first, as bash expands them before running the command.
        let mut argv = Vec::with_capacity(words.len());
        for word in words {
            match word.strip_prefix("$(").and_then(|w| w.strip_suffix(')')) {
                Some(inner) => {
                    let output = self.run_az(login, &split_bash(inner)?, files)?;
                    argv.push(output.trim_end_matches('\n').to_owned());
                }
                None => argv.push(word.clone()),
            }
        }
        let words: Vec<&str> = argv.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["az", "group", "create", rest @ ..] => self.group_create(
                login,
                &Options::parse(&owned(rest), &["--name", "--location", "--subscription"])?,
            ),
            ["az", "identity", "create", rest @ ..] => self.identity_create(
                login,
                &Options::parse(
                    &owned(rest),
                    &["--name", "--resource-group", "--subscription", "--location"],
                )?,
            ),
            ["az", "identity", "show", rest @ ..] => self.identity_show(
                login,
                &Options::parse(
                    &owned(rest),
                    &[
                        "--name",
                        "--resource-group",
                        "--subscription",
                        "--query",
                        "--output",
                    ],
                )?,
            ),
            [
                "az",
                "identity",
                "federated-credential",
                "create",
                rest @ ..,
            ] => self.identity_credential_create(
                login,
                &Options::parse(
                    &owned(rest),
                    &[
                        "--name",
                        "--identity-name",
                        "--resource-group",
                        "--subscription",
                        "--issuer",
                        "--subject",
                        "--audiences",
                    ],
                )?,
            ),
            [
                "az",
                "identity",
                "federated-credential",
                "delete",
                rest @ ..,
            ] => self.identity_credential_delete(
                login,
                &Options::parse(
                    &owned(rest),
                    &[
                        "--name",
                        "--identity-name",
                        "--resource-group",
                        "--subscription",
                        "--yes",
                    ],
                )?,
            ),
            [
                "az",
                "ad",
                "app",
                "federated-credential",
                "create",
                rest @ ..,
            ] => self.app_credential_create(
                login,
                &Options::parse(&owned(rest), &["--id", "--parameters"])?,
                files,
            ),
            ["az", "ad", "sp", "create", rest @ ..] => {
                let options = Options::parse(&owned(rest), &["--id"])?;
                self.consent(&login.tenant, options.required("--id")?)
                    .map(|sp| format!("{{\"id\": \"{sp}\"}}\n"))
            }
            ["az", "role", "assignment", "create", rest @ ..] => self.role_assignment_create(
                login,
                &Options::parse(
                    &owned(rest),
                    &[
                        "--assignee",
                        "--assignee-object-id",
                        "--assignee-principal-type",
                        "--role",
                        "--scope",
                    ],
                )?,
            ),
            ["az", "role", "assignment", "delete", rest @ ..] => self.role_assignment_delete(
                login,
                &Options::parse(&owned(rest), &["--assignee", "--scope", "--role"])?,
            ),
            _ => fail(format!("the fake az does not know: {}", words.join(" "))),
        }
    }

    fn subscription_for(&self, login: &AzLogin, options: &Options) -> Result<String, AzError> {
        let sub = options
            .one("--subscription")?
            .map(str::to_owned)
            .or_else(|| login.subscription.clone())
            .ok_or_else(|| AzError("Please run 'az account set' or pass --subscription.".into()))?
            .to_ascii_lowercase();
        match self.subscriptions.get(&sub) {
            Some(s) if s.tenant == login.tenant => Ok(sub),
            _ => fail(format!(
                "The subscription of '{sub}' doesn't exist in cloud 'AzureCloud'."
            )),
        }
    }

    fn group_create(&mut self, login: &AzLogin, options: &Options) -> Result<String, AzError> {
        let sub = self.subscription_for(login, options)?;
        let name = options.required("--name")?.to_owned();
        let location = options.required("--location")?.to_owned();
        if !super::arm::LOCATIONS.iter().any(|(l, _, _)| *l == location) {
            return fail(format!(
                "(LocationNotAvailableForResourceGroup) The provided location '{location}' is not available for resource group."
            ));
        }
        let groups = &mut self
            .subscriptions
            .get_mut(&sub)
            .ok_or_else(|| AzError("subscription vanished".into()))?
            .resource_groups;
        groups
            .entry(name.to_ascii_lowercase())
            .or_insert(ResourceGroup {
                name: name.clone(),
                location: location.clone(),
            });
        Ok(format!(
            "{{\"name\": \"{name}\", \"location\": \"{location}\"}}\n"
        ))
    }

    fn identity_index(
        &self,
        login: &AzLogin,
        options: &Options,
        name_flag: &str,
    ) -> Result<usize, AzError> {
        let sub = self.subscription_for(login, options)?;
        let name = options.required(name_flag)?;
        let group = options.required("--resource-group")?;
        self.identities
            .iter()
            .position(|i| {
                i.subscription == sub
                    && i.resource_group.eq_ignore_ascii_case(group)
                    && i.name.eq_ignore_ascii_case(name)
            })
            .ok_or_else(|| {
                AzError(format!(
                    "(ResourceNotFound) The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/{name}' under resource group '{group}' was not found."
                ))
            })
    }

    fn identity_create(&mut self, login: &AzLogin, options: &Options) -> Result<String, AzError> {
        let sub = self.subscription_for(login, options)?;
        let name = options.required("--name")?.to_owned();
        let group = options.required("--resource-group")?.to_owned();
        let Some(rg) = self.subscriptions[&sub]
            .resource_groups
            .get(&group.to_ascii_lowercase())
            .cloned()
        else {
            return fail(format!(
                "(ResourceGroupNotFound) Resource group '{group}' could not be found."
            ));
        };
        if let Ok(existing) = self.identity_index(login, options, "--name") {
            return Ok(identity_json(&self.identities[existing]));
        }
        let identity = ManagedIdentity {
            name,
            resource_group: rg.name,
            subscription: sub,
            tenant: login.tenant.clone(),
            location: options
                .one("--location")?
                .map_or(rg.location, str::to_owned),
            client_id: new_guid(),
            principal_id: new_guid(),
            credentials: Vec::new(),
        };
        let out = identity_json(&identity);
        self.identities.push(identity);
        Ok(out)
    }

    fn identity_show(&mut self, login: &AzLogin, options: &Options) -> Result<String, AzError> {
        let identity = &self.identities[self.identity_index(login, options, "--name")?];
        let value = match options.one("--query")? {
            None => return Ok(identity_json(identity)),
            Some("clientId") => identity.client_id.clone(),
            Some("principalId") => identity.principal_id.clone(),
            Some("tenantId") => identity.tenant.clone(),
            Some("id") => identity.resource_id(),
            Some(other) => return fail(format!("the fake az cannot query {other}")),
        };
        Ok(match options.one("--output")? {
            Some("tsv") => format!("{value}\n"),
            _ => format!("\"{value}\"\n"),
        })
    }

    fn identity_credential_create(
        &mut self,
        login: &AzLogin,
        options: &Options,
    ) -> Result<String, AzError> {
        let index = self.identity_index(login, options, "--identity-name")?;
        let audiences = options
            .values
            .get("--audiences")
            .cloned()
            .unwrap_or_else(|| vec!["api://AzureADTokenExchange".to_owned()]);
        let credential = self.credential(
            options.required("--name")?,
            options.required("--issuer")?,
            options.required("--subject")?,
            audiences,
        )?;
        add_credential(&mut self.identities[index].credentials, credential)
    }

    /// As az: a credential that is not there is an error; `--yes` (skip
    /// the prompt) takes no value.
    fn identity_credential_delete(
        &mut self,
        login: &AzLogin,
        options: &Options,
    ) -> Result<String, AzError> {
        if options.values.get("--yes").is_some_and(|v| !v.is_empty()) {
            return fail("argument --yes: ignored explicit argument");
        }
        let index = self.identity_index(login, options, "--identity-name")?;
        let name = options.required("--name")?;
        let credentials = &mut self.identities[index].credentials;
        let before = credentials.len();
        credentials.retain(|c| c.name != name);
        if credentials.len() == before {
            return fail(format!(
                "(NotFound) Federated identity credential '{name}' was not found."
            ));
        }
        Ok(String::new())
    }

    fn app_credential_create(
        &mut self,
        login: &AzLogin,
        options: &Options,
        files: &BTreeMap<String, String>,
    ) -> Result<String, AzError> {
        let id = options.required("--id")?.to_ascii_lowercase();
        let file = options.required("--parameters")?;
        let Some(contents) = files.get(file.trim_start_matches('@')) else {
            return fail(format!("[Errno 2] No such file or directory: '{file}'"));
        };
        #[derive(serde::Deserialize)]
        struct Parameters {
            name: String,
            issuer: String,
            subject: String,
            audiences: Vec<String>,
        }
        let p: Parameters = serde_json::from_str(contents)
            .map_err(|e| AzError(format!("Failed to parse {file}: {e}")))?;
        let credential = self.credential(&p.name, &p.issuer, &p.subject, p.audiences)?;
        let Some(app) = self
            .apps
            .iter_mut()
            .find(|a| (a.object_id == id || a.app_id == id) && a.home_tenant == login.tenant)
        else {
            return fail(format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ));
        };
        add_credential(&mut app.credentials, credential)
    }

    /// Entra's rules for a federated credential (both kinds of parent).
    fn credential(
        &self,
        name: &str,
        issuer: &str,
        subject: &str,
        audiences: Vec<String>,
    ) -> Result<FederatedCredential, AzError> {
        let name_ok = (3..=120).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return fail(format!(
                "The federated identity credential name '{name}' is invalid."
            ));
        }
        if audiences.len() != 1 {
            return fail("Federated identity credentials must have exactly one audience.");
        }
        if issuer.len() > 600 || subject.len() > 600 || subject.is_empty() {
            return fail("The issuer and subject must be 1-600 characters.");
        }
        if issuer != issuer.trim() {
            return fail("The issuer must not have leading or trailing whitespace.");
        }
        // Entra fetches the issuer's keys over HTTPS; the fake also accepts
        // a plain-http issuer on loopback, where the tests serve theirs.
        let loopback_http = ["http://127.0.0.1", "http://localhost"].iter().any(|p| {
            issuer
                .strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
        if !issuer.starts_with("https://") && !loopback_http {
            return fail(format!("The issuer '{issuer}' must be an https URL."));
        }
        Ok(FederatedCredential {
            name: name.to_owned(),
            issuer: issuer.to_owned(),
            subject: subject.to_owned(),
            audiences,
            unseen_for: self.propagation_requests,
        })
    }

    /// Admin consent: the app's service principal in `tenant`.
    pub fn consent(&mut self, tenant: &str, app_id: &str) -> Result<String, AzError> {
        let app_id = app_id.to_ascii_lowercase();
        if !self.tenants.contains_key(tenant) {
            return fail(format!("Tenant '{tenant}' not found."));
        }
        if !self.apps.iter().any(|a| a.app_id == app_id) {
            return fail(format!(
                "Resource '{app_id}' does not exist or one of its queried reference-property objects are not present."
            ));
        }
        if let Some(sp) = self
            .service_principals
            .iter()
            .find(|sp| sp.tenant == tenant && sp.app_id == app_id)
        {
            return Ok(sp.object_id.clone());
        }
        let object_id = new_guid();
        self.service_principals.push(ServicePrincipal {
            object_id: object_id.clone(),
            app_id,
            tenant: tenant.to_owned(),
        });
        Ok(object_id)
    }

    /// The principal named by `--assignee` / `--assignee-object-id`.
    fn assignee(&self, tenant: &str, options: &Options) -> Result<String, AzError> {
        if let Some(object_id) = options.one("--assignee-object-id")? {
            return self
                .principal_by_object_id(tenant, object_id)
                .ok_or_else(|| {
                    AzError(format!(
                        "Cannot find user or service principal in graph database for '{object_id}'."
                    ))
                });
        }
        let assignee = options.required("--assignee")?;
        self.principal_by_object_id(tenant, assignee)
            .or_else(|| self.principal_by_app_id(tenant, assignee))
            .ok_or_else(|| {
                AzError(format!(
                    "Cannot find user or service principal in graph database for '{assignee}'. If the assignee is an appId, make sure the corresponding service principal is created with 'az ad sp create --id {assignee}'."
                ))
            })
    }

    /// `--scope` (a subscription of the login's tenant) and the assignee in it.
    fn scope_and_assignee(
        &self,
        login: &AzLogin,
        options: &Options,
    ) -> Result<(String, String), AzError> {
        let scope = options.required("--scope")?;
        match self.subscription_of_scope(scope) {
            Some(sub) if sub.tenant == login.tenant => {}
            _ => {
                return fail(format!(
                    "(InvalidScope) The scope '{scope}' is not valid or not in your tenant."
                ));
            }
        }
        Ok((scope.to_owned(), self.assignee(&login.tenant, options)?))
    }

    fn role_assignment_create(
        &mut self,
        login: &AzLogin,
        options: &Options,
    ) -> Result<String, AzError> {
        let (scope, principal) = self.scope_and_assignee(login, options)?;
        let role_name = options.required("--role")?;
        let Some(role) = role_by_name_or_id(role_name) else {
            return fail(format!("Role '{role_name}' doesn't exist."));
        };
        if self.role_assignments.iter().any(|a| {
            a.principal_id == principal
                && a.role_definition_id == role.id
                && a.scope.eq_ignore_ascii_case(&scope)
        }) {
            return fail("(RoleAssignmentExists) The role assignment already exists.");
        }
        let name = new_guid();
        self.role_assignments.push(RoleAssignment {
            name: name.clone(),
            scope: scope.clone(),
            role_definition_id: role.id.to_owned(),
            principal_id: principal.clone(),
            principal_type: options
                .one("--assignee-principal-type")?
                .unwrap_or("ServicePrincipal")
                .to_owned(),
        });
        Ok(format!(
            "{{\"name\": \"{name}\", \"principalId\": \"{principal}\", \"roleDefinitionName\": \"{}\", \"scope\": \"{scope}\"}}\n",
            role.name
        ))
    }

    fn role_assignment_delete(
        &mut self,
        login: &AzLogin,
        options: &Options,
    ) -> Result<String, AzError> {
        let (scope, principal) = self.scope_and_assignee(login, options)?;
        let role = options.one("--role")?.map(role_by_name_or_id);
        self.role_assignments.retain(|a| {
            let matches = a.principal_id == principal
                && a.scope.eq_ignore_ascii_case(&scope)
                && role.is_none_or(|r| r.is_some_and(|r| r.id == a.role_definition_id));
            !matches
        });
        Ok(String::new())
    }
}

fn owned(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn add_credential(
    list: &mut Vec<FederatedCredential>,
    credential: FederatedCredential,
) -> Result<String, AzError> {
    if list.len() >= 20 {
        return fail(
            "(FederatedIdentityCredentialLimitExceeded) A maximum of 20 federated identity credentials may be created.",
        );
    }
    if list.iter().any(|c| c.name == credential.name) {
        return fail(format!(
            "A federated identity credential named '{}' already exists.",
            credential.name
        ));
    }
    if list
        .iter()
        .any(|c| c.issuer == credential.issuer && c.subject == credential.subject)
    {
        return fail(
            "(FederatedIdentityCredentialAlreadyExists) A credential with the same issuer and subject already exists.",
        );
    }
    let out = serde_json::json!({
        "name": credential.name,
        "issuer": credential.issuer,
        "subject": credential.subject,
        "audiences": credential.audiences,
    })
    .to_string();
    list.push(credential);
    Ok(out + "\n")
}

fn identity_json(identity: &ManagedIdentity) -> String {
    serde_json::json!({
        "clientId": identity.client_id,
        "principalId": identity.principal_id,
        "tenantId": identity.tenant,
        "id": identity.resource_id(),
        "name": identity.name,
        "resourceGroup": identity.resource_group,
        "location": identity.location,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
    })
    .to_string()
        + "\n"
}

/// An app registration in `home_tenant`, with its service principal there.
pub fn app_registration(state: &mut AzureState, home_tenant: &str, object_id: &str, app_id: &str) {
    state.apps.push(AppRegistration {
        object_id: object_id.to_ascii_lowercase(),
        app_id: app_id.to_ascii_lowercase(),
        home_tenant: home_tenant.to_owned(),
        credentials: Vec::new(),
    });
    state.service_principals.push(ServicePrincipal {
        object_id: new_guid(),
        app_id: app_id.to_ascii_lowercase(),
        tenant: home_tenant.to_owned(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_words_come_back_as_bash_parses_them() {
        let words = split_bash("az role assignment create \\\n  --assignee-object-id \"$(az identity show --name 'a b' --query principalId)\" \\\n  --role Reader").unwrap();
        assert_eq!(
            words,
            [
                "az",
                "role",
                "assignment",
                "create",
                "--assignee-object-id",
                "$(az identity show --name 'a b' --query principalId)",
                "--role",
                "Reader"
            ]
        );
        assert_eq!(
            split_bash("$(az identity show --name 'a b' --query principalId)").unwrap()[..2],
            ["$(az", "identity"]
        );
    }

    /// Entra's cap: 20 federated credentials per app (or identity). The
    /// shared app holds one per org, so the 21st org's paste must fail as
    /// Entra fails it.
    #[test]
    fn an_app_holds_at_most_twenty_federated_credentials() {
        let mut state = AzureState::default();
        let app_id = "11111111-2222-3333-4444-555555555555";
        app_registration(
            &mut state,
            "t",
            "66666666-7777-8888-9999-000000000000",
            app_id,
        );
        let login = AzLogin {
            tenant: "t".into(),
            subscription: None,
        };
        let mut create = |org: usize| {
            let file = serde_json::json!({
                "name": format!("alphaswarm-org-{org}"),
                "issuer": "https://issuer.example",
                "subject": format!("org:org-{org}"),
                "audiences": ["api://AzureADTokenExchange"],
            });
            let files = BTreeMap::from([("fic.json".to_owned(), file.to_string())]);
            let words = split_bash(&format!(
                "az ad app federated-credential create --id {app_id} --parameters @fic.json"
            ))
            .unwrap();
            state.run_az(&login, &words, &files)
        };
        for org in 1..=20 {
            create(org).unwrap();
        }
        let refused = create(21).unwrap_err().0;
        assert!(
            refused.contains("FederatedIdentityCredentialLimitExceeded"),
            "{refused}"
        );
    }

    #[test]
    fn unknown_flags_and_commands_fail_like_az() {
        let mut state = AzureState::default();
        let login = AzLogin {
            tenant: "t".into(),
            subscription: None,
        };
        let run = |state: &mut AzureState, text: &str| {
            state.run_az(&login, &split_bash(text).unwrap(), &BTreeMap::new())
        };
        assert!(
            run(&mut state, "az group create --name x --colour red")
                .unwrap_err()
                .0
                .contains("unrecognized")
        );
        assert!(
            run(&mut state, "az vm create --name x")
                .unwrap_err()
                .0
                .contains("does not know")
        );
    }
}
