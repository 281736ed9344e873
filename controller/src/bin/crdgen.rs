//! Prints the TenantGateway CustomResourceDefinition as YAML (`make crd`).
fn main() -> anyhow::Result<()> {
    print!("{}", tgw_controller::crd::yaml()?);
    Ok(())
}
