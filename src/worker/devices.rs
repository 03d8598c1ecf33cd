//! `xnas-worker devices`: how many CUDA devices libtorch sees in this process's environment. The
//! head does not load libtorch, so it asks here before it spreads jobs over `cuda` / `auto`.

use clap::Args;

#[derive(Debug, Args)]
pub struct DevicesArgs {}

pub fn run(_args: DevicesArgs) -> anyhow::Result<()> {
    println!("{}", tch::Cuda::device_count().max(0));
    Ok(())
}
