//! `tgw-kwctl`: see `tgw_runner::cli`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(tgw_runner::cli::main_with_args(&args));
}
