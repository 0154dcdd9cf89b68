//! AWS End User Messaging SMS credentials: `region`, optionally `origination_identity` (a phone number or
//! pool id or ARN; without it each text goes out from the channel's number it answers), optionally an
//! access key pair (`access_key_id`, `secret_access_key`; without them, the function's role: the
//! process's AWS credentials), optionally `topic_arn` (the SNS topic of two-way SMS and delivery events:
//! when set, notifications of another topic are refused) and `configuration_set` (for delivery events).

use crate::credentials::{
    CredentialsError, REDACTED, input_object, optional, required, stored, stored_opt, stored_str,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use smsdesk_domain::ProviderKind;
use smsdesk_ports::Credentials;

#[derive(Clone, Debug)]
pub struct AwsCredentials {
    pub region: String,
    pub origination_identity: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    pub topic_arn: Option<String>,
    pub configuration_set: Option<String>,
}

/// `us-east-1`, `eu-west-3`, `ap-southeast-2`, `us-gov-west-1`, ...
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

impl AwsCredentials {
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            origination_identity: None,
            access_key_id: None,
            secret_access_key: None,
            topic_arn: None,
            configuration_set: None,
        }
    }

    pub fn from_input(value: Option<&Value>) -> Result<Self, CredentialsError> {
        let obj = input_object(value)?;
        let region = required(obj, "region")?;
        if !is_region(&region) {
            return Err(CredentialsError::new(
                "credentials.region",
                "must be an AWS region such as us-east-1",
            ));
        }
        let mut creds = Self::new(region);
        creds.origination_identity = optional(obj, "origination_identity")?;
        creds.access_key_id = optional(obj, "access_key_id")?;
        creds.secret_access_key = optional(obj, "secret_access_key")?.map(SecretString::from);
        match (&creds.access_key_id, &creds.secret_access_key) {
            (Some(_), None) => {
                return Err(CredentialsError::new(
                    "credentials.secret_access_key",
                    "is required with credentials.access_key_id",
                ));
            }
            (None, Some(_)) => {
                return Err(CredentialsError::new(
                    "credentials.access_key_id",
                    "is required with credentials.secret_access_key",
                ));
            }
            _ => {}
        }
        creds.topic_arn = optional(obj, "topic_arn")?;
        if let Some(arn) = &creds.topic_arn
            && !arn.starts_with("arn:aws")
        {
            return Err(CredentialsError::new(
                "credentials.topic_arn",
                "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)",
            ));
        }
        creds.configuration_set = optional(obj, "configuration_set")?;
        Ok(creds)
    }

    pub fn from_stored(credentials: &Credentials) -> Result<Self, CredentialsError> {
        let fields = stored(credentials, ProviderKind::Aws)?;
        Ok(Self {
            region: stored_str(&fields, "region")?,
            origination_identity: stored_opt(&fields, "origination_identity"),
            access_key_id: stored_opt(&fields, "access_key_id"),
            secret_access_key: stored_opt(&fields, "secret_access_key").map(SecretString::from),
            topic_arn: stored_opt(&fields, "topic_arn"),
            configuration_set: stored_opt(&fields, "configuration_set"),
        })
    }

    pub fn to_stored(&self) -> Credentials {
        let mut fields = Map::new();
        fields.insert("region".into(), json!(self.region));
        let mut put = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                fields.insert(k.into(), json!(v));
            }
        };
        put("origination_identity", self.origination_identity.as_deref());
        put("access_key_id", self.access_key_id.as_deref());
        put("secret_access_key", self.secret_access_key.as_ref().map(|s| s.expose_secret()));
        put("topic_arn", self.topic_arn.as_deref());
        put("configuration_set", self.configuration_set.as_deref());
        Credentials::new(ProviderKind::Aws, fields)
    }

    pub fn redacted(&self) -> Value {
        json!({
            "region": self.region,
            "origination_identity": self.origination_identity,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key.as_ref().map(|_| REDACTED),
            "topic_arn": self.topic_arn,
            "configuration_set": self.configuration_set,
        })
    }
}
