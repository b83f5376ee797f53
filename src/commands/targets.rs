//! `secauto targets`: a fleet's account-regions, as a list or as a CI matrix.

use anyhow::Result;

use crate::cli::Global;
use crate::exit::EXIT_OK;
use crate::report::Output;
use crate::session::aws_config;

/// Print the targets `--target` picks (all without it). With `--output json`: one line of JSON,
/// `{"include": [{"target": "ACCOUNT/REGION", …}, …]}`, the `strategy.matrix` of a GitHub Actions
/// job whose steps run `secauto <command> --target ${{ matrix.target }}`.
pub(super) async fn run(g: &Global) -> Result<u8> {
    let config = aws_config(g)?;
    if config.targets.is_empty() {
        anyhow::bail!("the config has no [[targets]]: `secauto targets` lists a fleet's accounts and regions; a single stack needs no matrix");
    }
    let (units, _) = crate::fleet::resolve(g, &config).await?;
    match g.output {
        Output::Json => println!("{}", crate::fleet::matrix(&units)),
        Output::Text | Output::Markdown => {
            for u in &units {
                println!("{}/{}\t{}", u.account, u.region, u.label());
            }
        }
    }
    Ok(EXIT_OK)
}
