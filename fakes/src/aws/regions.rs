//! The regions of each partition, and which of them are opt-in (disabled
//! until an account enables them), as `ec2 describe-regions --all-regions`
//! lists them.

use super::Partition;

/// (region, opt-in) in the order EC2 lists them.
const AWS: &[(&str, bool)] = &[
    ("af-south-1", true),
    ("ap-east-1", true),
    ("ap-northeast-1", false),
    ("ap-northeast-2", false),
    ("ap-northeast-3", false),
    ("ap-south-1", false),
    ("ap-south-2", true),
    ("ap-southeast-1", false),
    ("ap-southeast-2", false),
    ("ap-southeast-3", true),
    ("ap-southeast-4", true),
    ("ap-southeast-5", true),
    ("ap-southeast-7", true),
    ("ca-central-1", false),
    ("ca-west-1", true),
    ("eu-central-1", false),
    ("eu-central-2", true),
    ("eu-north-1", false),
    ("eu-south-1", true),
    ("eu-south-2", true),
    ("eu-west-1", false),
    ("eu-west-2", false),
    ("eu-west-3", false),
    ("il-central-1", true),
    ("me-central-1", true),
    ("me-south-1", true),
    ("mx-central-1", true),
    ("sa-east-1", false),
    ("us-east-1", false),
    ("us-east-2", false),
    ("us-west-1", false),
    ("us-west-2", false),
];

const AWS_CN: &[(&str, bool)] = &[("cn-north-1", false), ("cn-northwest-1", false)];
const AWS_US_GOV: &[(&str, bool)] = &[("us-gov-east-1", false), ("us-gov-west-1", false)];

pub fn of(partition: Partition) -> &'static [(&'static str, bool)] {
    match partition {
        Partition::Aws => AWS,
        Partition::AwsCn => AWS_CN,
        Partition::AwsUsGov => AWS_US_GOV,
    }
}

pub fn exists(partition: Partition, region: &str) -> bool {
    of(partition).iter().any(|(name, _)| *name == region)
}

/// EC2's endpoint host for a region.
pub fn ec2_endpoint(partition: Partition, region: &str) -> String {
    let suffix = match partition {
        Partition::AwsCn => "amazonaws.com.cn",
        Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
    };
    format!("ec2.{region}.{suffix}")
}
