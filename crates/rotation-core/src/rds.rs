//! Where an RDS-managed master secret logs in.
//!
//! RDS keeps the master user's credentials in a secret of its own holding only `username` and
//! `password`, tagged with the DB instance or cluster it belongs to. Its server is that
//! instance or cluster, as the RDS API describes it (AWS's multi-user templates look it up the
//! same way), never whatever host a user secret names.

use async_trait::async_trait;

/// The system tags RDS puts on the master secrets it manages.
pub const RDS_INSTANCE_TAG: &str = "aws:rds:primaryDBInstanceArn";
pub const RDS_CLUSTER_TAG: &str = "aws:rds:primaryDBClusterArn";

/// The DB instance or cluster an RDS-managed secret belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdsResource {
    Instance(String),
    Cluster(String),
}

impl RdsResource {
    /// From a secret's tags; `None` for a secret RDS does not manage.
    pub fn from_tags(tags: &std::collections::BTreeMap<String, String>) -> Option<Self> {
        if let Some(arn) = tags.get(RDS_CLUSTER_TAG) {
            return Some(Self::Cluster(arn.clone()));
        }
        tags.get(RDS_INSTANCE_TAG)
            .map(|arn| Self::Instance(arn.clone()))
    }

    pub fn arn(&self) -> &str {
        match self {
            Self::Instance(arn) | Self::Cluster(arn) => arn,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Instance(_) => "DB instance",
            Self::Cluster(_) => "DB cluster",
        }
    }
}

/// A `host:port` the RDS API reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsAddress {
    pub host: String,
    pub port: u16,
}

/// The endpoints of one DB instance or cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsEndpoints {
    /// The writer: where the admin logs in to change passwords.
    pub primary: RdsAddress,
    /// Every other endpoint that serves the same data (a cluster's reader and custom endpoints
    /// and its instances, an instance's read replicas): a user secret may name any of them.
    pub others: Vec<RdsAddress>,
}

impl RdsEndpoints {
    pub fn all(&self) -> impl Iterator<Item = &RdsAddress> {
        std::iter::once(&self.primary).chain(&self.others)
    }
}

/// The RDS API, narrowed to what locating an admin secret's server needs.
#[async_trait]
pub trait DatabaseDirectory: Send + Sync {
    /// The endpoints of `resource`; the error names the failed call and the service's answer.
    async fn endpoints(&self, resource: &RdsResource) -> Result<RdsEndpoints, String>;
}

#[cfg(feature = "rds")]
pub use aws::AwsRds;

#[cfg(feature = "rds")]
mod aws {
    use async_trait::async_trait;
    use aws_sdk_rds::Client;
    use aws_sdk_rds::types::{DbInstance, Filter};

    use super::{DatabaseDirectory, RdsAddress, RdsEndpoints, RdsResource};
    use crate::aws_store::service_message;

    /// [`DatabaseDirectory`] over the AWS SDK. The function needs `rds:DescribeDBInstances`
    /// and, for Aurora, `rds:DescribeDBClusters`.
    #[derive(Debug, Clone)]
    pub struct AwsRds {
        client: Client,
    }

    impl AwsRds {
        pub fn new(client: Client) -> Self {
            Self { client }
        }

        /// A client from the configuration the Secrets Manager client uses (same region,
        /// credentials and bounded timeouts).
        pub fn from_config(config: &aws_config::SdkConfig) -> Self {
            Self::new(Client::new(config))
        }

        async fn instances(&self, filter: Filter) -> Result<Vec<DbInstance>, String> {
            let out = self
                .client
                .describe_db_instances()
                .filters(filter)
                .send()
                .await
                .map_err(|e| format!("DescribeDBInstances failed: {}", service_message(&e)))?;
            Ok(out.db_instances().to_vec())
        }
    }

    fn address_of(instance: &DbInstance) -> Option<RdsAddress> {
        let endpoint = instance.endpoint()?;
        Some(RdsAddress {
            host: endpoint.address()?.to_owned(),
            port: u16::try_from(endpoint.port()?).ok()?,
        })
    }

    fn filter(name: &str, values: impl IntoIterator<Item = String>) -> Filter {
        Filter::builder()
            .name(name)
            .set_values(Some(values.into_iter().collect()))
            .build()
    }

    #[async_trait]
    impl DatabaseDirectory for AwsRds {
        async fn endpoints(&self, resource: &RdsResource) -> Result<RdsEndpoints, String> {
            match resource {
                RdsResource::Instance(arn) => {
                    let found = self
                        .instances(filter("db-instance-id", [arn.clone()]))
                        .await?;
                    let instance = found.first().ok_or_else(|| {
                        "DescribeDBInstances found no such DB instance".to_owned()
                    })?;
                    let primary = address_of(instance).ok_or_else(|| {
                        "the DB instance has no endpoint yet (is it still being created?)"
                            .to_owned()
                    })?;
                    let replicas = instance.read_replica_db_instance_identifiers().to_vec();
                    let others = if replicas.is_empty() {
                        Vec::new()
                    } else {
                        self.instances(filter("db-instance-id", replicas))
                            .await?
                            .iter()
                            .filter_map(address_of)
                            .collect()
                    };
                    Ok(RdsEndpoints { primary, others })
                }
                RdsResource::Cluster(arn) => {
                    let out = self
                        .client
                        .describe_db_clusters()
                        .db_cluster_identifier(arn)
                        .send()
                        .await
                        .map_err(|e| {
                            format!("DescribeDBClusters failed: {}", service_message(&e))
                        })?;
                    let cluster = out
                        .db_clusters()
                        .first()
                        .ok_or_else(|| "DescribeDBClusters found no such DB cluster".to_owned())?;
                    let port = cluster
                        .port()
                        .and_then(|p| u16::try_from(p).ok())
                        .ok_or_else(|| "the DB cluster reports no port".to_owned())?;
                    let at = |host: &str| RdsAddress {
                        host: host.to_owned(),
                        port,
                    };
                    let primary = cluster.endpoint().map(at).ok_or_else(|| {
                        "the DB cluster has no writer endpoint yet (is it still being created?)"
                            .to_owned()
                    })?;
                    let mut others: Vec<RdsAddress> = cluster
                        .reader_endpoint()
                        .into_iter()
                        .chain(cluster.custom_endpoints().iter().map(String::as_str))
                        .map(at)
                        .collect();
                    if !cluster.db_cluster_members().is_empty() {
                        let id = cluster.db_cluster_identifier().unwrap_or(arn).to_owned();
                        others.extend(
                            self.instances(filter("db-cluster-id", [id]))
                                .await?
                                .iter()
                                .filter_map(address_of),
                        );
                    }
                    Ok(RdsEndpoints { primary, others })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn reads_the_tags_rds_puts_on_its_secrets() {
        let mut tags = BTreeMap::new();
        assert_eq!(RdsResource::from_tags(&tags), None);
        tags.insert("team".into(), "data".into());
        assert_eq!(RdsResource::from_tags(&tags), None);
        tags.insert(
            RDS_INSTANCE_TAG.into(),
            "arn:aws:rds:eu-west-1:1:db:main".into(),
        );
        assert_eq!(
            RdsResource::from_tags(&tags),
            Some(RdsResource::Instance(
                "arn:aws:rds:eu-west-1:1:db:main".into()
            ))
        );
        tags.insert(
            RDS_CLUSTER_TAG.into(),
            "arn:aws:rds:eu-west-1:1:cluster:c".into(),
        );
        assert_eq!(RdsResource::from_tags(&tags).unwrap().kind(), "DB cluster");
    }
}
