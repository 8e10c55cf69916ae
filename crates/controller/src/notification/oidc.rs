//! generic-oidc Receivers, the controller's part (notification-controller v1.9): the spec
//! checks Flux makes when reconciling (`ValidateOIDCProvidersSpec`, terminal
//! `ValidationFailed`; `CompileOIDCProviders`, terminal `InvalidCELExpression`), and, for a
//! webhook call, the token verified by `tether_notify::receiver::oidc` followed by the
//! provider's CEL `variables` (in order, as `vars.<name>`) and `validations` over the claims.
//! The verified claims are returned for the Receiver's filters (`claims`).

use serde_json::{Map, Value};
use tether_api::notification::v1::OidcProvider;
use tether_cel::Expression;
use tether_notify::receiver::{oidc, token};

/// The variables a provider's expressions may use.
const CLAIM_VARIABLES: &[&str] = &["claims", "vars"];

/// The schema constraints on `oidcProviders`, checked again for API servers that skip them.
pub fn validate_providers(providers: &[OidcProvider]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for (i, provider) in providers.iter().enumerate() {
        let issuer = &provider.issuer_url;
        if issuer.is_empty() {
            return Err(format!("oidcProviders[{i}]: issuerURL is required"));
        }
        if !(issuer.starts_with("http://") || issuer.starts_with("https://")) {
            return Err(format!(
                "oidcProviders[{i}]: issuerURL {issuer:?} must start with http:// or https://"
            ));
        }
        if !seen.insert(issuer) {
            return Err(format!(
                "oidcProviders[{i}]: duplicate issuerURL {issuer:?}"
            ));
        }
        let named = format!("oidcProviders[{i}] (issuerURL={issuer:?})");
        if provider.validations.is_empty() {
            return Err(format!(
                "{named}: at least one validation is required; without validations any caller able to obtain a token from this issuer can trigger the Receiver"
            ));
        }
        for (j, variable) in provider.variables.iter().flatten().enumerate() {
            if variable.name.is_empty() {
                return Err(format!("{named}: variables[{j}]: name is required"));
            }
            if variable.expression.is_empty() {
                return Err(format!(
                    "{named}: variables[{j}] (name={:?}): expression is required",
                    variable.name
                ));
            }
        }
        for (j, validation) in provider.validations.iter().enumerate() {
            if validation.expression.is_empty() {
                return Err(format!("{named}: validations[{j}]: expression is required"));
            }
            if validation.message.is_empty() {
                return Err(format!("{named}: validations[{j}]: message is required"));
            }
        }
    }
    Ok(())
}

/// Compiles every provider's expressions; the first that does not compile.
pub fn compile_providers(providers: &[OidcProvider]) -> Result<(), String> {
    for (i, provider) in providers.iter().enumerate() {
        ClaimsProcessor::new(provider).map_err(|e| {
            format!(
                "oidcProviders[{i}] (issuerURL={:?}): {e}",
                provider.issuer_url
            )
        })?;
    }
    Ok(())
}

/// A provider's compiled variables and validations.
struct ClaimsProcessor {
    variables: Vec<(String, Expression)>,
    validations: Vec<(Expression, String)>,
}

impl ClaimsProcessor {
    fn new(provider: &OidcProvider) -> Result<Self, String> {
        let variables = provider
            .variables
            .iter()
            .flatten()
            .map(|v| {
                Expression::compile(&v.expression, CLAIM_VARIABLES)
                    .map(|e| (v.name.clone(), e))
                    .map_err(|e| format!("invalid expression for variable {:?}: {e}", v.name))
            })
            .collect::<Result<_, _>>()?;
        let validations = provider
            .validations
            .iter()
            .map(|v| {
                Expression::compile_bool(&v.expression, CLAIM_VARIABLES)
                    .map(|e| (e, v.message.clone()))
                    .map_err(|e| format!("invalid expression for validation {:?}: {e}", v.message))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            variables,
            validations,
        })
    }

    /// Runs the variables, then every validation; the messages of those that are false.
    fn evaluate(&self, claims: &Value) -> Result<(), String> {
        let mut vars = Map::new();
        for (name, expression) in &self.variables {
            let so_far = Value::Object(vars.clone());
            let value = expression
                .evaluate_json([("claims", claims), ("vars", &so_far)])
                .map_err(|e| format!("failed to evaluate variable {name:?}: {e}"))?;
            vars.insert(name.clone(), value);
        }
        let vars = Value::Object(vars);
        let mut failures = Vec::new();
        for (expression, message) in &self.validations {
            let accepted = expression
                .evaluate_bool([("claims", claims), ("vars", &vars)])
                .map_err(|e| format!("failed to evaluate validation: {e}"))?;
            if !accepted {
                failures.push(message.as_str());
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(format!("token validation failed: {}", failures.join("; ")))
        }
    }
}

/// Authenticates a call with `Authorization: Bearer <token>` against `providers`: the
/// provider of the token's issuer verifies it, then its validations judge the claims, which
/// are returned.
pub async fn authenticate(
    client: &reqwest::Client,
    providers: &[OidcProvider],
    authorization: &str,
) -> Result<Value, String> {
    if providers.is_empty() {
        return Err("generic-oidc receiver has no oidcProviders configured".to_owned());
    }
    let raw = token::bearer(authorization).map_err(|e| e.to_string())?;
    let provider = oidc::provider_for(providers, raw).map_err(|e| e.to_string())?;
    let claims = oidc::verify_token(client, provider, raw)
        .await
        .map_err(|e| format!("failed to verify OIDC token: {e}"))?;
    let processor = ClaimsProcessor::new(provider).map_err(|e| {
        format!(
            "invalid oidcProvider configuration for issuer {:?}: {e}",
            provider.issuer_url
        )
    })?;
    let claims = Value::Object(claims);
    processor.evaluate(&claims)?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn provider(spec: Value) -> Result<OidcProvider, serde_json::Error> {
        serde_json::from_value(spec)
    }

    #[test]
    fn validations_see_claims_and_earlier_variables() -> Result<(), Box<dyn std::error::Error>> {
        let provider = provider(json!({
            "issuerURL": "https://issuer.example",
            "variables": [
                {"name": "owner", "expression": "claims.repository.split('/')[0]"},
                {"name": "trusted", "expression": "vars.owner == 'acme'"},
            ],
            "validations": [
                {"expression": "vars.trusted == true", "message": "not acme"},
                {"expression": "claims.ref == 'refs/heads/main'", "message": "not main"},
            ],
        }))?;
        let processor = ClaimsProcessor::new(&provider)?;
        let good = json!({"repository": "acme/app", "ref": "refs/heads/main"});
        assert_eq!(processor.evaluate(&good), Ok(()));
        let bad = json!({"repository": "evil/app", "ref": "refs/heads/dev"});
        assert_eq!(
            processor.evaluate(&bad),
            Err("token validation failed: not acme; not main".to_owned())
        );
        Ok(())
    }

    #[test]
    fn providers_are_checked_as_flux_checks_them() -> Result<(), serde_json::Error> {
        let no_validation = provider(json!({"issuerURL": "https://i", "validations": []}))?;
        let message = validate_providers(&[no_validation])
            .err()
            .unwrap_or_default();
        assert!(
            message.contains("at least one validation is required"),
            "{message}"
        );
        let bad_url = provider(json!({"issuerURL": "ftp://i",
            "validations": [{"expression": "true", "message": "m"}]}))?;
        assert!(validate_providers(&[bad_url]).is_err());
        let good = provider(json!({"issuerURL": "https://i",
            "validations": [{"expression": "claims.sub == 'x'", "message": "m"}]}))?;
        assert_eq!(
            validate_providers(&[good.clone(), good.clone()]).map_err(|e| e.contains("duplicate")),
            Err(true)
        );
        assert_eq!(compile_providers(std::slice::from_ref(&good)), Ok(()));
        let undeclared = provider(json!({"issuerURL": "https://i",
            "validations": [{"expression": "token.sub == 'x'", "message": "m"}]}))?;
        let message = compile_providers(&[undeclared]).err().unwrap_or_default();
        assert!(
            message.starts_with("oidcProviders[0] (issuerURL=\"https://i\"): invalid expression for validation \"m\": ")
                && message.contains("undeclared reference to 'token'"),
            "{message}"
        );
        Ok(())
    }
}
