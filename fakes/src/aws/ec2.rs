//! EC2: DescribeRegions, authorised against the caller's policies.

use super::policy::{Context, Decision};
use super::query::{Params, Service, element, success};
use super::regions;
use super::state::{Fault, Model, Principal};

pub(crate) fn handle(
    model: &Model,
    caller: &Principal,
    action: &str,
    params: &Params,
) -> Result<String, Fault> {
    if action != "DescribeRegions" {
        return Err(Fault::new(
            400,
            "InvalidAction",
            format!("The action {action} is not valid for this web service."),
        ));
    }
    let context = Context::new();
    if model.identity_decision(caller, "ec2:DescribeRegions", "*", &context) != Decision::Allowed {
        return Err(Fault::new(
            403,
            "UnauthorizedOperation",
            format!(
                "You are not authorized to perform this operation. User: {} is not authorized to perform: ec2:DescribeRegions because no identity-based policy allows the ec2:DescribeRegions action",
                caller.arn
            ),
        ));
    }
    let all = params
        .get("AllRegions")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let named: Vec<String> = (1..)
        .map_while(|i| params.get(&format!("RegionName.{i}")).map(str::to_owned))
        .collect();
    let items: String = model
        .regions(&caller.account)
        .into_iter()
        .filter(|(_, status)| all || *status != "not-opted-in")
        .filter(|(name, _)| named.is_empty() || named.iter().any(|n| n == name))
        .map(|(name, status)| {
            format!(
                "<item>{}{}{}</item>",
                element("regionName", name),
                element(
                    "regionEndpoint",
                    &regions::ec2_endpoint(model.partition, name)
                ),
                element("optInStatus", status)
            )
        })
        .collect();
    Ok(success(
        Service::Ec2,
        action,
        Some(&format!("<regionInfo>{items}</regionInfo>")),
    ))
}
