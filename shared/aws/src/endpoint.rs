//! Endpoint resolvers that load the SDK's partition table on first use rather than while a client is
//! built.
//!
//! Each SDK service crate's `DefaultResolver::new()` forces a process-wide lazy static that parses the
//! embedded partitions JSON and compiles each partition's region regex: about 420,000 instructions per
//! service crate, which was 40% of the router's init (callgrind, bench/coldstart/README.md). Wrapped, the
//! same `DefaultResolver` (same rules, same one-entry cache) is built by the first request that needs an
//! endpoint of that service, and never in a function that does not call it.

use std::sync::OnceLock;

macro_rules! lazy_resolver {
    ($(#[$meta:meta])* $name:ident, $sdk:ident) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $name(OnceLock<$sdk::config::endpoint::DefaultResolver>);

        impl $sdk::config::endpoint::ResolveEndpoint for $name {
            fn resolve_endpoint<'a>(
                &'a self,
                params: &'a $sdk::config::endpoint::Params,
            ) -> $sdk::config::endpoint::EndpointFuture<'a> {
                self.0.get_or_init($sdk::config::endpoint::DefaultResolver::new).resolve_endpoint(params)
            }
        }
    };
}

lazy_resolver!(
    /// DynamoDB's default endpoint resolver, built on first use.
    LazyDynamoDbResolver,
    aws_sdk_dynamodb
);
#[cfg(feature = "sqs")]
lazy_resolver!(
    /// SQS's default endpoint resolver, built on first use.
    LazySqsResolver,
    aws_sdk_sqs
);
#[cfg(feature = "secretsmanager")]
lazy_resolver!(
    /// Secrets Manager's default endpoint resolver, built on first use.
    LazySecretsManagerResolver,
    aws_sdk_secretsmanager
);

#[cfg(test)]
mod tests {
    use super::*;

    async fn dynamodb_url(
        resolver: &dyn aws_sdk_dynamodb::config::endpoint::ResolveEndpoint,
        region: &str,
    ) -> String {
        let params = aws_sdk_dynamodb::config::endpoint::Params::builder().region(region).build().unwrap();
        resolver.resolve_endpoint(&params).await.unwrap().url().to_string()
    }

    #[tokio::test]
    async fn the_lazy_resolver_answers_as_the_default_one() {
        let lazy = LazyDynamoDbResolver::default();
        assert!(lazy.0.get().is_none(), "nothing is built before the first request");
        let default = aws_sdk_dynamodb::config::endpoint::DefaultResolver::new();
        for region in ["us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1"] {
            assert_eq!(dynamodb_url(&lazy, region).await, dynamodb_url(&default, region).await, "{region}");
        }
        assert_eq!(dynamodb_url(&lazy, "eu-west-3").await, "https://dynamodb.eu-west-3.amazonaws.com");
        assert!(lazy.0.get().is_some());
    }

    #[cfg(feature = "sqs")]
    #[tokio::test]
    async fn sqs_and_secrets_manager_resolve_regional_endpoints() {
        use aws_sdk_sqs::config::endpoint::ResolveEndpoint as _;
        let params = aws_sdk_sqs::config::endpoint::Params::builder().region("eu-west-1").build().unwrap();
        let url = LazySqsResolver::default().resolve_endpoint(&params).await.unwrap().url().to_string();
        assert_eq!(url, "https://sqs.eu-west-1.amazonaws.com");
        #[cfg(feature = "secretsmanager")]
        {
            use aws_sdk_secretsmanager::config::endpoint::{Params, ResolveEndpoint as _};
            let params = Params::builder().region("eu-west-1").build().unwrap();
            let resolver = LazySecretsManagerResolver::default();
            let url = resolver.resolve_endpoint(&params).await.unwrap().url().to_string();
            assert_eq!(url, "https://secretsmanager.eu-west-1.amazonaws.com");
        }
    }
}
